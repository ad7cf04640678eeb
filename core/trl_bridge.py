"""The engine as TRL reward functions: ``(prompts, completions, **columns) -> list[float | None]``.

TRL passes every extra dataset column to reward functions as a keyword list (one item per
completion), plus ``completion_ids`` and ``trainer_state``. GRPO repeats each prompt
``num_generations`` times, so samples with the same prompt form a group.
"""

from __future__ import annotations

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


def reward_funcs(engine: "ScoringEngine") -> list[Callable[..., list[float | None]]]:
    # TRL calls every reward function with the same list objects: build the samples (and their
    # fingerprints, for the cache) once per batch, not once per reward.
    last: list[Any] = [None, None, None]

    def samples_for(prompts: Sequence[Any], completions: Sequence[Any], columns: dict[str, Any]) -> list[Sample]:
        if last[0] is not prompts or last[1] is not completions:
            last[:] = [prompts, completions, samples_from_trl(prompts, completions, columns)]
        return last[2]

    funcs = []
    for key in engine.ids:
        def func(prompts: Sequence[Any], completions: Sequence[Any], _key: str = key, **columns: Any) -> list[float | None]:
            return [s.value for s in engine.score_reward(_key, samples_for(prompts, completions, columns))]

        func.__name__ = func.__qualname__ = key
        func.__doc__ = engine.reward(key).description
        funcs.append(func)
    return funcs
