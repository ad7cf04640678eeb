"""The plugin's hook: registers ``rm.score``."""

from __future__ import annotations

from rewardkit import Registry, hookimpl

from .rewards import score


@hookimpl
def rewardkit_register(registry: Registry) -> None:
    registry.add_reward(score)
