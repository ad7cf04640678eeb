"""The reward-model stage: a Bradley-Terry reward model on preference pairs (TRL's RewardTrainer).

The model is the stage's starting model with a one-output sequence-classification head
(``AutoModelForSequenceClassification``, ``num_labels=1``): a causal LM gets a fresh score head. The
loss is ``-log sigmoid(r(chosen) - r(rejected) - margin)``; ``margin`` comes from a ``margin`` column,
or from a grade column through :attr:`RewardModelOptions.grade_margins` (Llama 2/3's preference
grades), else it is 0.

The result's ``reward_model`` is the trained model's folder (with its tokenizer): it loads with
``AutoModelForSequenceClassification.from_pretrained(path)`` and scores ``prompt + completion``
rendered as in training (the chat template for chat rows). The stage's ``model`` is the model it
started from, so the stages after it keep training the policy (e.g. ``sft -> reward_model -> dpo``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..stage import StageRun
from .common import (build_config, finish, load_tokenizer, model_init_kwargs, model_path, train,
                     trainer_defaults)


def _llama_grades() -> dict[str, float]:
    from .data import LLAMA_GRADE_MARGINS

    return dict(LLAMA_GRADE_MARGINS)


@dataclass
class RewardModelOptions:
    """rewardkit's own reward-model settings (TRL's are the stage's ``args``: ``RewardConfig``)."""

    #: A column of preference grades (e.g. ``"slightly better"``) turned into each pair's margin through
    #: ``grade_margins`` (Llama's margin loss). Unset: a ``margin`` column is used if there is one.
    grade_column: str | None = None
    #: Grade -> margin. Default: Llama 3's four grades with Llama 2's "small margin" values
    #: (significantly better 1, better 2/3, slightly better 1/3, marginally better 0). Case, spaces,
    #: ``_`` and ``-`` in grades do not matter.
    grade_margins: dict[str, float] = field(default_factory=_llama_grades)
    #: Pass the starting model on to the next stage (the reward model is the result's
    #: ``reward_model``). False: the reward model becomes the next stage's model.
    pass_model_through: bool = True


def build_reward_trainer(run: StageRun) -> tuple[Any, Any]:
    """The stage's RewardTrainer (not yet trained) and tokenizer."""
    from trl import RewardConfig, RewardTrainer

    from ..stages import recipe_problem
    from .data import load_preference_dataset

    options: RewardModelOptions = run.options()
    bad = {k: v for k, v in options.grade_margins.items()
           if not isinstance(v, (int, float)) or isinstance(v, bool)}
    if bad:
        raise recipe_problem(run, "options.grade_margins", f"margins must be numbers, got {bad}",
                             "e.g. grade_margins: {better: 1.0, slightly better: 0.5}")
    defaults = {**trainer_defaults(run), "model_init_kwargs": model_init_kwargs(run) or None}
    config = build_config(RewardConfig, defaults, run)
    tokenizer = load_tokenizer(run)
    dataset = load_preference_dataset(run.data(), run.recipe, grade_column=options.grade_column,
                                      grade_margins=options.grade_margins)
    trainer = RewardTrainer(model=model_path(run), args=config, train_dataset=dataset,
                            processing_class=tokenizer)
    return trainer, tokenizer


def run_reward_model_stage(run: StageRun) -> dict[str, Any]:
    trainer, tokenizer = build_reward_trainer(run)
    train(trainer, run)
    options: RewardModelOptions = run.options()
    last = next((e for e in reversed(trainer.state.log_history) if "accuracy" in e), {})
    result = finish(trainer, tokenizer, run, base_model=model_path(run), pairs=len(trainer.train_dataset),
                    margins="margin" in trainer.train_dataset.column_names,
                    last_accuracy=last.get("accuracy"), last_margin=last.get("margin"))
    result["reward_model"] = result["model"]
    if options.pass_model_through:
        result["model"] = run.model
    return result
