"""What the reward model reads: a (prompt, completion) pair rendered exactly as the reward_model stage
trained it, and the optional reference-answer conditioning.

The training path is rewardkit's :func:`~rewardkit.train.data.load_preference_dataset` (prompt
template, chat wrapping, system prompt, the response in the prompt's form) followed by TRL's
``RewardTrainer`` tokenization:

* chat (the prompt is a list of messages): ``tokenizer.apply_chat_template(prompt + completion,
  tokenize=True)``, no generation prompt;
* text: ``tokenizer(prompt + completion + eos)`` (the EOS string is appended unless the text already
  ends with it; the tokenizer adds its own special tokens, e.g. a BOS).

:func:`render_ids` calls the same shaping functions as training (imported from
``rewardkit.train.data``) and repeats TRL's two tokenization lines; the plugin's tests compare its ids
with the ids of a real ``RewardTrainer`` built by the reward_model stage, so a drift fails a test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from rewardkit.types import as_text

#: DeepSeek-V3-style reference conditioning: the reward model reads the reference answer with the
#: question and judges whether the response matches it.
DEFAULT_REFERENCE_TEMPLATE = "{prompt}\n\nReference answer: {reference}"

Chat = Literal["auto", True, False]


class RenderError(ValueError):
    """A pair that cannot be rendered the way the reward model was trained."""


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


class Renderer:
    """Renders pairs for one tokenizer with fixed data options (those of the reward_model stage's
    ``data:``: ``chat``, ``prompt_template``, ``system_prompt``)."""

    def __init__(self, tokenizer: Any, *, chat: Chat = "auto", prompt_template: str | None = None,
                 system_prompt: str | None = None) -> None:
        from rewardkit.recipe import DataConfig

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
        from rewardkit.train.data import _response, shape_prompt

        prompt = shape_prompt(_plain(prompt), self.data)
        if isinstance(prompt, list):
            if not self.templated:
                raise RenderError("the prompt is chat messages but the reward model's tokenizer has no chat "
                                  "template; give text prompts (data chat: false) or a model with a template")
            return [*prompt, *_response(_plain(completion), prompt, "completion", self.data)]
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
