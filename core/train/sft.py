"""The SFT stage: TRL's SFTTrainer on chat ``messages`` or ``prompt``/``completion`` rows.

What TRL already does, set through the stage's ``args`` (``SFTConfig``):

* the loss on completions only (``completion_only_loss``, on by default for prompt/completion rows;
  ``messages`` rows are split into the conversation so far and the last assistant reply, unless
  ``assistant_only_loss: true`` keeps them whole and trains every assistant turn);
* packing (``packing: true``, ``max_length``): TRL's best-fit packing is padding-free and restarts
  ``position_ids`` at each packed sample; transformers turns those into a block-diagonal causal mask
  for eager and SDPA attention (and flash-attention reads them as sequence boundaries), so packed
  samples never attend to each other.

rewardkit's own setting (``options``): ``loss: sum``, Tulu 3's sum-over-tokens loss (see
:class:`SFTOptions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..stage import StageRun
from .common import (build_config, finish, load_tokenizer, model_init_kwargs, model_path, train,
                     trainer_defaults)

LOSS_REDUCTIONS = ("mean", "sum")


@dataclass
class SFTOptions:
    """rewardkit's own SFT settings (TRL's are the stage's ``args``: ``SFTConfig``)."""

    #: ``mean`` (TRL): the loss of an optimizer step is the mean over all its completion tokens, the
    #: gradient-accumulation micro-batches together. ``sum`` (Tulu 3, open-instruct's
    #: ``--reduce_loss sum``): the per-token losses are summed, not divided by the token count (then
    #: divided by the accumulation steps, as open-instruct's accelerate does), so every token weighs the
    #: same however the batch is split and padded; use a learning rate fitted to it (Tulu 3: 5e-6 for 8B).
    loss: str = "mean"


def _sum_loss_trainer_class() -> type:
    from trl import SFTTrainer

    class SumLossSFTTrainer(SFTTrainer):
        """SFTTrainer whose loss is the sum of the per-token losses over the micro-batch, divided by the
        gradient-accumulation steps (Tulu 3). TRL divides the summed per-token loss by
        ``num_items_in_batch`` and multiplies by the number of processes; passing ``steps x processes``
        makes that ``sum / steps``, with TRL's metrics kept."""

        # Our loss already carries the 1/steps factor: Trainer must not divide it again.
        loss_is_scaled_for_ga = True

        def compute_loss(self, model: Any, inputs: Any, return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            processes = max(1, self.accelerator.num_processes // self.get_tp_size()) \
                if self.args.average_tokens_across_devices else 1
            steps = self.current_gradient_accumulation_steps if model.training else 1
            return super().compute_loss(model, inputs, return_outputs=return_outputs,
                                        num_items_in_batch=steps * processes)

    return SumLossSFTTrainer


def _can_mask_assistant(tokenizer: Any) -> bool:
    """TRL can mask every assistant turn: the template has generation markers or TRL can patch it."""
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    if tokenizer.chat_template and has_generation_markers(tokenizer.chat_template):
        return True
    try:
        get_training_chat_template(tokenizer)
    except (ValueError, TypeError):
        return False
    return True


def build_sft_trainer(run: StageRun) -> tuple[Any, Any]:
    """The stage's SFTTrainer (not yet trained) and tokenizer."""
    from trl import SFTConfig, SFTTrainer

    from ..stages import recipe_problem
    from .data import load_sft_dataset

    options: SFTOptions = run.options()
    if options.loss not in LOSS_REDUCTIONS:
        raise recipe_problem(run, "options.loss", f"loss must be one of {', '.join(LOSS_REDUCTIONS)}, "
                             f"not {options.loss!r}", "use `loss: sum` for Tulu 3's sum over tokens")
    defaults = {**trainer_defaults(run), "model_init_kwargs": model_init_kwargs(run) or None}
    config = build_config(SFTConfig, defaults, run)
    tokenizer = load_tokenizer(run)
    own_template = config.chat_template_path is not None
    if config.assistant_only_loss and not own_template and not _can_mask_assistant(tokenizer):
        raise recipe_problem(run, "args.assistant_only_loss", "the tokenizer's chat template has no "
                             "{% generation %} markers and TRL knows no training version of it",
                             "drop assistant_only_loss (the last assistant turn of each conversation is then "
                             "the completion), or set args.chat_template_path to a template with generation "
                             "markers")
    dataset = load_sft_dataset(run.data(), run.recipe, keep_messages=config.assistant_only_loss)
    cls = _sum_loss_trainer_class() if options.loss == "sum" else SFTTrainer
    trainer = cls(model=model_path(run), args=config, train_dataset=dataset, processing_class=tokenizer)
    return trainer, tokenizer


def run_sft_stage(run: StageRun) -> dict[str, Any]:
    trainer, tokenizer = build_sft_trainer(run)
    train(trainer, run)
    options: SFTOptions = run.options()
    return finish(trainer, tokenizer, run, base_model=model_path(run), sequences=len(trainer.train_dataset),
                  loss_reduction=options.loss, packing=bool(trainer.args.packing))
