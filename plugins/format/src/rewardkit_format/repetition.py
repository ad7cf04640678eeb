"""N-gram repetition penalty: degenerate loops ("wait, let me check again...") cost reward."""

from __future__ import annotations

from typing import Any

from rewardkit import RewardParamsError, Sample, Score, reward

from .checks import number, whole
from .tokens import words


def check_repetition_params(*, ngram_size: int, max_penalty: float, **_: Any) -> None:
    """The n-gram size is a whole number >= 1 and the penalty is <= 0."""
    whole("ngram_size", ngram_size, minimum=1, example="ngram_size: 3")
    number("max_penalty", max_penalty, "max_penalty: -1.0")
    if max_penalty > 0:
        raise RewardParamsError(
            f"max_penalty is a penalty and must be <= 0; write max_penalty: {-max_penalty:g} "
            f"instead of {max_penalty:g}"
        )


@reward("format.repetition", validate=check_repetition_params)
def repetition_penalty(sample: Sample, *, ngram_size: int = 3, max_penalty: float = -1.0) -> Score:
    """Penalty for repeated word n-grams: ``max_penalty * (1 - unique_ngrams / total_ngrams)``.

    Words are lower-cased, punctuation dropped, CJK characters taken one by one (so Chinese and
    Japanese text is measured too). Completions shorter than ``ngram_size`` words get 0. The
    value lies in ``[max_penalty, 0]``: 0 for no repeats, near ``max_penalty`` for a loop.
    """
    tokens = words(sample.completion_text)
    total = len(tokens) - ngram_size + 1
    if total <= 0:
        return Score(0.0, reason=f"fewer than {ngram_size} words", details={"ngrams": 0})
    unique = len({tuple(tokens[i : i + ngram_size]) for i in range(total)})
    repeated = 1.0 - unique / total
    value = float(max_penalty) * repeated if repeated else 0.0  # no -0.0 in logs
    return Score(
        value,
        reason=f"{repeated:.0%} repeated {ngram_size}-grams",
        details={"ngrams": total, "unique_ngrams": unique},
    )
