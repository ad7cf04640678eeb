"""PPO's value model: a sequence-classification model with one label, read at every token.

As in Tulu 3 (open-instruct's PPO), the value model is an ``AutoModelForSequenceClassification``
(``num_labels=1``): its backbone's hidden state at each position goes through its scalar head, so a
reward model trained by the ``reward_model`` stage is a value model as it stands. Started from a
causal LM (the policy) instead, the head is new; it starts at zero so that every first estimate is
0 rather than noise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

#: Names of the scalar head on transformers' sequence-classification models.
_HEADS = ("score", "classifier", "v_head")


def value_head(model: Any) -> torch.nn.Module:
    for name in _HEADS:
        head = getattr(model, name, None)
        if isinstance(head, torch.nn.Module):
            return head
    raise ValueError(f"{type(model).__name__} has no scalar head ({', '.join(_HEADS)}); give "
                     "options.value_model a decoder model (Llama, Qwen, Mistral...) or a reward model "
                     "trained by the reward_model stage")


def load_value_model(path: str, pad_token_id: int | None, **init_kwargs: Any) -> Any:
    """The value model from ``path`` (a reward model, or a causal LM whose head starts at zero)."""
    from transformers import AutoModelForSequenceClassification
    from trl.trainer.utils import disable_dropout_in_model

    model, info = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=1, output_loading_info=True, **init_kwargs)
    head = value_head(model)
    head_name = next(name for name in _HEADS if getattr(model, name, None) is head)
    if any(key.startswith(f"{head_name}.") for key in info["missing_keys"]):
        with torch.no_grad():
            for param in head.parameters():
                param.zero_()
    if pad_token_id is not None:
        model.config.pad_token_id = pad_token_id
    disable_dropout_in_model(model)  # PPO's targets assume deterministic estimates (Tulu 3 does the same)
    return model


def token_values(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                 completion_length: int) -> torch.Tensor:
    """``(B, completion_length)``: the value of each state a completion token was sampled in, i.e.
    the head read at the position that predicts that token (the one before it)."""
    backbone = getattr(model, model.base_model_prefix)
    hidden = backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    hidden = hidden[:, -completion_length - 1:-1]
    return value_head(model)(hidden).squeeze(-1).float()


class TokenValues(torch.nn.Module):
    """:func:`token_values` as a module's forward, so that DDP can wrap it (and average its gradients)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                completion_length: int) -> torch.Tensor:
        return token_values(self.model, input_ids, attention_mask, completion_length)


def load_weights(model: Any, folder: str | Path) -> None:
    """Load a ``save_pretrained`` folder's weights into ``model`` in place (one file or shards)."""
    from safetensors.torch import load_file
    from transformers.trainer_utils import load_sharded_checkpoint

    folder = Path(folder)
    single = folder / "model.safetensors"
    if single.is_file():
        missing, unexpected = model.load_state_dict(load_file(str(single)), strict=False)
        if missing or unexpected:
            raise ValueError(f"{folder} does not hold this value model's weights "
                             f"(missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]})")
    else:
        load_sharded_checkpoint(model, str(folder), strict=True)
