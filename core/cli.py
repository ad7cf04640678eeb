"""The ``rewardkit`` command: plugins, validate, score, run.

Exit codes: 0 success, 1 the job failed, 2 bad input (recipe, arguments, files) with a message
that names the fix and no traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from .version import __version__


class UsageError(Exception):
    """Bad input from the user: printed without a traceback, exit code 2."""


def _cmd_plugins(args: argparse.Namespace) -> int:
    from .plugins import default_kit

    described = default_kit().registry.describe()
    if args.json:
        print(json.dumps(described, indent=2))
        return 0
    for plugin in described["plugins"]:
        dist = f" ({plugin['distribution']} {plugin['version']})" if plugin["distribution"] else ""
        print(f"{plugin['name']}{dist}")
        if plugin.get("error"):
            print(f"  FAILED TO LOAD: {plugin['error']}")
        for r in plugin["rewards"]:
            params = ", ".join(f"{k}={v!r}" for k, v in r["params"].items())
            print(f"  {r['name']:<28} [{r['mode']}] {r['description']}")
            if params:
                print(f"  {'':<28} params: {params}")
        for stage in plugin.get("stages", []):
            args = f" (args: {stage['args']})" if stage["args"] else ""
            print(f"  stage {stage['name']:<22} {stage['description']}{args}")
        for kind in ("parsers", "sandbox_backends", "judge_backends"):
            if plugin.get(kind):
                print(f"  {kind.replace('_', ' ')}: {', '.join(plugin[kind])}")
    return 0


def _load(path: str, profile: str | None, overrides: Sequence[str] | None = None) -> Any:
    from .recipe import load_recipe

    return load_recipe(path, profile=profile, overrides=list(overrides or []))


def _cmd_validate(args: argparse.Namespace) -> int:
    recipe = _load(args.recipe, args.profile, args.set)
    from .preflight import unreachable_models

    stages = ", ".join(s.type for s in recipe.stages) or "none"
    rewards = ", ".join(f"{r.id or r.name} x{r.weight:g}" for r in recipe.rewards) or "none"
    print(f"{args.recipe}: ok ({recipe.name}; rewards: {rewards}; stages: {stages})")
    if recipe.stages:
        for problem in unreachable_models(recipe):
            print(f"warning: {problem.path}: {problem.message}; `rewardkit run` will stop here\n  fix: {problem.fix}",
                  file=sys.stderr)
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from .batch import ResumeMismatchError, score_file
    from .recipe import Recipe, RewardConfig

    if args.recipe:
        recipe = _load(args.recipe, args.profile)
    elif args.reward:
        recipe = Recipe(name="command-line", rewards=[RewardConfig(name=n) for n in args.reward])
        from .recipe import RecipeError, check_recipe

        problems = check_recipe(recipe)
        if problems:
            raise RecipeError("--reward", problems)
    else:
        raise UsageError("score needs --recipe RECIPE.yaml or at least one --reward NAME")
    if not recipe.rewards:
        raise UsageError(f"{args.recipe}: the recipe has no rewards: add a `rewards:` list")
    input_path = Path(args.input)
    if not input_path.is_file():
        raise UsageError(f"--input {args.input}: no such file")
    with recipe.build_engine(executor=args.executor, workers=args.workers, deadline=args.deadline) as engine:
        try:
            report = score_file(
                engine, input_path, Path(args.output), batch_size=args.batch_size,
                resume=not args.overwrite, identity=recipe.scoring_identity(),
                default_domain=recipe.data.domain if recipe.data else None, progress=not args.quiet,
            )
        except ResumeMismatchError as exc:
            raise UsageError(str(exc)) from None
    err = sys.stderr
    print(f"scored {report.rows} rows into {args.output}"
          + (f" (resumed after {report.resumed_from})" if report.resumed_from else ""), file=err)
    for key, st in report.stats.items():
        mean = "-" if st["mean"] is None else f"{st['mean']:.4f}"
        print(f"  {key:<28} mean {mean}  none {st['share_none']:.1%}  errors {st['errors']}  "
              f"timeouts {st['timeouts']}  latency {st['latency_mean_s'] * 1000:.1f} ms", file=err)
    if report.bad_rows:
        print(f"{len(report.bad_rows)} malformed input rows (kept in the output with errors.input): lines "
              + ", ".join(str(n) for n, _ in report.bad_rows[:20]) + (" ..." if len(report.bad_rows) > 20 else ""),
              file=err)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from .preflight import check_models_reachable
    from .run import RunDirectoryError
    from .stages import run_recipe

    recipe = _load(args.recipe, args.profile, args.set)
    if not recipe.stages:
        raise UsageError(f"{args.recipe}: the recipe has no `stages:`; add one (e.g. `- type: grpo`), "
                         "or use `rewardkit score` to only score")
    check_models_reachable(recipe)
    try:
        results = run_recipe(recipe, output_dir=args.output_dir, fresh=args.fresh)
    except RunDirectoryError as exc:
        raise UsageError(str(exc)) from None
    print(f"finished {len(results)} stage(s); results in {results[-1].get('model') if results else '-'}",
          file=sys.stderr)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from .server import serve

    serve(args.recipe, host=args.host, port=args.port, profile=args.profile, domain=args.domain,
          request_timeout=args.request_timeout, max_batch=args.max_batch, none_value=args.none_value,
          executor=args.executor, workers=args.workers, deadline=args.deadline)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rewardkit", description="Rewards as plugins for LLM post-training.")
    parser.add_argument("--version", action="version", version=f"rewardkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("plugins", help="list installed plugins, their rewards and versions")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_plugins)

    set_help = "override a recipe field, e.g. --set stages.0.args.learning_rate=1.0e-6 (repeatable)"
    p = sub.add_parser("validate", help="check a recipe against the schema and the installed plugins")
    p.add_argument("recipe")
    p.add_argument("--profile", help="apply a named profile from the recipe (e.g. cpu)")
    p.add_argument("--set", action="append", metavar="PATH=VALUE", help=set_help)
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("score", help="score a JSONL of completions with a recipe's rewards (resumable)")
    p.add_argument("--recipe", help="recipe whose rewards to use")
    p.add_argument("--reward", action="append", help="a reward by name (repeatable), instead of --recipe")
    p.add_argument("--input", required=True, help="JSONL: prompt, completion, [domain], reference columns")
    p.add_argument("--output", required=True, help="JSONL to write (resumed if it exists)")
    p.add_argument("--profile")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--executor", choices=["thread", "process", "ray"])
    p.add_argument("--workers", type=int)
    p.add_argument("--deadline", type=float, help="seconds per reward call")
    p.add_argument("--overwrite", action="store_true", help="start again instead of resuming")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_score)

    p = sub.add_parser("run", help="run a recipe's stages in order (rerun the same command to resume)")
    p.add_argument("recipe")
    p.add_argument("--profile", help="apply a named profile from the recipe (e.g. cpu)")
    p.add_argument("--set", action="append", metavar="PATH=VALUE", help=set_help)
    p.add_argument("--output-dir", help="the run directory (default: the recipe's output_dir)")
    p.add_argument("--fresh", action="store_true", help="empty the run directory and start over")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("serve", help="serve a recipe's rewards over HTTP (OpenRLHF's remote reward protocol)")
    p.add_argument("recipe")
    p.add_argument("--profile", help="apply a named profile from the recipe")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--domain", help="domain of rows whose label names none (default: the recipe's data.domain)")
    p.add_argument("--request-timeout", type=float, default=120.0, help="seconds a request may wait (then 504)")
    p.add_argument("--max-batch", type=int, default=1024, help="most rows scored in one engine call")
    p.add_argument("--none-value", type=float, default=0.0, help="reward of rows no reward applied to")
    p.add_argument("--executor", choices=["thread", "process", "ray"])
    p.add_argument("--workers", type=int)
    p.add_argument("--deadline", type=float, help="seconds per reward call (default: the recipe's)")
    p.set_defaults(func=_cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from .engine import EngineConfigError
    from .recipe import RecipeError
    from .registry import PluginConflictError, UnknownNameError
    from .reward import RewardParamsError

    args = build_parser().parse_args(argv)
    # Like `python -m`: modules in the working directory (a `python` reward's function) import.
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return int(args.func(args) or 0)
    except (RecipeError, UsageError, UnknownNameError, EngineConfigError, PluginConflictError,
            RewardParamsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
