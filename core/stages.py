"""Running a recipe's stages in order. Each stage reads the previous stage's output model.

The ``score`` stage lives here (no torch); trainer stages live in ``rewardkit.train`` and need
``pip install 'rewardkit[train]'``.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

from .recipe import Recipe, RecipeError, RecipeProblem, StageConfig

#: stage type -> "module:function" running it: fn(stage, recipe, context) -> StageResult dict.
STAGE_RUNNERS: dict[str, str] = {
    "score": "rewardkit.stages:run_score_stage",
    "grpo": "rewardkit.train.grpo:run_grpo_stage",
}


class StageContext:
    """What a stage needs beyond its config: where to write, which model to start from."""

    def __init__(self, recipe: Recipe, output_dir: Path) -> None:
        from .plugins import default_kit

        self.recipe = recipe
        self.output_dir = output_dir
        self.model: str | None = recipe.model.name_or_path if recipe.model else None
        self.kit = default_kit()

    def stage_dir(self, index: int, stage: StageConfig) -> Path:
        path = self.output_dir / f"{index:02d}-{stage.name or stage.type}"
        path.mkdir(parents=True, exist_ok=True)
        return path


def _runner(stage_type: str) -> Callable[..., dict[str, Any]]:
    module, _, attr = STAGE_RUNNERS[stage_type].partition(":")
    return getattr(importlib.import_module(module), attr)


def run_recipe(recipe: Recipe, output_dir: str | None = None) -> list[dict[str, Any]]:
    """Run every stage; returns each stage's result. Unavailable stage types fail before any runs."""
    missing = [(i, s) for i, s in enumerate(recipe.stages) if s.type not in STAGE_RUNNERS]
    if missing:
        file = str(recipe.source or recipe.name)
        raise RecipeError(file, [RecipeProblem(
            f"stages[{i}].type", f"stage type {s.type!r} is not available in rewardkit yet",
            f"available stage types: {', '.join(STAGE_RUNNERS)}") for i, s in missing])
    if output_dir:
        out = Path(output_dir)
    else:  # the recipe's own output_dir is relative to the recipe file, like its data paths
        out = recipe.resolve_path(recipe.output_dir) if recipe.output_dir else Path("runs", recipe.name)
    out.mkdir(parents=True, exist_ok=True)
    ctx = StageContext(recipe, out)
    results = []
    for index, stage in enumerate(recipe.stages):
        label = stage.name or stage.type
        print(f"[rewardkit] stage {index + 1}/{len(recipe.stages)}: {label}", file=sys.stderr)
        ctx.kit.hook.rewardkit_stage_start(stage=stage, recipe=recipe)
        started = time.monotonic()
        result = _runner(stage.type)(stage, recipe, ctx, ctx.stage_dir(index, stage))
        result["seconds"] = round(time.monotonic() - started, 2)
        ctx.kit.hook.rewardkit_stage_end(stage=stage, recipe=recipe, result=result)
        if result.get("model"):
            ctx.model = result["model"]
        results.append({"stage": label, **result})
        (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    return results


def run_score_stage(stage: StageConfig, recipe: Recipe, ctx: StageContext, stage_dir: Path) -> dict[str, Any]:
    """Score the stage's (or the recipe's) data, which must already hold completions."""
    from .batch import score_file

    data = stage.data or recipe.data
    if data is None:
        raise RecipeError(str(recipe.source), [RecipeProblem("data", "the score stage needs data",
                                                             "add `data: {path: completions.jsonl}`")])
    with recipe.build_engine(kit=ctx.kit) as engine:
        report = score_file(engine, recipe.resolve_path(data.path), stage_dir / "scores.jsonl",
                            identity=recipe.scoring_identity(), default_domain=data.domain)
    return {"scores": str(stage_dir / "scores.jsonl"), "rows": report.rows, "stats": report.stats}
