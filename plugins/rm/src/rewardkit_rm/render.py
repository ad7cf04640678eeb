"""What the reward model reads: a (prompt, completion) pair rendered exactly as the reward_model stage
trained it, and the optional reference-answer conditioning.

The training path is rewardkit's :func:`~rewardkit.train.data.load_preference_dataset` (prompt
template, chat wrapping, system prompt, the response in the prompt's form) followed by TRL's
``RewardTrainer`` tokenization:

* chat (the prompt is a list of messages): ``tokenizer.apply_chat_template(prompt + completion,
  tokenize=True)``, no generation prompt;
* text: ``tokenizer(prompt + completion + eos)`` (the EOS string is appended unless the text already
  ends with it; the tokenizer adds its own special tokens, e.g. a BOS).

The rendering itself lives in core (:mod:`rewardkit.train.rm_input`), shared with the
``rejection_sampling`` stage; this module adds the reference conditioning. The plugin's tests compare
the ids with those of a real ``RewardTrainer`` built by the reward_model stage, so a drift fails a test.
"""

from __future__ import annotations

from typing import Any

from rewardkit.train.rm_input import Chat, Renderer, RenderError, render_ids
from rewardkit.types import as_text

__all__ = ["DEFAULT_REFERENCE_TEMPLATE", "Chat", "RenderError", "Renderer", "condition_prompt", "render_ids"]

#: DeepSeek-V3-style reference conditioning: the reward model reads the reference answer with the
#: question and judges whether the response matches it.
DEFAULT_REFERENCE_TEMPLATE = "{prompt}\n\nReference answer: {reference}"


def condition_prompt(prompt: Any, reference: Any, template: str = DEFAULT_REFERENCE_TEMPLATE) -> Any:
    """``prompt`` with the reference answer written into it through ``template`` (``{prompt}`` and
    ``{reference}`` are replaced; other braces are left alone).

    A text prompt is rewritten whole; for chat messages the content of the last user message is
    (a copy is returned). Use the same function on the prompt column of a preference file to train a
    reward model that reads references (the reward_model stage then shapes it as usual).
    """
    def fill(text: str) -> str:
        return template.replace("{prompt}", text).replace("{reference}", str(reference))

    if isinstance(prompt, str):
        return fill(prompt)
    messages = [dict(m) for m in prompt]
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=None)
    if last_user is None:
        raise RenderError("reference conditioning needs a user message in the prompt "
                          f"(roles here: {[m.get('role') for m in messages]})")
    messages[last_user]["content"] = fill(as_text([messages[last_user]]))
    return messages
