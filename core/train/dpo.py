"""The DPO stage: TRL's DPOTrainer (or, for SimPO, TRL's CPOTrainer) on preference pairs.

The losses are TRL's, named in the stage's ``args`` (``DPOConfig``):

* ``loss_type: [sigmoid]`` (DPO), ``[sigmoid_norm]`` (length-normalised DPO, Tulu 3), or any other of
  TRL's, combined with ``loss_weights``; ``beta``;
* the reference model is the stage's starting model (``options.ref_model`` names another).

rewardkit's own settings (``options``, :class:`DPOOptions`): ``nll_weight`` (Llama 3's NLL term on the
chosen response: appends TRL's ``sft`` loss with that weight), ``method: simpo`` (SimPO, which has no
reference model: TRL's CPOTrainer with ``loss_type="simpo"``; ``beta``, ``learning_rate`` and the other
training args carry over, ``simpo_gamma`` is here) and ``mask_special_tokens`` (Llama 3: special tokens
such as end-of-turn and header tokens are left out of the loss).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..stage import StageRun, coerce_fields
from .common import (build_config, finish, load_tokenizer, model_init_kwargs, model_path, train,
                     trainer_defaults)

METHODS = ("dpo", "simpo")


@dataclass
class DPOOptions:
    """rewardkit's own DPO settings (TRL's are the stage's ``args``: ``DPOConfig``)."""

    #: ``dpo``: TRL's DPOTrainer with ``args.loss_type``. ``simpo``: SimPO (reference-free, length-
    #: normalised, target margin ``simpo_gamma``) through TRL's CPOTrainer; SimPO's paper uses a larger
    #: ``args.beta`` (2 to 10) than DPO's 0.1.
    method: str = "dpo"
    #: Weight of an NLL (SFT) term on the chosen response, added to the preference loss (Llama 3: 0.2).
    #: For ``dpo`` it appends TRL's ``sft`` loss type; for ``simpo`` it is CPO's ``cpo_alpha``.
    #: Unset: no NLL term.
    nll_weight: float | None = None
    #: Leave the tokenizer's special tokens (end-of-turn, headers, padding) out of the loss, as Llama 3
    #: does: they appear in both responses, so their log-probabilities only add noise to the preference
    #: signal. They are then left out of the NLL term too.
    mask_special_tokens: bool = False
    #: SimPO's target reward margin gamma (``method: simpo`` only).
    simpo_gamma: float = 0.5
    #: The reference model (``method: dpo``): a folder or hub id. Unset: the stage's starting model.
    ref_model: str | None = None


def special_token_ids(tokenizer: Any) -> list[int]:
    """The ids of every special token of ``tokenizer`` (its named ones and added special tokens)."""
    ids = set(tokenizer.all_special_ids)
    ids.update(i for i, token in tokenizer.added_tokens_decoder.items() if token.special)
    return sorted(ids)


class SpecialTokenMasking:
    """Wraps a preference collator so that special tokens are not scored.

    For TRL's DPO batches (``input_ids`` + ``completion_mask``) the completion mask is cleared at
    special tokens; for CPO/SimPO batches (``chosen_labels`` / ``rejected_labels``) those labels become
    -100. Either way the tokens stay in the input (the model still sees them), they only leave the loss.
    """

    def __init__(self, collator: Any, token_ids: list[int]) -> None:
        self.collator = collator
        self.token_ids = list(token_ids)

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        batch = self.collator(examples)
        ids = torch.tensor(self.token_ids)
        if "completion_mask" in batch:
            special = torch.isin(batch["input_ids"], ids.to(batch["input_ids"].device))
            batch["completion_mask"] = batch["completion_mask"].masked_fill(special, 0)
        for side in ("chosen", "rejected"):
            labels = batch.get(f"{side}_labels")
            if labels is not None:
                special = torch.isin(batch[f"{side}_input_ids"], ids.to(labels.device))
                batch[f"{side}_labels"] = labels.masked_fill(special, -100)
        return batch


def _check(run: StageRun, options: DPOOptions) -> None:
    from ..stages import recipe_problem

    if options.method not in METHODS:
        raise recipe_problem(run, "options.method", f"method must be one of {', '.join(METHODS)}, not "
                             f"{options.method!r}", "for length-normalised DPO keep `method: dpo` and set "
                             "`args.loss_type: [sigmoid_norm]`")
    if options.nll_weight is not None and options.nll_weight < 0:
        raise recipe_problem(run, "options.nll_weight", "nll_weight must be >= 0", "Llama 3 uses 0.2")
    if options.method == "simpo" and options.ref_model is not None:
        raise recipe_problem(run, "options.ref_model", "SimPO has no reference model", "remove ref_model")


def dpo_config(run: StageRun, options: DPOOptions) -> Any:
    """The stage's DPOConfig, with ``nll_weight`` appended as TRL's ``sft`` loss."""
    from trl import DPOConfig

    from ..stages import recipe_problem

    defaults = {**trainer_defaults(run), "model_init_kwargs": model_init_kwargs(run) or None}
    config = build_config(DPOConfig, defaults, run)
    if options.nll_weight is not None:
        if "sft" in config.loss_type:
            raise recipe_problem(run, "options.nll_weight", "args.loss_type already has an 'sft' term",
                                 "set its weight in args.loss_weights, or drop 'sft' from loss_type")
        weights = list(config.loss_weights or [1.0] * len(config.loss_type))
        config.loss_type = [*config.loss_type, "sft"]
        config.loss_weights = [*weights, float(options.nll_weight)]
    return config


def simpo_config(run: StageRun, options: DPOOptions) -> Any:
    """A CPOConfig for SimPO from the stage's DPO ``args`` (the fields both configs have)."""
    import dataclasses

    from trl import DPOConfig
    from trl.experimental.cpo import CPOConfig

    from ..stages import recipe_problem

    build_config(DPOConfig, {**trainer_defaults(run)}, run)  # the args are checked against DPOConfig first
    cpo_fields = {f.name for f in dataclasses.fields(CPOConfig)}
    # loss_type exists in both, but SimPO's is fixed
    foreign = sorted(k for k in run.stage.args if k not in cpo_fields or k == "loss_type")
    if foreign:
        raise recipe_problem(run, f"args.{foreign[0]}",
                             f"with method simpo (TRL's CPOTrainer) these DPO args do not apply: "
                             f"{', '.join(foreign)}", "remove them; SimPO's settings are args.beta, "
                             "options.simpo_gamma and options.nll_weight")
    defaults = {**trainer_defaults(run), "model_init_kwargs": model_init_kwargs(run) or None,
                # our collator wraps TRL's: keep the tokenized columns it reads
                "remove_unused_columns": False}
    return CPOConfig(**{**defaults, **coerce_fields(CPOConfig, run.stage.args), "loss_type": "simpo",
                        "simpo_gamma": options.simpo_gamma, "cpo_alpha": float(options.nll_weight or 0.0)})


def build_dpo_trainer(run: StageRun) -> tuple[Any, Any]:
    """The stage's DPOTrainer (or CPOTrainer for SimPO), not yet trained, and its tokenizer."""
    from .data import load_preference_dataset

    options: DPOOptions = run.options()
    _check(run, options)
    tokenizer = load_tokenizer(run)
    dataset = load_preference_dataset(run.data(), run.recipe, keep_margin=False)
    masked = special_token_ids(tokenizer) if options.mask_special_tokens else None
    if options.method == "simpo":
        from trl.experimental.cpo import CPOTrainer
        from trl.experimental.utils import DPODataCollatorWithPadding

        collator = DPODataCollatorWithPadding(pad_token_id=tokenizer.pad_token_id)
        trainer = CPOTrainer(model=model_path(run), args=simpo_config(run, options), train_dataset=dataset,
                             processing_class=tokenizer,
                             data_collator=SpecialTokenMasking(collator, masked) if masked else collator)
        return trainer, tokenizer

    from trl import DPOTrainer
    from trl.trainer.dpo_trainer import DataCollatorForPreference

    config = dpo_config(run, options)
    collator = None
    if masked:
        collator = SpecialTokenMasking(DataCollatorForPreference(
            pad_token_id=tokenizer.pad_token_id, max_length=config.max_length,
            truncation_mode=config.truncation_mode, pad_to_multiple_of=config.pad_to_multiple_of), masked)
    ref_model = None
    if options.ref_model is not None:
        from .common import load_causal_lm

        ref_model = load_causal_lm(run, model_path_of(run, options.ref_model))
    trainer = DPOTrainer(model=model_path(run), ref_model=ref_model, args=config, train_dataset=dataset,
                         processing_class=tokenizer, data_collator=collator)
    return trainer, tokenizer


def model_path_of(run: StageRun, name: str) -> str:
    """A model named in the recipe: a folder relative to the recipe file, else a hub id."""
    path = run.recipe.resolve_path(name)
    return str(path) if path.exists() else name


def run_dpo_stage(run: StageRun) -> dict[str, Any]:
    trainer, tokenizer = build_dpo_trainer(run)
    train(trainer, run)
    options: DPOOptions = run.options()
    last = next((e for e in reversed(trainer.state.log_history) if "rewards/accuracies" in e), {})
    loss = ["simpo"] if options.method == "simpo" else list(trainer.args.loss_type)
    return finish(trainer, tokenizer, run, base_model=model_path(run), pairs=len(trainer.train_dataset),
                  method=options.method, loss_type=loss, mask_special_tokens=options.mask_special_tokens,
                  last_reward_accuracy=last.get("rewards/accuracies"),
                  last_reward_margin=last.get("rewards/margins"))
