"""What a reward model reads: a (prompt, completion) pair rendered exactly as the ``reward_model``
stage trained it, so every scorer (rewardkit-rm's ``rm.score``, ``rejection_sampling``) sees what the
model learnt on.

The training path is :func:`~rewardkit.train.data.load_preference_dataset` (prompt template, chat
wrapping, system prompt, the response in the prompt's form) followed by TRL's ``RewardTrainer``
tokenization:

* chat (the prompt is a list of messages): ``tokenizer.apply_chat_template(prompt + completion,
  tokenize=True)``, no generation prompt;
* text: ``tokenizer(prompt + completion + eos)`` (the EOS string is appended unless the text already
  ends with it; the tokenizer adds its own special tokens, e.g. a BOS).

:class:`Renderer` calls the same shaping functions as training and repeats TRL's two tokenization
lines; rewardkit-rm's tests compare its ids with those of a real ``RewardTrainer`` built by the stage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ..types import as_text

Chat = Literal["auto", True, False]


class RenderError(ValueError):
    """A pair that cannot be rendered the way the reward model was trained."""


class Renderer:
    """Renders pairs for one tokenizer with fixed data options (those of the reward_model stage's
    ``data:``: ``chat``, ``prompt_template``, ``system_prompt``)."""

    def __init__(self, tokenizer: Any, *, chat: Chat = "auto", prompt_template: str | None = None,
                 system_prompt: str | None = None) -> None:
        from ..recipe import DataConfig

        self.tokenizer = tokenizer
        self.templated = bool(getattr(tokenizer, "chat_template", None))
        wrap = self.templated if chat == "auto" else bool(chat)
        if wrap and not self.templated:
            raise RenderError("chat: true but the reward model's tokenizer has no chat template; "
                              "set chat: false (the reward_model stage's data had chat: false) or give a "
                              "model whose tokenizer has one")
        # The stage's data options, as the training path reads them (``path`` is never read here).
        self.data = DataConfig(path="rm.score", chat=wrap, prompt_template=prompt_template,
                               system_prompt=system_prompt)

    def shape(self, prompt: Any, completion: Any) -> str | list[dict[str, Any]]:
        """The pair as training shapes it: chat messages (prompt + completion) or one text."""
        from .data import response_like_prompt, shape_prompt

        prompt = shape_prompt(_plain(prompt), self.data)
        if isinstance(prompt, list):
            if not self.templated:
                raise RenderError("the prompt is chat messages but the reward model's tokenizer has no chat "
                                  "template; give text prompts (data chat: false) or a model with a template")
            return [*prompt, *response_like_prompt(_plain(completion), prompt, "completion", self.data)]
        # A text prompt with a chat completion (a JSONL row, say): training only ever saw text here.
        text = prompt + as_text(completion)
        eos = self.tokenizer.eos_token
        return text if eos is None or text.endswith(eos) else text + eos  # TRL's add_eos

    def ids(self, prompt: Any, completion: Any) -> list[int]:
        """Token ids of the pair, as TRL's RewardTrainer tokenizes a ``chosen`` example."""
        shaped = self.shape(prompt, completion)
        if isinstance(shaped, list):
            out = self.tokenizer.apply_chat_template(shaped, tokenize=True, return_dict=True)
        else:
            out = self.tokenizer(text=shaped)
        return list(out["input_ids"])


def render_ids(tokenizer: Any, prompt: Any, completion: Any, *, chat: Chat = "auto",
               prompt_template: str | None = None, system_prompt: str | None = None) -> list[int]:
    """Token ids of one (prompt, completion) pair as the reward_model stage trained on it."""
    return Renderer(tokenizer, chat=chat, prompt_template=prompt_template, system_prompt=system_prompt).ids(
        prompt, completion)


def _plain(value: Any) -> Any:
    """Messages as plain dicts (datasets and JSON give mappings; templates want dicts)."""
    if isinstance(value, str) or value is None:
        return "" if value is None else value
    if isinstance(value, Mapping):
        return [dict(value)]
    if isinstance(value, Sequence):
        return [dict(m) for m in value]
    return value
