"""The judge rewards: a judge model writes its reasoning, then a verdict, and the reward reads it.

* ``judge.pointwise``: a 1-10 score for the completion; value ``(score - 1) / 9``.
* ``judge.reference``: PASS/FAIL, does the completion's final answer match the row's reference answer
  (DeepSeek-V3's model-based check for free-form answers); 1 or 0; None without a reference.
* ``judge.pairwise``: the completion against a baseline answer, A/B; 1 = completion better, 0 = worse,
  0.5 = tie. The baseline is the row's ``baseline`` column, else its reference answer.
* ``judge.pairwise_group``: within a GRPO group, every completion against the next one (the last
  against the first); the value is the share of its comparisons it won.

``samples: k`` asks the judge ``k`` times (with ``temperature > 0``) and averages the parsed verdicts;
``swap: true`` (pairwise) judges both orders and averages, cancelling the judge's position bias.
A verdict that cannot be parsed, or a judge that failed, gives ``None`` with the reason in ``error``;
``details`` carry the verdicts, the counts and the tail of the judge's reasoning.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardkit import RewardParamsError, Sample, Score, reward

from . import stats as _stats
from .backends.base import Completion, get_backend
from .templates import BUILTIN, render
from .verdicts import Verdict, parse_verdict

#: Characters of the judge's last output kept in ``details["judge_tail"]``.
TAIL_CHARS = 300
_SECRET_KEYS = {"api_key", "key", "token", "authorization", "password"}


def _check(*, backend: str, model: str, base_url: str | None, template: str | None, max_new_tokens: int,
           temperature: float, samples: int, timeout: float, concurrency: int, retries: int,
           api_key_env: str | None, options: dict[str, Any] | None, **_: Any) -> None:
    """Parameter rules shared by every judge reward (run when a recipe is validated)."""
    if not model:
        raise RewardParamsError("judge rewards need `model`: a local folder or hub id (transformers, vllm) "
                                "or the served model's name (http)")
    if backend == "http" and not base_url:
        raise RewardParamsError("backend: http needs `base_url`, e.g. http://127.0.0.1:8000/v1")
    if backend in ("transformers", "vllm") and base_url:
        raise RewardParamsError(f"backend: {backend} runs the model in-process; drop `base_url` or use "
                                "backend: http")
    if samples < 1 or max_new_tokens < 1 or concurrency < 1 or retries < 0:
        raise RewardParamsError("samples, max_new_tokens and concurrency must be >= 1, retries >= 0")
    if temperature < 0:
        raise RewardParamsError(f"temperature must be >= 0, not {temperature}")
    if samples > 1 and temperature == 0:
        raise RewardParamsError(f"samples: {samples} with temperature: 0 asks the same greedy question "
                                f"{samples} times; set temperature (e.g. 0.7) or samples: 1")
    if not timeout or timeout <= 0 or math.isinf(timeout):
        raise RewardParamsError("timeout must be a positive number of seconds (keep it below the reward's "
                                "engine `deadline`, 30 s by default)")
    if template is not None and template not in BUILTIN and not Path(template).expanduser().is_file():
        raise RewardParamsError(f"template {template!r} is not a file (relative paths are read from the "
                                f"working directory); the built-in templates are {', '.join(BUILTIN)}")
    secrets = _SECRET_KEYS & {k.lower() for k in (options or {})}
    if secrets:
        raise RewardParamsError(f"options must not hold secrets ({', '.join(sorted(secrets))}); put the key in "
                                "an environment variable and name it with api_key_env")


def _backend(p: dict[str, Any]) -> Any:
    options = dict(p["options"] or {})
    if p["backend"] == "http":  # the HTTP client's own knobs; meaningless for in-process models
        options.update(concurrency=p["concurrency"], retries=p["retries"], api_key_env=p["api_key_env"])
    return get_backend(p["backend"], p["model"], base_url=p["base_url"], **options)


def _settings(**params: Any) -> dict[str, Any]:
    """The judge settings a reward passes on (to the backend, and into its Scores' details)."""
    return params


@dataclass
class _Ask:
    """One question to the judge, and which samples its verdict scores: ``(index, flipped)`` where
    ``flipped`` means the sample was response B (its credit is 1 - value)."""

    messages: list[dict[str, str]]
    credits: list[tuple[int, bool]]
    order: str = ""


@dataclass
class _Tally:
    values: list[float] = field(default_factory=list)
    labels: list[str | None] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)
    unparseable: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    timed_out: bool = False
    tail: str = ""


def _ask_judge(kind: str, asks: Sequence[_Ask], n_samples: int, p: dict[str, Any]) -> dict[int, _Tally]:
    """Send every ask to the judge, parse each output, and tally the credits per sample index."""
    tallies: dict[int, _Tally] = {}
    if not asks:
        return tallies
    completions: list[Completion] = _backend(p).complete(
        [a.messages for a in asks], n=p["samples"], temperature=p["temperature"],
        max_new_tokens=p["max_new_tokens"], timeout=p["timeout"])
    for ask, comp in zip(asks, completions):
        verdicts: list[tuple[Verdict, str, str | None]] = []
        if comp.error is None:
            reasons = comp.finish_reasons or [None] * len(comp.texts)
            verdicts = [(parse_verdict(kind, t), t, r) for t, r in zip(comp.texts, reasons)]
        parsed = sum(v.ok for v, _, _ in verdicts)
        # failed: judge samples that brought no text (all of them when the conversation failed)
        _stats.record(kind, parsed=parsed, unparseable=len(verdicts) - parsed, failed=n_samples - len(verdicts))
        for index, flipped in ask.credits:
            t = tallies.setdefault(index, _Tally())
            if comp.error is not None:
                t.errors.append(comp.error)
                t.timed_out |= comp.timed_out
                continue
            for verdict, text, finish in verdicts:
                t.tail = text[-TAIL_CHARS:]
                t.orders.append(ask.order if not flipped else _flip_order(ask.order))
                if verdict.ok:
                    t.values.append(1.0 - verdict.value if flipped else verdict.value)  # type: ignore[operator]
                    t.labels.append(verdict.label)
                else:
                    t.labels.append(None)
                    cut = {"length": f" (the judge stopped at max_new_tokens={p['max_new_tokens']})",
                           "deadline": f" (the judge was cut at timeout={p['timeout']:g}s)"}.get(finish or "", "")
                    t.unparseable.append(verdict.reason + cut)
    return tallies


def _flip_order(order: str) -> str:
    return {"completion=A": "completion=B", "completion=B": "completion=A"}.get(order, order)


def _score(kind: str, t: _Tally | None, p: dict[str, Any], describe: Any, **extra: Any) -> Score:
    """The Score of one sample from its tally: the mean credit, or None with the reason."""
    if t is None:
        return Score.failed("the judge was not asked about this sample")
    details: dict[str, Any] = {"judge": p["model"], "backend": p["backend"], "verdicts": t.labels,
                               "parsed": len(t.values), "judged": len(t.labels), "failed": len(t.errors),
                               **extra}
    if t.orders and kind == "pairwise":
        details["orders"] = t.orders
    if t.unparseable:
        details["unparseable"] = t.unparseable
    if t.errors:
        details["judge_errors"] = sorted(set(t.errors))
    if t.tail:
        details["judge_tail"] = t.tail
    if not t.values:
        if t.unparseable:
            return Score(None, reason="unparseable verdict", details=details,
                         error=f"no verdict could be parsed from the judge's output: {t.unparseable[-1]}")
        return Score(None, reason="timeout" if t.timed_out else "error", details=details,
                     error=f"the judge failed: {t.errors[0] if t.errors else 'no output'}", timed_out=t.timed_out)
    value = sum(t.values) / len(t.values)
    return Score(value, reason=describe(value, t), details=details)


# -- judge.pointwise -------------------------------------------------------------------------------
@reward("judge.pointwise", mode="batch", validate=_check)
def pointwise(batch: Sequence[Sample], *, backend: str = "transformers", model: str = "",
              base_url: str | None = None, template: str | None = None, max_new_tokens: int = 512,
              temperature: float = 0.0, samples: int = 1, timeout: float = 25.0, concurrency: int = 8,
              retries: int = 3, api_key_env: str | None = None, options: dict[str, Any] | None = None) -> list[Score]:
    """A judge model rates the completion from 1 to 10 after reasoning; value (score - 1) / 9."""
    p = _settings(backend=backend, model=model, base_url=base_url, max_new_tokens=max_new_tokens,
                temperature=temperature, samples=samples, timeout=timeout, options=options,
                concurrency=concurrency, retries=retries, api_key_env=api_key_env)
    asks = [_Ask(render(template or "pointwise", s), [(i, False)]) for i, s in enumerate(batch)]
    tallies = _ask_judge("pointwise", asks, samples, p)

    def describe(value: float, t: _Tally) -> str:
        score = 1 + 9 * value
        return f"judge score {score:.3g}/10" + (f" (mean of {len(t.values)})" if len(t.values) > 1 else "")

    return [_score("pointwise", tallies.get(i), p, describe) for i in range(len(batch))]


# -- judge.reference -------------------------------------------------------------------------------
@reward("judge.reference", mode="batch", validate=_check)
def reference(batch: Sequence[Sample], *, backend: str = "transformers", model: str = "",
              base_url: str | None = None, template: str | None = None, reference_column: str | None = None,
              max_new_tokens: int = 512, temperature: float = 0.0, samples: int = 1, timeout: float = 25.0,
              concurrency: int = 8, retries: int = 3, api_key_env: str | None = None,
              options: dict[str, Any] | None = None) -> list[Score | None]:
    """A judge model checks the completion's final answer against the reference answer: PASS 1, FAIL 0."""
    p = _settings(backend=backend, model=model, base_url=base_url, max_new_tokens=max_new_tokens,
                temperature=temperature, samples=samples, timeout=timeout, options=options,
                concurrency=concurrency, retries=retries, api_key_env=api_key_env)
    asks, missing = [], {}
    for i, s in enumerate(batch):
        ref = s.column(reference_column) if reference_column else s.reference
        if ref is None or (isinstance(ref, str) and not ref.strip()):
            where = f"column {reference_column!r}" if reference_column else "reference answer"
            missing[i] = Score.not_applicable(f"no {where} to judge against")
            continue
        asks.append(_Ask(render(template or "reference", s, reference=str(ref)), [(i, False)]))
    tallies = _ask_judge("reference", asks, samples, p)

    def describe(value: float, t: _Tally) -> str:
        if len(t.values) == 1:
            return "PASS: matches the reference" if value == 1.0 else "FAIL: does not match the reference"
        return f"{sum(t.values):g}/{len(t.values)} judge samples PASS"

    return [missing[i] if i in missing else _score("reference", tallies.get(i), p, describe)
            for i in range(len(batch))]


# -- judge.pairwise --------------------------------------------------------------------------------
def _describe_pair(value: float, t: _Tally) -> str:
    word = "better than" if value > 0.5 else "worse than" if value < 0.5 else "as good as"
    return f"judged {word} its opponent ({value:.2g} over {len(t.values)} verdict(s))"


def _pair_asks(template: str, sample: Sample, first: str, second: str, credits_first: list[tuple[int, bool]],
               swap: bool, **fields: Any) -> list[_Ask]:
    """``first`` as A and ``second`` as B; with ``swap``, also the other order (credits flipped)."""
    flipped = [(i, not f) for i, f in credits_first]
    asks = [_Ask(render(template, sample, response_a=first, response_b=second, **fields), credits_first,
                 "completion=A")]
    if swap:
        asks.append(_Ask(render(template, sample, response_a=second, response_b=first, **fields), flipped,
                         "completion=A"))
    return asks


@reward("judge.pairwise", mode="batch", validate=_check)
def pairwise(batch: Sequence[Sample], *, backend: str = "transformers", model: str = "",
             base_url: str | None = None, template: str | None = None, baseline_column: str = "baseline",
             fallback_to_reference: bool = True, swap: bool = True, max_new_tokens: int = 512,
             temperature: float = 0.0, samples: int = 1, timeout: float = 25.0, concurrency: int = 8,
             retries: int = 3, api_key_env: str | None = None,
             options: dict[str, Any] | None = None) -> list[Score | None]:
    """A judge model compares the completion (A) with a baseline answer (B); 1 better, 0 worse, 0.5 tie.

    The baseline is the row's ``baseline_column``, else (``fallback_to_reference``) its reference
    answer; a row with neither is not applicable. ``swap`` judges both orders and averages them.
    """
    p = _settings(backend=backend, model=model, base_url=base_url, max_new_tokens=max_new_tokens,
                temperature=temperature, samples=samples, timeout=timeout, options=options,
                concurrency=concurrency, retries=retries, api_key_env=api_key_env)
    template = template or "pairwise"
    asks: list[_Ask] = []
    missing: dict[int, Score] = {}
    source: dict[int, str] = {}
    for i, s in enumerate(batch):
        base, source[i] = s.column(baseline_column), baseline_column
        if base is None and fallback_to_reference and s.reference is not None:
            base, source[i] = s.reference, "reference"
        if base is None:
            missing[i] = Score.not_applicable(f"no {baseline_column!r} column"
                                              + (" nor reference answer" if fallback_to_reference else "")
                                              + " to compare with")
            continue
        base_text = base if isinstance(base, str) else Sample(completion=base).completion_text
        # a reference that is the opponent is not also shown as "the correct answer"
        hide = {"reference": ""} if source[i] == "reference" else {}
        asks += _pair_asks(template, s, s.completion_text, base_text, [(i, False)], swap, baseline=base_text,
                           **hide)
    tallies = _ask_judge("pairwise", asks, samples, p)
    return [missing[i] if i in missing else
            _score("pairwise", tallies.get(i), p, _describe_pair, baseline=source[i],
                   **_consistency(tallies.get(i), swap))
            for i in range(len(batch))]


def _consistency(t: _Tally | None, swap: bool) -> dict[str, Any]:
    """With ``swap``: did the judge pick the same winner in both orders (no position bias)?"""
    if not swap or t is None or len(t.values) < 2:
        return {}
    return {"consistent": len(set(t.values)) == 1}


# -- judge.pairwise_group --------------------------------------------------------------------------
@reward("judge.pairwise_group", mode="group", validate=_check)
def pairwise_group(group: Sequence[Sample], *, backend: str = "transformers", model: str = "",
                   base_url: str | None = None, template: str | None = None, swap: bool = True,
                   max_new_tokens: int = 512, temperature: float = 0.0, samples: int = 1, timeout: float = 25.0,
                   concurrency: int = 8, retries: int = 3, api_key_env: str | None = None,
                   options: dict[str, Any] | None = None) -> list[Score | None]:
    """Pairwise judging inside a group: each completion against the next (the last against the first);
    the value is the share of its comparisons it won (ties count 0.5)."""
    p = _settings(backend=backend, model=model, base_url=base_url, max_new_tokens=max_new_tokens,
                temperature=temperature, samples=samples, timeout=timeout, options=options,
                concurrency=concurrency, retries=retries, api_key_env=api_key_env)
    k = len(group)
    if k < 2:
        return [Score.not_applicable("a group of one completion has nothing to compare with")] * k
    template = template or "pairwise"
    # a ring: k comparisons, every completion in two of them (one for a pair)
    pairs = [(i, (i + 1) % k) for i in range(k if k > 2 else 1)]
    asks: list[_Ask] = []
    for a, b in pairs:
        asks += _pair_asks(template, group[a], group[a].completion_text, group[b].completion_text,
                           [(a, False), (b, True)], swap)
    tallies = _ask_judge("pairwise", asks, samples, p)
    opponents = {i: sorted({b for a, b in pairs if a == i} | {a for a, b in pairs if b == i}) for i in range(k)}
    return [_score("pairwise", tallies.get(i), p, _describe_pair, opponents=opponents[i]) for i in range(k)]


REWARDS = (pointwise, reference, pairwise, pairwise_group)
