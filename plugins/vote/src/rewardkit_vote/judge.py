"""``vote.judge``: several judge samples per completion, aggregated by majority or mean.

Constitutional self-rewarding (DeepSeek-V3): a model judges the policy's completions ``n`` times
(sampled, ``temperature > 0``) and the votes become the reward; the judge may be the policy itself,
re-read from its newest checkpoint (``model: "latest:<stage dir>"``, see :mod:`.checkpoints`).

Built on rewardkit-judge's public API (backends, templates, verdict parser), an optional dependency:
``pip install 'rewardkit-vote[judge]'``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rewardkit import RewardParamsError, Sample, Score, reward

from . import checkpoints

KINDS = ("reference", "pointwise")
AGGREGATES = ("majority", "mean")
JUDGE_INSTALL = "pip install 'rewardkit-vote[judge]' (or pip install rewardkit-judge)"
IN_PROCESS = ("transformers", "vllm")
#: Characters of one judge output kept in details (the last sample's tail).
TAIL_CHARS = 300


def _judge_api() -> Any:
    try:
        import rewardkit_judge
    except ImportError:
        raise RewardParamsError(f"vote.judge asks its judge through rewardkit-judge, which is not installed; "
                                f"{JUDGE_INSTALL}") from None
    return rewardkit_judge


def check(*, kind: str, backend: str, model: str, initial_model: str, base_url: str | None,
          template: str | None, reference_column: str | None, n: int, aggregate: str, temperature: float, max_new_tokens: int,
          timeout: float, min_agreement: float, options: dict[str, Any] | None) -> None:
    api = _judge_api()
    if kind not in KINDS:
        raise RewardParamsError(f"kind must be one of {', '.join(KINDS)} (the verdict asked for), "
                                f"not {kind!r}")
    if aggregate not in AGGREGATES:
        raise RewardParamsError(f"aggregate must be majority or mean, not {aggregate!r}")
    if not model:
        raise RewardParamsError("vote.judge needs `model`: a model folder or hub id, the served model's name "
                                "(backend: http), or latest:<stage dir> for the policy's newest checkpoint")
    if checkpoints.is_latest(model):
        if backend not in IN_PROCESS:
            raise RewardParamsError(f"model: latest:... loads each new checkpoint in this process; use "
                                    f"backend {' or '.join(IN_PROCESS)}, not {backend!r}")
        if not str(checkpoints.latest_dir(model)):
            raise RewardParamsError("model: latest: needs a directory, e.g. latest:runs/my-recipe/01-grpo")
    elif initial_model:
        raise RewardParamsError("initial_model is the judge before the first checkpoint of "
                                "model: latest:<dir>; with a fixed model, remove it")
    if backend == "http" and not base_url:
        raise RewardParamsError("backend: http needs base_url, e.g. http://127.0.0.1:8000/v1")
    if backend in IN_PROCESS and base_url:
        raise RewardParamsError(f"backend: {backend} runs the judge in this process; remove base_url or use "
                                "backend: http")
    if int(n) < 1 or int(max_new_tokens) < 1:
        raise RewardParamsError("n (judge samples per completion) and max_new_tokens must be at least 1")
    if temperature < 0:
        raise RewardParamsError(f"temperature must be >= 0, not {temperature}")
    if n > 1 and temperature == 0:
        raise RewardParamsError(f"n: {n} with temperature: 0 asks the same greedy question {n} times; set a "
                                "temperature (e.g. 0.7) to sample different verdicts, or n: 1")
    if not timeout or timeout <= 0 or math.isinf(timeout):
        raise RewardParamsError("timeout must be a positive number of seconds (below the engine's deadline)")
    if not 0.0 <= float(min_agreement) <= 1.0:
        raise RewardParamsError(f"min_agreement is a share of the verdicts between 0 and 1, "
                                f"not {min_agreement!r}")
    if template is not None and template not in api.TEMPLATES and not Path(template).expanduser().is_file():
        raise RewardParamsError(f"template {template!r} is not a file; the built-in templates are "
                                f"{', '.join(api.TEMPLATES)}")
    if options is not None and not isinstance(options, dict):
        raise RewardParamsError(f"options is a mapping of backend options (device, dtype...), "
                                f"not {options!r}")


@reward("vote.judge", mode="batch", deterministic=False, validate=check)
def judge(
    batch: Sequence[Sample],
    *,
    kind: str = "pointwise",
    backend: str = "transformers",
    model: str = "",
    initial_model: str = "",
    base_url: str | None = None,
    template: str | None = None,
    reference_column: str | None = None,
    n: int = 5,
    aggregate: str = "majority",
    temperature: float = 0.7,
    max_new_tokens: int = 256,
    timeout: float = 25.0,
    min_agreement: float = 0.0,
    options: dict[str, Any] | None = None,
) -> list[Score]:
    """A judge model's n sampled verdicts per completion, aggregated by majority or mean (self-rewarding).

    ``kind``: pointwise (1-10, value (score - 1) / 9; needs no label) or reference (PASS 1 / FAIL 0
    against the row's reference answer). ``aggregate``: majority (the most frequent verdict;
    pointwise scores rounded; tied verdicts averaged) or mean. ``model: latest:<dir>`` judges with the newest checkpoint-N in a
    training stage's dir (``initial_model`` before the first). Below ``min_agreement`` (the majority's
    share of the parsed verdicts) the completion gets None.
    """
    api = _judge_api()
    options = dict(options or {})
    scores: list[Score | None] = [None] * len(batch)
    asks: list[tuple[int, list[dict[str, str]]]] = []
    for i, sample in enumerate(batch):
        fields: dict[str, Any] = {}
        if kind == "reference":
            ref = sample.column(reference_column) if reference_column else sample.reference
            if ref is None or (isinstance(ref, str) and not ref.strip()):
                where = f"column {reference_column!r}" if reference_column else "reference answer"
                scores[i] = Score.not_applicable(f"no {where} to judge against")
                continue
            fields["reference"] = str(ref)
        asks.append((i, api.render(template or kind, sample, **fields)))
    if not asks:
        return scores  # type: ignore[return-value]
    params = {"n": int(n), "temperature": float(temperature), "max_new_tokens": int(max_new_tokens),
              "timeout": float(timeout)}
    conversations = [messages for _, messages in asks]
    try:
        if checkpoints.is_latest(model):
            from rewardkit_judge.backends import backend_class

            def build(path: str) -> Any:
                return backend_class(backend)(path, **options)

            with checkpoints.latest_backend(backend, model, initial_model, options, build) as (client, used):
                completions = client.complete(conversations, **params)
        else:
            used = model
            client = api.get_backend(backend, model, base_url=base_url, **options)
            completions = client.complete(conversations, **params)
    except checkpoints.NoJudgeYet as exc:
        for i, _ in asks:
            scores[i] = Score(None, reason="no judge yet", error=str(exc))
        return scores  # type: ignore[return-value]
    for (i, _), completion in zip(asks, completions):
        where = {"judge": used, "backend": backend}
        if completion.error is not None:
            scores[i] = Score(None, reason="timeout" if completion.timed_out else "error", details=where,
                              error=f"the judge failed: {completion.error}", timed_out=completion.timed_out)
            continue
        score = tally(kind, completion.texts, aggregate=aggregate, min_agreement=float(min_agreement))
        scores[i] = replace(score, details={**where, **score.details})
    return scores  # type: ignore[return-value]


def _label(kind: str, verdict: Any) -> tuple[str, float]:
    """The vote a verdict casts: (label, value). Pointwise scores vote by their rounded 1-10 score."""
    if kind == "pointwise":
        score = min(10, max(1, round(verdict.score)))
        return str(score), (score - 1) / 9
    return verdict.label, verdict.value


def tally(kind: str, texts: Sequence[str], *, aggregate: str = "majority",
          min_agreement: float = 0.0) -> Score:
    """The reward from one completion's judge outputs ``texts`` (one per judge sample).

    Each text is parsed with rewardkit-judge's verdict parser (a text without a valid verdict casts
    no vote). ``majority``: the most frequent verdict's value (PASS 1 / FAIL 0; pointwise, the rounded
    1-10 score as (score - 1) / 9); verdicts tied for most frequent score their mean. ``mean``: the
    mean value of the parsed verdicts. When the most frequent verdict holds less than
    ``min_agreement`` of the parsed ones, the result is None (not applicable), with the votes.
    """
    api = _judge_api()
    verdicts = [api.parse_verdict(kind, text) for text in texts]
    parsed = [v for v in verdicts if v.ok]
    details: dict[str, Any] = {"kind": kind, "aggregate": aggregate, "verdicts": [v.label for v in verdicts],
                               "parsed": len(parsed), "judged": len(verdicts)}
    if texts:
        details["judge_tail"] = texts[-1][-TAIL_CHARS:]
    unparsed = [v.reason for v in verdicts if not v.ok]
    if unparsed:
        details["unparseable"] = sorted(set(unparsed))
    if not parsed:
        why = unparsed[-1] if unparsed else "no output"
        return Score(None, reason="unparseable verdicts", details=details,
                     error=f"no verdict could be parsed from {len(verdicts)} judge sample(s): {why}")
    votes = Counter(_label(kind, v) for v in parsed)
    top = max(votes.values())
    winners = sorted(vote for vote, count in votes.items() if count == top)
    share = top / len(parsed)
    details.update(votes={label: count for (label, _), count in votes.most_common()}, share=share)
    if share < min_agreement:
        return Score.not_applicable(f"the judge samples agree {share:.0%}, below min_agreement "
                                    f"{min_agreement:.0%}", **details)
    if aggregate == "mean":
        value = sum(v.value for v in parsed) / len(parsed)
        return Score(value, reason=f"mean of {len(parsed)} verdict(s)", details=details)
    value = sum(v for _, v in winners) / len(winners)  # a tie between verdicts scores their mean
    if len(winners) > 1:
        details["tied"] = [label for label, _ in winners]
    labels = "/".join(label for label, _ in winners)
    return Score(value, reason=f"majority verdict {labels} ({top} of {len(parsed)})", details=details)
