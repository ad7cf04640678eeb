"""A kit for testing rewards and the code that uses them: shared data, samples, reward checks.

The tiny-model helpers (:func:`build_tiny_model`) import torch/transformers lazily, so importing
this module stays light.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from .reward import Reward
from .types import Sample, Score

SHARED_DATA_ENV = "REWARDKIT_SHARED_DATA"


def shared_data_dir() -> Path:
    """The folder of public benchmark data (``../shared/data`` beside the repository).

    Looks at ``$REWARDKIT_SHARED_DATA`` first, then walks up from the working directory and from
    this file for a ``shared/data`` folder. Raises FileNotFoundError naming what it tried.
    """
    env = os.environ.get(SHARED_DATA_ENV)
    if env:
        path = Path(env)
        if path.is_dir():
            return path
        raise FileNotFoundError(f"${SHARED_DATA_ENV} points to {env}, which is not a folder")
    tried = []
    for start in (Path.cwd(), Path(__file__).resolve()):
        for parent in [start, *start.parents]:
            candidate = parent / "shared" / "data"
            tried.append(str(candidate))
            if candidate.is_dir():
                return candidate
    raise FileNotFoundError(
        f"no shared/data folder found (tried {tried[0]} and its parents); set ${SHARED_DATA_ENV}"
    )


def make_sample(completion: Any = "", prompt: Any = "", **columns: Any) -> Sample:
    """A Sample from keyword columns, as `rewardkit score` would build it from a JSONL row."""
    return Sample.from_row({"prompt": prompt, "completion": completion, **columns})


def score_one(reward: Reward, completion: Any = "", prompt: Any = "", params: Mapping[str, Any] | None = None,
              **columns: Any) -> Score:
    """Score one completion with ``reward`` (its own call shape, no engine): the quickest check."""
    sample = make_sample(completion, prompt, **columns)
    return reward.score([sample], dict(params or {}))[0]


def values(scores: Iterable[Score]) -> list[float | None]:
    return [s.value for s in scores]
