"""The hooks rewardkit calls. Plugins implement them with ``@rewardkit.hookimpl``.

Core's built-in rewards register through :func:`rewardkit_register` exactly like an installed
plugin does (see ``rewardkit.builtin``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import pluggy

PROJECT = "rewardkit"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

if TYPE_CHECKING:  # pragma: no cover
    from .engine import RewardStats
    from .registry import Registry
    from .types import Sample, Score


@hookspec
def rewardkit_register(registry: "Registry") -> None:
    """Add rewards, answer parsers, sandbox backends, judge backends and stage types to ``registry``.

    Call ``registry.add_reward(...)``, ``registry.add_parser(...)``,
    ``registry.add_sandbox_backend(...)``, ``registry.add_judge_backend(...)`` or
    ``registry.add_stage(StageType(...))``.
    """


@hookspec
def rewardkit_before_score(reward_id: str, samples: "Sequence[Sample]") -> None:
    """Called before one reward scores a batch (after routing and the cache)."""


@hookspec
def rewardkit_after_score(
    reward_id: str, samples: "Sequence[Sample]", scores: "Sequence[Score]", stats: "RewardStats"
) -> None:
    """Called after one reward scored a batch, with the running statistics for that reward.

    Use it for logging, metrics, or reward-hacking monitors. Must not modify ``scores``.
    """


@hookspec
def rewardkit_stage_start(stage: Any, recipe: Any) -> None:
    """Called when a recipe stage starts (trainer stages, scoring)."""


@hookspec
def rewardkit_stage_end(stage: Any, recipe: Any, result: Any) -> None:
    """Called when a recipe stage ends, with whatever the stage returned."""
