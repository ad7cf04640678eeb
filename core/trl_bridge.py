"""The engine as TRL reward functions: ``(prompts, completions, **columns) -> list[float | None]``.

TRL passes every extra dataset column to reward functions as a keyword list (one item per
completion), plus ``completion_ids`` and ``trainer_state``. GRPO repeats each prompt
``num_generations`` times, so samples with the same prompt form a group.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Callable, Sequence

from .types import Sample

if TYPE_CHECKING:  # pragma: no cover
    from .engine import ScoringEngine

#: Keyword arguments TRL adds that are not dataset columns.
_TRL_EXTRAS = {"trainer_state", "log_extra", "log_metric", "environments"}


def samples_from_trl(prompts: Sequence[Any], completions: Sequence[Any], columns: dict[str, Any]) -> list[Sample]:
    n = len(completions)
    per_row = {
        k: v for k, v in columns.items()
        if k not in _TRL_EXTRAS and isinstance(v, (list, tuple)) and len(v) == n
    }
    samples = []
    for i in range(n):
        row = {k: v[i] for k, v in per_row.items()}
        row["prompt"], row["completion"] = prompts[i], completions[i]
        samples.append(Sample.from_row(row))
    return samples


class RewardWeightsWarning(UserWarning):
    """The trainer weighs rewardkit's reward functions differently from the recipe."""


def check_trainer_weights(engine: "ScoringEngine", funcs: Sequence[Callable[..., Any]],
                          log_metric: Any) -> bool:
    """Warn when the trainer calling ``funcs`` weighs them differently from the engine's weights.

    TRL passes ``log_metric``, a bound method of the trainer, to reward functions: through it we see the
    trainer's ``reward_weights`` and ``reward_funcs``. Returns whether the check could be made.
    """
    trainer = getattr(log_metric, "__self__", None)
    weights, used = getattr(trainer, "reward_weights", None), getattr(trainer, "reward_funcs", None)
    if weights is None or used is None:
        return False
    got = [float(w) for w in (weights.tolist() if hasattr(weights, "tolist") else weights)]
    pairs = [(f.__name__, got[i], w) for f, w in zip(funcs, engine.weights)
             for i, g in enumerate(used) if g is f and i < len(got)]
    # float32 on the trainer side: 0.2 comes back as 0.200000003
    wrong = [(n, have, want) for n, have, want in pairs if abs(have - want) > 1e-6 * max(1.0, abs(want))]
    if wrong:
        detail = ", ".join(f"{name}: {have:g} (recipe: {want:g})" for name, have, want in wrong)
        warnings.warn(
            f"the trainer weighs rewardkit's rewards differently from the recipe: {detail}. TRL applies "
            "GRPOConfig.reward_weights, not the recipe's: pass reward_weights=engine.weights (rewardkit.trl."
            "grpo_rewards(...) gives funcs and weights together), or use rewardkit.trl.reward_funcs(...), "
            "one function with the weights inside", RewardWeightsWarning, stacklevel=3)
    return True


def reward_funcs(engine: "ScoringEngine") -> list[Callable[..., list[float | None]]]:
    # TRL calls every reward function with the same list objects: build the samples (and their
    # fingerprints, for the cache) once per batch, not once per reward.
    last: list[Any] = [None, None, None]

    def samples_for(prompts: Sequence[Any], completions: Sequence[Any], columns: dict[str, Any]) -> list[Sample]:
        if last[0] is not prompts or last[1] is not completions:
            last[:] = [prompts, completions, samples_from_trl(prompts, completions, columns)]
        return last[2]

    funcs: list[Callable[..., list[float | None]]] = []
    unchecked = [True]  # weights are checked on the first call that can see the trainer

    def func_for(key: str) -> Callable[..., list[float | None]]:
        def func(prompts: Sequence[Any], completions: Sequence[Any], **columns: Any) -> list[float | None]:
            if unchecked[0] and "log_metric" in columns:
                unchecked[0] = not check_trainer_weights(engine, funcs, columns["log_metric"])
            return [s.value for s in engine.score_reward(key, samples_for(prompts, completions, columns))]

        return func

    for key in engine.ids:
        func = func_for(key)
        func.__name__ = func.__qualname__ = key
        func.__doc__ = engine.reward(key).description
        funcs.append(func)
    return funcs
