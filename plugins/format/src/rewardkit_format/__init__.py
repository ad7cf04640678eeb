"""rewardkit-format: reasoning-format, length-shaping, repetition and language-consistency rewards.

Registered as ``format.*`` (see the README for every reward, its params and formula)::

    format.think  format.answer_tags  format.tag_count  format.code_block  format.steps
    format.kimi_length  format.overlong  format.cosine  format.thinking_budget
    format.repetition  format.language
"""

from .language import language_consistency
from .length import cosine_length, kimi_length, soft_overlong, thinking_budget
from .repetition import repetition_penalty
from .structure import answer_tags, code_block, reasoning_steps, tag_count, think_format
from .tokens import Length, completion_length

__version__ = "0.1.0"
__all__ = [
    "Length",
    "answer_tags",
    "code_block",
    "completion_length",
    "cosine_length",
    "kimi_length",
    "language_consistency",
    "reasoning_steps",
    "repetition_penalty",
    "soft_overlong",
    "tag_count",
    "think_format",
    "thinking_budget",
]
