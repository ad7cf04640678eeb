"""Registers the code rewards with rewardkit."""

from __future__ import annotations

from rewardkit import hookimpl

from .rewards import syntax, unit_tests


@hookimpl
def rewardkit_register(registry) -> None:  # type: ignore[no-untyped-def]
    registry.add_reward(unit_tests)
    registry.add_reward(syntax)
