"""Running a recipe's stages in order, in a resumable run directory (see :mod:`rewardkit.run`).

Stage types come from the registry (built-ins and plugins register them the same way, see
:mod:`rewardkit.stage`). Each stage starts from the previous stage's output model unless it names
its own. ``type: rounds`` stages are unrolled into their rounds first, each round's data the next
slice of rows, so that a rerun resumes inside the right round.

The ``score`` stage lives here (no torch); trainer stages live in ``rewardkit.train`` and need
``pip install 'rewardkit[train]'``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from .recipe import ROUNDS, DataConfig, Recipe, RecipeError, RecipeProblem, StageConfig
from .run import RunDirectory, latest_checkpoint
from .stage import StageRun

if TYPE_CHECKING:  # pragma: no cover
    from .plugins import RewardKit


def plan(recipe: Recipe, kit: "RewardKit") -> list[StageConfig]:
    """The stages to run, ``rounds`` unrolled: in round r, an inner stage that reads data gets rows
    ``[skip + (r-1)*limit, skip + r*limit)`` of its data (fresh prompts every round)."""
    out: list[StageConfig] = []
    for stage in recipe.stages:
        if stage.type != ROUNDS:
            out.append(stage)
            continue
        for r in range(1, (stage.rounds or 1) + 1):
            for inner in stage.stages or []:
                update: dict[str, Any] = {"name": f"round{r}-{inner.name or inner.type}"}
                data = inner.data or recipe.data
                if kit.registry.stage(inner.type).needs_data and data is not None and data.limit is not None:
                    update["data"] = data.model_copy(update={"skip": data.skip + (r - 1) * data.limit})
                out.append(inner.model_copy(update=update))
    return out


@contextlib.contextmanager
def quiet_libraries(log_file: Path) -> Iterator[None]:
    """Library warnings (deprecations, advisories) go to ``run.log`` instead of the terminal."""
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", "%H:%M:%S"))
    py_warnings = logging.getLogger("py.warnings")
    saved = (py_warnings.handlers[:], py_warnings.propagate)
    py_warnings.handlers, py_warnings.propagate = [handler], False
    logging.captureWarnings(True)
    hf_logging = hf_datasets = None
    try:  # one progress bar per stage, the trainer's: not one per dataset map or weight file
        from transformers.utils import logging as hf_logging

        hf_logging.disable_default_handler()
        hf_logging.add_handler(handler)
        hf_logging.disable_progress_bar()
        from datasets.utils import logging as hf_datasets

        hf_datasets.disable_progress_bar()
    except ImportError:  # no training extra: nothing of these libraries to quiet
        pass
    try:
        yield
    finally:
        logging.captureWarnings(False)
        py_warnings.handlers, py_warnings.propagate = saved
        if hf_logging is not None:
            hf_logging.remove_handler(handler)
            hf_logging.enable_default_handler()
            hf_logging.enable_progress_bar()
        if hf_datasets is not None:
            hf_datasets.enable_progress_bar()
        handler.close()


def run_recipe(recipe: Recipe, output_dir: str | None = None, *, fresh: bool = False) -> list[dict[str, Any]]:
    """Run (or resume) every stage; returns each stage's result."""
    from .plugins import default_kit

    kit = default_kit()
    stages = plan(recipe, kit)
    if output_dir:
        out = Path(output_dir)
    else:  # the recipe's own output_dir is relative to the recipe file, like its data paths
        out = recipe.resolve_path(recipe.output_dir) if recipe.output_dir else Path("runs", recipe.name)
    plugins = {p["name"]: p["version"] for p in kit.registry.describe()["plugins"]}
    run = RunDirectory(out, recipe.model_dump(mode="json", exclude={"source", "profiles"}), plugins, recipe.seed,
                       fresh=fresh)
    model = recipe.model.name_or_path if recipe.model else None
    previous: list[dict[str, Any]] = []
    with quiet_libraries(out / "run.log"):
        for index, stage in enumerate(stages):
            label = stage.name or stage.type
            stage_dir = out / f"{index:02d}-{label}"
            done = run.done(index)
            if done is not None:
                run.log(f"[rewardkit] stage {index + 1}/{len(stages)}: {label}: done in an earlier run, kept")
                model = done.get("model") or model
                previous.append({"stage": label, **done})
                continue
            stage_type = kit.registry.stage(stage.type)
            stage_dir.mkdir(parents=True, exist_ok=True)
            resume = latest_checkpoint(stage_dir)
            run.log(f"[rewardkit] stage {index + 1}/{len(stages)}: {label}"
                    + (f" (resuming from {Path(resume).name})" if resume else ""))
            run.mark(index, label, stage.type, "running")
            context = StageRun(stage=stage, index=index, recipe=recipe, dir=stage_dir,
                               model=stage.model.name_or_path if stage.model else model, kit=kit,
                               resume_from=resume, previous=list(previous))
            kit.hook.rewardkit_stage_start(stage=stage, recipe=recipe)
            started = time.monotonic()
            try:
                result = dict(stage_type.runner()(context))
            except BaseException as exc:
                run.mark(index, label, stage.type, "failed", error=f"{type(exc).__name__}: {exc}"[:2000])
                raise
            result["seconds"] = round(time.monotonic() - started, 2)
            kit.hook.rewardkit_stage_end(stage=stage, recipe=recipe, result=result)
            run.mark(index, label, stage.type, "done", result=result)
            model = result.get("model") or model
            previous.append({"stage": label, **result})
            run.log(f"[rewardkit] stage {index + 1}/{len(stages)}: {label}: done in {result['seconds']} s")
    return run.results()


def run_score_stage(run: StageRun) -> dict[str, Any]:
    """Score the stage's (or the recipe's) data, which must already hold completions."""
    from .batch import score_file

    data: DataConfig = run.data()
    with run.engine() as engine:
        report = score_file(engine, run.recipe.resolve_path(data.path), run.dir / "scores.jsonl",
                            identity=run.recipe.scoring_identity(), default_domain=data.domain,
                            columns=data.columns or None, progress=False)
    return {"scores": str(run.dir / "scores.jsonl"), "rows": report.rows, "stats": report.stats}


def recipe_problem(run: StageRun, field: str, message: str, fix: str = "") -> RecipeError:
    """A RecipeError pointing at this stage's ``field`` (for checks only possible at run time)."""
    return RecipeError(str(run.recipe.source or run.recipe.name),
                       [RecipeProblem(f"stages[{run.index}].{field}" if field else f"stages[{run.index}]", message, fix)])
