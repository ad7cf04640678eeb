"""rewardkit-rm: score completions with a Bradley-Terry reward model.

* ``rm.score``: a sequence-classification reward model's logit for prompt + completion, rendered
  exactly as the ``reward_model`` stage trained it; batched on CPU or GPU, the model loaded once per
  process; optional reference-answer conditioning and running or per-group normalisation.

Importing this package pulls in no torch or transformers (they load with the first batch).
"""

from .model import RewardModel, RewardModelError, clear_cache, load_reward_model, resolve_model
from .normalize import RunningStats, group_zscores, reset_running_stats
from .render import DEFAULT_REFERENCE_TEMPLATE, Renderer, RenderError, condition_prompt, render_ids
from .rewards import score

__version__ = "0.1.0"
__all__ = [
    "DEFAULT_REFERENCE_TEMPLATE",
    "RenderError",
    "Renderer",
    "RewardModel",
    "RewardModelError",
    "RunningStats",
    "clear_cache",
    "condition_prompt",
    "group_zscores",
    "load_reward_model",
    "render_ids",
    "reset_running_stats",
    "resolve_model",
    "score",
]
