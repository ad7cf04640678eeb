"""The plugin's hook: registers every ``format.*`` reward."""

from __future__ import annotations

from rewardkit import Registry, hookimpl

from .language import language_consistency
from .length import cosine_length, kimi_length, soft_overlong, thinking_budget
from .repetition import repetition_penalty
from .structure import answer_tags, code_block, reasoning_steps, tag_count, think_format

REWARDS = (
    think_format,
    answer_tags,
    tag_count,
    code_block,
    reasoning_steps,
    kimi_length,
    soft_overlong,
    cosine_length,
    thinking_budget,
    repetition_penalty,
    language_consistency,
)


@hookimpl
def rewardkit_register(registry: Registry) -> None:
    for r in REWARDS:
        registry.add_reward(r)
