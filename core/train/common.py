"""What every trainer stage shares: its TRL config from the recipe, the model and tokenizer as the
recipe asks for them, resuming from checkpoints, metrics and the saved model.

A stage module imports torch, transformers and trl inside its functions only, so that its options
dataclass can be imported (for ``rewardkit validate``) without them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..recipe import RecipeError, RecipeProblem
from ..stage import StageRun, coerce_fields

#: Steps between checkpoints (what a killed stage resumes from) unless the recipe sets ``save_steps``.
DEFAULT_SAVE_STEPS = 50


def cpu_defaults() -> dict[str, Any]:
    """On a machine with no GPU: run on the CPU in float32 (bf16 on CPU is far slower or fails)."""
    import torch

    if torch.cuda.is_available():
        return {}
    # TRL turns gradient checkpointing on by default: on the CPU it only costs time
    return {"use_cpu": True, "bf16": False, "fp16": False, "gradient_checkpointing": False}


def trainer_defaults(run: StageRun) -> dict[str, Any]:
    """TRL config values every trainer stage starts from (the recipe's ``args`` override them)."""
    return {**cpu_defaults(), "output_dir": str(run.dir), "seed": run.recipe.seed, "logging_steps": 1,
            "report_to": "none", "save_strategy": "steps", "save_steps": DEFAULT_SAVE_STEPS,
            "save_total_limit": 1}


def build_config(config_cls: type, defaults: dict[str, Any], run: StageRun) -> Any:
    """``config_cls(**defaults, **stage.args)``; unknown fields and wrong types are reported like
    recipe errors (``rewardkit validate`` catches them first)."""
    import dataclasses
    import difflib

    fields = {f.name for f in dataclasses.fields(config_cls)}
    problems = []
    for key in run.stage.args:
        if key not in fields:
            hint = difflib.get_close_matches(key, fields, n=1)
            problems.append(RecipeProblem(
                f"stages[{run.index}].args.{key}", f"{config_cls.__name__} has no field {key!r}",
                f"did you mean {hint[0]!r}?" if hint else f"see the {config_cls.__name__} docs in TRL"))
    if problems:
        raise RecipeError(str(run.recipe.source or run.recipe.name), problems)
    try:
        args = coerce_fields(config_cls, run.stage.args)
    except ValueError as exc:
        raise RecipeError(str(run.recipe.source or run.recipe.name), [RecipeProblem(
            f"stages[{run.index}].args", f"{config_cls.__name__}.{exc}", "fix the value's type")]) from None
    return config_cls(**{**defaults, **args})


def model_path(run: StageRun) -> str:
    if run.model is None:
        raise RecipeError(str(run.recipe.source or run.recipe.name), [RecipeProblem(
            f"stages[{run.index}]", f"the {run.stage.type} stage needs a model", "add `model:` to the recipe")])
    return str(run.recipe.resolve_path(run.model)) if run.recipe.resolve_path(run.model).exists() else run.model


def load_tokenizer(run: StageRun, path: str | None = None) -> Any:
    """The tokenizer the recipe names (``model.tokenizer``), else the model's own."""
    from transformers import AutoTokenizer

    config = run.model_config()
    name = (config.tokenizer if config is not None and config.tokenizer else None) or path or model_path(run)
    tokenizer = AutoTokenizer.from_pretrained(str(run.recipe.resolve_path(name))
                                              if run.recipe.resolve_path(name).exists() else name)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def model_init_kwargs(run: StageRun) -> dict[str, Any]:
    """``from_pretrained`` keyword arguments for the recipe's ``model.dtype``."""
    config = run.model_config()
    dtype = config.dtype if config is not None else "auto"
    if dtype == "auto":
        return {}
    import torch

    return {"dtype": getattr(torch, dtype)}


def load_causal_lm(run: StageRun, path: str | None = None) -> Any:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path or model_path(run), **model_init_kwargs(run))


def train(trainer: Any, run: StageRun, *, rl: bool = False) -> None:
    """``trainer.train()``, resuming from the stage's last checkpoint, writing metrics as it goes."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from .metrics import MetricsCallback, StageProgress

    trainer.add_callback(MetricsCallback(run.dir, plot_rewards=rl))
    for noisy in (ProgressCallback, PrinterCallback):  # they print every logged dict to the terminal
        trainer.remove_callback(noisy)
    trainer.add_callback(StageProgress(run.label))
    trainer.train(resume_from_checkpoint=run.resume_from)


def finish(trainer: Any, tokenizer: Any, run: StageRun, **extra: Any) -> dict[str, Any]:
    """Save the final model (and tokenizer) to ``<stage>/model``; the stage's result."""
    out = run.dir / "model"
    trainer.save_model(str(out))
    if tokenizer is not None:
        tokenizer.save_pretrained(str(out))
    logs = save_logs(trainer, run.dir)
    result: dict[str, Any] = {"model": str(out), "steps": trainer.state.global_step}
    last = next((entry for entry in reversed(logs) if "loss" in entry), None)
    if last is not None:
        result["last_loss"] = last["loss"]
    result.update(extra)
    return result


def save_logs(trainer: Any, stage_dir: Path) -> list[dict[str, Any]]:
    logs = list(trainer.state.log_history)
    (stage_dir / "log_history.json").write_text(json.dumps(logs, indent=2, default=str))
    return logs
