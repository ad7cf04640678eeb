"""The plugin's hook: registers ``vote.majority`` and ``vote.judge``."""

from __future__ import annotations

from rewardkit import Registry, hookimpl

from .judge import judge
from .majority import majority


@hookimpl
def rewardkit_register(registry: Registry) -> None:
    registry.add_reward(majority)
    registry.add_reward(judge)  # checks for rewardkit-judge when used, not here
