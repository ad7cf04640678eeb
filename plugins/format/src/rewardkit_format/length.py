"""Length shaping: Kimi k1.5's group-relative penalty, DAPO's soft overlong punishment, cosine
length scaling, and a thinking-token budget.

Lengths are token counts (see :mod:`rewardkit_format.tokens`): ``completion_ids`` when the row
carries them, else ``params.tokenizer``, else the approximation. ``details["length_method"]`` says
which was used. Kimi and cosine need correctness and read it from another reward's result
(see :mod:`rewardkit_format.correctness`); they never re-verify answers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from rewardkit import RewardParamsError, Sample, Score, reward

from .checks import number, whole
from .correctness import check_correctness, verdict
from .tokens import Length, completion_length, segment_length


def _len_details(length: Length, **extra: Any) -> dict[str, Any]:
    return {"length": length.tokens, "length_method": length.method, **extra}


@reward("format.kimi_length", mode="group", depends_on=("correctness",), validate=check_correctness)
def kimi_length(
    samples: Sequence[Sample],
    *,
    correctness: str = "math.accuracy",
    threshold: float = 1.0,
    tokenizer: str | None = None,
) -> list[Score]:
    """Kimi k1.5 length penalty, relative to the group of completions for one prompt.

    With ``min_len`` / ``max_len`` the shortest and longest completion in the group (correct or
    not): ``lambda = 0.5 - (len - min_len) / (max_len - min_len)``; the reward is ``lambda`` for a
    correct answer and ``min(0, lambda)`` for a wrong one, so the shortest correct answer gets
    +0.5, the longest -0.5, and a wrong answer never gains from being short. When every
    completion has the same length the reward is 0 for all. Correctness is ``sample.scores
    [correctness] >= threshold`` (another reward in the recipe, scored first by the engine).
    """
    results: list[Score | None] = [None] * len(samples)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):  # the engine passes one group; split anyway if called with a mixed batch
        groups[s.group_key].append(i)
    for idx in groups.values():
        lengths = {i: completion_length(samples[i], tokenizer) for i in idx}
        lo = min(length.tokens for length in lengths.values())
        hi = max(length.tokens for length in lengths.values())
        for i in idx:
            v = verdict(samples[i], "format.kimi_length", correctness, threshold)
            if v.unknown is not None:
                results[i] = v.unknown
                continue
            lam = 0.0 if hi == lo else 0.5 - (lengths[i].tokens - lo) / (hi - lo)
            value = lam if v.correct else min(0.0, lam)
            results[i] = Score(
                value,
                reason="correct" if v.correct else "wrong",
                details=_len_details(
                    lengths[i],
                    group_min=lo,
                    group_max=hi,
                    group_size=len(idx),
                    correct=v.correct,
                    **{"lambda": lam},
                ),
            )
    return [r if r is not None else Score.failed("internal: sample not scored") for r in results]


def _check_overlong(*, max_length: int, cache_length: int, **_: Any) -> None:
    whole("max_length", max_length, minimum=1, example="max_length: 4096")
    whole("cache_length", cache_length, minimum=1, example="cache_length: 512")
    if cache_length > max_length:
        raise RewardParamsError(
            f"cache_length ({cache_length}) must not exceed max_length ({max_length}); DAPO uses a cache "
            "of about a fifth of the max length, e.g. max_length: 4096, cache_length: 820"
        )


@reward("format.overlong", validate=_check_overlong)
def soft_overlong(
    sample: Sample,
    *,
    max_length: int = 20480,
    cache_length: int = 4096,
    tokenizer: str | None = None,
) -> Score:
    """DAPO soft overlong punishment on the completion's token count ``L``.

    ``0`` if ``L <= max_length - cache_length``; ``(max_length - cache_length - L) / cache_length``
    (linear from 0 down to -1) inside the last ``cache_length`` tokens; ``-1`` beyond
    ``max_length``. Set ``max_length`` to the trainer's max completion length. DAPO used
    ``max_length: 20480, cache_length: 4096``.
    """
    length = completion_length(sample, tokenizer)
    start = max_length - cache_length
    if length.tokens <= start:
        value, why = 0.0, "within the budget"
    elif length.tokens <= max_length:
        value, why = (start - length.tokens) / cache_length, "inside the overlong cache"
    else:
        value, why = -1.0, "beyond max_length"
    return Score(value, reason=why, details=_len_details(length, soft_start=start, max_length=max_length))


def _check_cosine(
    *,
    max_length: int,
    min_value_correct: float,
    max_value_correct: float,
    min_value_wrong: float,
    max_value_wrong: float,
    exceed_value: float,
    **params: Any,
) -> None:
    check_correctness(**params)
    whole("max_length", max_length, minimum=1, example="max_length: 4096")
    number("min_value_correct", min_value_correct, "min_value_correct: 1.0")
    number("max_value_correct", max_value_correct, "max_value_correct: 2.0")
    number("min_value_wrong", min_value_wrong, "min_value_wrong: -10.0")
    number("max_value_wrong", max_value_wrong, "max_value_wrong: 0.0")
    number("exceed_value", exceed_value, "exceed_value: -10.0")
    if min_value_correct > max_value_correct or min_value_wrong > max_value_wrong:
        raise RewardParamsError(
            "min_value_* must not exceed max_value_* (correct: "
            f"{min_value_correct} > {max_value_correct}?, wrong: {min_value_wrong} > {max_value_wrong}?); "
            "swap them, e.g. min_value_correct: 1.0, max_value_correct: 2.0, min_value_wrong: -10.0, "
            "max_value_wrong: 0.0"
        )


@reward("format.cosine", depends_on=("correctness",), validate=_check_cosine)
def cosine_length(
    sample: Sample,
    *,
    correctness: str = "math.accuracy",
    threshold: float = 1.0,
    max_length: int = 4096,
    min_value_correct: float = 1.0,
    max_value_correct: float = 2.0,
    min_value_wrong: float = -10.0,
    max_value_wrong: float = 0.0,
    exceed_value: float = -10.0,
    tokenizer: str | None = None,
) -> Score:
    """Cosine length scaling (Yeo et al. 2025, "Demystifying Long Chain-of-Thought Reasoning").

    ``CosFn(t, T, a, b) = b + 0.5 * (a - b) * (1 + cos(pi * t / T))`` runs from ``a`` at length
    ``t = 0`` to ``b`` at ``t = T = max_length``. Correct answers get
    ``CosFn(L, T, max_value_correct, min_value_correct)`` (shorter is better); wrong answers get
    ``CosFn(L, T, min_value_wrong, max_value_wrong)`` (longer is less bad, so the model keeps
    thinking when unsure); ``L >= max_length`` gets ``exceed_value``. The defaults are the paper's
    (r0c=2, rLc=1, r0w=-10, rLw=0, re=-10); open-r1 uses 1 / 0.5 / -1 / -0.5 at a smaller scale.
    """
    v = verdict(sample, "format.cosine", correctness, threshold)
    if v.unknown is not None:
        return v.unknown
    length = completion_length(sample, tokenizer)
    details = _len_details(length, max_length=max_length, correct=v.correct)
    if length.tokens >= max_length:
        return Score(float(exceed_value), reason="reached max_length", details=details)
    start, end = (max_value_correct, min_value_correct) if v.correct else (min_value_wrong, max_value_wrong)
    value = end + 0.5 * (start - end) * (1.0 + math.cos(math.pi * length.tokens / max_length))
    return Score(value, reason="correct" if v.correct else "wrong", details=details)


def _thinking(text: str, think_tag: str) -> tuple[str, bool]:
    """The thinking part of a completion and whether it was closed.

    Text before ``</think>`` (after ``<think>`` if present, since templates may prefill it), or
    the whole completion when the thinking never closed (a truncated, over-budget generation).
    """
    t_open, t_close = f"<{think_tag}>", f"</{think_tag}>"
    end = text.find(t_close)
    body = text if end < 0 else text[:end]
    start = body.find(t_open)
    if start >= 0:
        body = body[start + len(t_open) :]
    return body, end >= 0


def _check_budget(*, budget: int | None, target: str, alpha: float, min_value: float, **_: Any) -> None:
    if target not in ("max", "exact"):
        raise RewardParamsError(
            f"target must be 'max' (a ceiling) or 'exact' (hit the budget), not {target!r}"
        )
    number("alpha", alpha, "alpha: 0.0003")
    number("min_value", min_value, "min_value: -1.0")
    if alpha < 0 or min_value > 0:
        raise RewardParamsError(
            "alpha must be >= 0 and min_value <= 0 (a penalty); e.g. alpha: 0.0003, min_value: -1.0"
        )
    if budget is not None:
        whole("budget", budget, minimum=0, example="budget: 1024")


@reward("format.thinking_budget", validate=_check_budget)
def thinking_budget(
    sample: Sample,
    *,
    budget: int | None = None,
    budget_column: str = "thinking_budget",
    target: str = "max",
    alpha: float = 0.0003,
    min_value: float = -1.0,
    think_tag: str = "think",
    tokenizer: str | None = None,
) -> Score:
    """Penalty for thinking beyond a token budget (thinking modes; L1 / LCPO style).

    ``n`` is the number of thinking tokens (before ``</think>``; all of it if never closed) and
    ``B`` the budget: the row's ``budget_column`` (e.g. "think for B tokens" prompts) or else
    ``params.budget``. ``target: max``: ``max(min_value, -alpha * max(0, n - B))`` (a ceiling);
    ``target: exact``: ``max(min_value, -alpha * |n - B|)`` (L1-Exact). Rows with no budget are
    not applicable. ``alpha: 0.0003`` is L1's value.
    """
    row_budget = sample.column(budget_column) if budget_column else None
    b = row_budget if row_budget is not None else budget
    if b is None:
        return Score.not_applicable(
            f"no thinking budget: set params.budget or give rows a {budget_column!r} column"
        )
    try:
        b = int(b)
    except (TypeError, ValueError):
        return Score.failed(f"column {budget_column!r} holds {b!r}, not a token count")
    body, closed = _thinking(sample.completion_text, think_tag)
    length = segment_length(sample, body, tokenizer)
    over = length.tokens - b
    miss = max(0, over) if target == "max" else abs(over)
    value = max(float(min_value), -alpha * miss)
    why = (
        "within budget"
        if miss == 0
        else (f"{over} tokens over budget" if over > 0 else f"{-over} tokens under target")
    )
    return Score(value, reason=why, details=_len_details(length, budget=b, closed=closed, target=target))
