"""A recipe's rewards in TRL trainers, with their weights attached.

Two ways, neither of which can drop the recipe's weights silently:

* :func:`grpo_rewards` -> ``(funcs, weights)``: one TRL reward function per reward (TRL logs
  ``rewards/<id>/mean`` for each); pass ``reward_weights=weights`` (or ``**rewards.config``) to the
  trainer config. If the trainer's weights differ from the recipe's, the first reward call warns
  (:class:`~rewardkit.trl_bridge.RewardWeightsWarning`).
* :func:`reward_funcs` -> ``[total]``: one function returning the weighted total itself; every
  reward's batch mean is still logged (``rewards/<id>/mean``, through TRL's ``log_metric``).

>>> funcs, weights = grpo_rewards("recipes/quickstart.yaml")  # doctest: +SKIP
>>> GRPOTrainer(model=..., reward_funcs=funcs, args=GRPOConfig(..., reward_weights=weights))  # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence, Union

from .trl_bridge import RewardWeightsWarning, samples_from_trl
from .trl_bridge import reward_funcs as _per_reward_funcs

if TYPE_CHECKING:  # pragma: no cover
    from .engine import ScoringEngine
    from .recipe import Recipe

#: What the functions here accept: an engine, a loaded recipe, or a recipe file.
Source = Union["ScoringEngine", "Recipe", str, Path]
RewardFunc = Callable[..., list[Union[float, None]]]

__all__ = ["GRPORewards", "RewardWeightsWarning", "engine_of", "grpo_rewards", "reward_funcs"]


@dataclass(frozen=True)
class GRPORewards:
    """TRL reward functions and the weights that go with them; unpack it: ``funcs, weights = ...``."""

    funcs: list[RewardFunc]
    weights: list[float]
    engine: "ScoringEngine"

    @property
    def config(self) -> dict[str, Any]:
        """Keyword arguments for the trainer config: ``GRPOConfig(..., **rewards.config)``."""
        return {"reward_weights": list(self.weights)}

    def __iter__(self) -> Iterator[Any]:
        return iter((self.funcs, self.weights))


def engine_of(source: Source, *, profile: str | None = None) -> "ScoringEngine":
    """A scoring engine from an engine (returned as is), a recipe, or a recipe file (with ``profile``)."""
    from .engine import ScoringEngine
    from .recipe import Recipe, load_recipe

    if isinstance(source, ScoringEngine):
        return source
    recipe = source if isinstance(source, Recipe) else load_recipe(source, profile=profile)
    if not recipe.rewards:
        raise ValueError(f"{recipe.source or recipe.name}: the recipe has no rewards: add a `rewards:` list")
    return recipe.build_engine()


def grpo_rewards(source: Source, *, profile: str | None = None) -> GRPORewards:
    """One TRL reward function per reward of ``source``, and the weights TRL must apply to them."""
    engine = engine_of(source, profile=profile)
    return GRPORewards(_per_reward_funcs(engine), list(engine.weights), engine)


def reward_funcs(source: Source, *, profile: str | None = None, name: str = "rewardkit") -> list[RewardFunc]:
    """``[f]``: one TRL reward function returning the recipe's weighted total (``None`` where no reward
    applied), so there are no weights to pass. Each reward's batch mean goes to TRL's metrics as
    ``rewards/<id>/mean``."""
    engine = engine_of(source, profile=profile)

    def total(prompts: Sequence[Any], completions: Sequence[Any], **columns: Any) -> list[float | None]:
        scored = engine.score(samples_from_trl(prompts, completions, columns))
        log_metric = columns.get("log_metric")
        if callable(log_metric):
            for key in engine.ids:
                values = [s.scores[key].value for s in scored if s.scores[key].value is not None]
                if values:
                    log_metric(f"rewards/{key}/mean", math.fsum(values) / len(values))
        return [s.total for s in scored]

    total.__name__ = total.__qualname__ = name
    parts = [f"{k} x{w:g}" for k, w in zip(engine.ids, engine.weights)]
    total.__doc__ = "Weighted total of: " + ", ".join(parts)
    return [total]
