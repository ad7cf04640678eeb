"""Checking parameter *values* early: when a recipe is validated or a scoring engine is built.

Core checks parameter names (``Reward.check_params``); a :class:`CheckedReward` also runs a
check function on the values, so ``rewardkit validate`` and ``ScoringEngine(...)`` report
``max_penalty: 0.5`` before any scoring instead of once per sample during training. The same
check runs again on every direct call (``reward(sample, ...)``, ``reward.score(...)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from rewardkit import Reward, RewardParamsError

#: ``check(**params)``: all of the reward's params (defaults filled in); raises RewardParamsError.
Check = Callable[..., None]


@dataclass(frozen=True)
class CheckedReward(Reward):
    """A Reward whose parameter values are checked by ``check`` before use."""

    check: Check | None = None

    def check_values(self, params: Mapping[str, Any]) -> None:
        if self.check is not None:
            self.check(**{**self.defaults, **params})

    def check_params(self, params: Mapping[str, Any]) -> None:
        super().check_params(params)
        self.check_values(params)

    def score(self, samples: Any, params: Mapping[str, Any]) -> Any:
        self.check_values(params)
        return super().score(samples, params)

    def __call__(self, sample_or_samples: Any, **params: Any) -> Any:
        self.check_values(params)
        return super().__call__(sample_or_samples, **params)

    def __reduce__(self) -> Any:
        # Reward pickles registry copies as plain Rewards; keep the class (and check) so that a
        # process worker unpickling ``reward.score`` finds the methods it was bound to.
        rebuild, args = super().__reduce__()[:2]
        return (_rebuild_checked, (rebuild, args, self.check))


def _rebuild_checked(rebuild: Callable[..., Reward], args: tuple[Any, ...], check: Check | None) -> Reward:
    base = rebuild(*args)
    if isinstance(base, CheckedReward) or check is None:
        return base
    return checked(check)(base)


def checked(check: Check) -> Callable[[Reward], CheckedReward]:
    """Decorator (above ``@reward``) attaching a value check to a reward."""

    def wrap(reward: Reward) -> CheckedReward:
        return CheckedReward(**{f.name: getattr(reward, f.name) for f in fields(Reward)}, check=check)

    return wrap


# -- value checks shared by the rewards ------------------------------------------------------------
def whole(name: str, value: Any, *, minimum: int, example: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RewardParamsError(f"{name} must be a whole number >= {minimum} (e.g. {example}), not {value!r}")


def number(name: str, value: Any, example: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RewardParamsError(f"{name} must be a finite number (e.g. {example}), not {value!r}")
