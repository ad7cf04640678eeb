"""Shared pieces of trainer stages: TRL configs from recipe args, CPU defaults, logs."""

from __future__ import annotations

import dataclasses
import difflib
import json
from pathlib import Path
from typing import Any

from ..recipe import Recipe, RecipeError, RecipeProblem, StageConfig


def cpu_defaults() -> dict[str, Any]:
    """On a machine with no GPU: run on the CPU in float32 (bf16 on CPU is far slower or fails)."""
    import torch

    if torch.cuda.is_available():
        return {}
    return {"use_cpu": True, "bf16": False, "fp16": False}


def build_config(config_cls: type, defaults: dict[str, Any], stage: StageConfig, recipe: Recipe) -> Any:
    """``config_cls(**defaults, **stage.args)``, with unknown fields reported like recipe errors."""
    fields = {f.name for f in dataclasses.fields(config_cls)}
    index = next(i for i, s in enumerate(recipe.stages) if s is stage)
    problems = []
    for key in stage.args:
        if key not in fields:
            hint = difflib.get_close_matches(key, fields, n=1)
            problems.append(RecipeProblem(
                f"stages[{index}].args.{key}", f"{config_cls.__name__} has no field {key!r}",
                f"did you mean {hint[0]!r}?" if hint else f"see the {config_cls.__name__} docs in TRL"))
    if problems:
        raise RecipeError(str(recipe.source or recipe.name), problems)
    return config_cls(**{**defaults, **stage.args})


def save_logs(trainer: Any, stage_dir: Path) -> list[dict[str, Any]]:
    logs = list(trainer.state.log_history)
    (stage_dir / "log_history.json").write_text(json.dumps(logs, indent=2, default=str))
    return logs
