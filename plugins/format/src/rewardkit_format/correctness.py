"""Reading another reward's verdict: how length rewards learn whether an answer was correct.

Kimi's length penalty and cosine scaling need correctness but must not re-verify answers (that is
the accuracy reward's job, possibly sandboxed or slow). They declare
``depends_on=("correctness",)`` and take a ``correctness`` parameter naming the id of the accuracy
reward in the same recipe; the engine scores that reward first and hands its Score over in
``sample.scores[correctness]``. A value ``>= threshold`` counts as correct.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rewardkit import RewardParamsError, Sample, Score


@dataclass(frozen=True)
class Verdict:
    """Correctness of one sample, or the Score to return when it is unknown."""

    correct: bool | None
    unknown: Score | None = None


def check_correctness(*, correctness: str, threshold: float, **_: Any) -> None:
    """Value check for the ``correctness`` / ``threshold`` params of rewards that depend on accuracy."""
    if not correctness or not isinstance(correctness, str):
        raise RewardParamsError(
            "params.correctness must name the accuracy reward in the recipe by its id, "
            f"e.g. correctness: math.accuracy (got {correctness!r})"
        )
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or math.isnan(threshold):
        raise RewardParamsError(f"threshold must be a number such as 1.0 or 0.5, not {threshold!r}")


def verdict(sample: Sample, reward_name: str, correctness: str, threshold: float) -> Verdict:
    """Whether ``sample`` was judged correct by the reward whose recipe id is ``correctness``."""
    dep = sample.scores.get(correctness)
    if dep is None:
        known = ", ".join(sorted(sample.scores)) or "none"
        return Verdict(
            None,
            Score.failed(
                f"{reward_name} reads correctness from reward {correctness!r}, which did not run for this "
                f"sample (results available: {known}); add {correctness!r} to the recipe's rewards, or set "
                f"params.correctness to the id of your accuracy reward"
            ),
        )
    if dep.value is None or dep.error is not None:
        # a verifier that failed or timed out does not know: neither reward nor punish the length
        why = dep.error or dep.reason or "no value"
        return Verdict(
            None,
            Score.not_applicable(
                f"correctness unknown: {correctness!r} gave no value ({why})", correctness_reward=correctness
            ),
        )
    return Verdict(dep.value >= threshold)
