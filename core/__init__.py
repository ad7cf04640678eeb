"""rewardkit: rewards as plugins for LLM post-training.

The public API is small: describe a reward with :func:`reward`, score :class:`Sample` objects with
:class:`ScoringEngine`, and extend everything through pluggy hooks (:data:`hookimpl`). Importing
rewardkit pulls in no torch, transformers or trl.
"""

from __future__ import annotations

from typing import Any

from .hookspecs import hookimpl
from .registry import PluginConflictError, Registry, UnknownNameError
from .reward import Reward, RewardParamsError, reward
from .types import Sample, Score
from .version import __version__

__all__ = [
    "PluginConflictError",
    "Registry",
    "Reward",
    "RewardKit",
    "RewardParamsError",
    "RewardSpec",
    "Sample",
    "Score",
    "ScoringEngine",
    "UnknownNameError",
    "__version__",
    "hookimpl",
    "reward",
    "score_dataset",
]

_LAZY = {
    "RewardKit": ("plugins", "RewardKit"),
    "ScoringEngine": ("engine", "ScoringEngine"),
    "RewardSpec": ("engine", "RewardSpec"),
    "score_dataset": ("batch", "score_dataset"),
}


def __getattr__(name: str) -> Any:  # PEP 562: keep `import rewardkit` cheap
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module 'rewardkit' has no attribute {name!r}")
