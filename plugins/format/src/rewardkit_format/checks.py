"""Value checks shared by the rewards' ``validate=`` functions (see ``@rewardkit.reward``).

Core runs a reward's ``validate`` when a recipe is validated and when a scoring engine is built,
so ``max_penalty: 0.5`` is reported before any scoring instead of once per sample in training.
"""

from __future__ import annotations

import math
from typing import Any

from rewardkit import RewardParamsError


# -- value checks shared by the rewards ------------------------------------------------------------
def whole(name: str, value: Any, *, minimum: int, example: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RewardParamsError(f"{name} must be a whole number >= {minimum} (e.g. {example}), not {value!r}")


def number(name: str, value: Any, example: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RewardParamsError(f"{name} must be a finite number (e.g. {example}), not {value!r}")
