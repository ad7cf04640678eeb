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


class _RewardAction(argparse.Action):
    """``--reward NAME``: one reward entry; the ``--param`` flags after it set its params."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, value: Any,
                 option_string: str | None = None) -> None:
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest) or []), {"name": value, "params": {}}])


class _KeyValueAction(argparse.Action):
    """``--param KEY=VALUE`` (for the ``--reward`` before it; VALUE is YAML) or ``--column NAME=SOURCE``."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, value: Any,
                 option_string: str | None = None) -> None:
        key, sep, raw = str(value).partition("=")
        if not sep or not key.strip():
            parser.error(f"{option_string} {value}: write {self.metavar}")
        if self.dest == "columns":
            namespace.columns = {**(namespace.columns or {}), key.strip(): raw}
            return
        rewards = getattr(namespace, "reward", None)
        if not rewards:
            parser.error(f"{option_string} {value}: a --param sets a parameter of the --reward before it; "
                         "put it after one (with --recipe, use --set rewards.0.params.KEY=VALUE)")
        import yaml

        try:
            rewards[-1]["params"][key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            parser.error(f"{option_string} {value}: the value is not valid YAML ({exc})")


def _score_recipe(args: argparse.Namespace) -> Any:
    from .recipe import Recipe, RecipeError, RewardConfig, check_recipe

    if args.recipe and args.reward:
        raise UsageError("score takes --recipe or --reward, not both: add the reward to the recipe's "
                         "`rewards:`")
    if args.recipe:
        recipe = _load(args.recipe, args.profile, args.set)
        if not recipe.rewards:
            raise UsageError(f"{args.recipe}: the recipe has no rewards: add a `rewards:` list")
        return recipe
    if not args.reward:
        raise UsageError("score needs --recipe RECIPE.yaml or at least one --reward NAME")
    if args.set:
        raise UsageError("--set changes a recipe field; without --recipe, use --param KEY=VALUE after a "
                         "--reward")
    recipe = Recipe(name="command-line", rewards=[RewardConfig(name=r["name"], params=r["params"])
                                                  for r in args.reward])
    problems = check_recipe(recipe)
    if problems:
        raise RecipeError("--reward", problems)
    return recipe


def _cmd_score(args: argparse.Namespace) -> int:
    from .batch import ResumeMismatchError, score_file
    from .inputs import InputFormatError

    recipe = _score_recipe(args)
    input_path = Path(args.input)
    if not input_path.is_file():
        raise UsageError(f"--input {args.input}: no such file")
    data = recipe.data
    columns = {**(data.columns if data else {}), **(args.columns or {})}
    domain = args.domain or (data.domain if data else None)
    # A reward that kills its process (os._exit, a segfault, SIGKILL) must cost one row, not the
    # run: unless the recipe or --executor picks one, score runs rewards in worker processes.
    executor = args.executor or (recipe.scoring.executor if "executor" in recipe.scoring.model_fields_set
                                 else "process")
    err = sys.stderr
    with recipe.build_engine(executor=executor, workers=args.workers, deadline=args.deadline) as engine:
        try:
            report = score_file(
                engine, input_path, Path(args.output), batch_size=args.batch_size,
                resume=not args.overwrite, identity=recipe.scoring_identity(), default_domain=domain,
                columns=columns, input_format=args.format, output_format=args.output_format,
                progress=not args.quiet, log=err,
            )
        except (ResumeMismatchError, InputFormatError) as exc:
            raise UsageError(str(exc)) from None
    print(f"scored {report.rows} rows into {args.output}"
          + (f" (resumed after {report.resumed_from})" if report.resumed_from else ""), file=err)
    for key, st in report.stats.items():
        mean = "-" if st["mean"] is None else f"{st['mean']:.4f}"
        print(f"  {key:<28} mean {mean}  none {st['share_none']:.1%}  errors {st['errors']}  "
              f"timeouts {st['timeouts']}  latency {st['latency_mean_s'] * 1000:.1f} ms", file=err)
        example = report.tallies.get(key)
        if example is not None and example.example:
            print(f"  {'':<28} first error: {example.example}", file=err)
    if report.bad_rows:
        numbers = ", ".join(str(n) for n, _ in report.bad_rows[:20]) + (" ..." * (len(report.bad_rows) > 20))
        print(f"{len(report.bad_rows)} unreadable input rows (kept in the output with errors.input): "
              f"{numbers}", file=err)
    if report.total == 0:
        print(f"warning: {args.input} has no rows: nothing was scored", file=err)
    failures = report.failures(max_error_rate=args.max_error_rate, max_bad_rows=args.max_bad_rows)
    for reason in failures:
        print(f"score failed: {reason}", file=err)
    return 1 if failures else 0


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
    model = next((r["model"] for r in reversed(results) if r.get("model")), None)
    print(f"finished {len(results)} stage(s)" + (f"; the last model: {model}" if model else ""), file=sys.stderr)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from .server import serve

    serve(args.recipe, host=args.host, port=args.port, profile=args.profile, domain=args.domain,
          request_timeout=args.request_timeout, max_batch=args.max_batch, none_value=args.none_value,
          executor=args.executor, workers=args.workers, deadline=args.deadline)
    return 0


def _cmd_new(args: argparse.Namespace) -> int:
    from .scaffold import ScaffoldError, new_plugin

    try:
        root = new_plugin(args.name, args.dir)
    except ScaffoldError as exc:
        raise UsageError(str(exc)) from None
    print(f"wrote {root}\nnext: pip install -e {root} && pytest {root}  (then `rewardkit plugins` lists it)")
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

    p = sub.add_parser(
        "score", help="score a file of completions (JSONL, JSON, Parquet, CSV) with rewards (resumable)",
        description="Exit codes: 0 scored; 1 the input had no rows, more unreadable rows than "
        "--max-bad-rows, or a reward failed on more than --max-error-rate of the rows it applied to "
        "(every row is in the output all the same); 2 bad arguments, recipe or input file.")
    p.add_argument("--recipe", help="recipe whose rewards (and data.columns, data.domain) to use")
    p.add_argument("--reward", action=_RewardAction, metavar="NAME",
                   help="a reward by name (repeatable), instead of --recipe")
    p.add_argument("--param", action=_KeyValueAction, metavar="KEY=VALUE", dest="param",
                   help="a parameter of the --reward before it (repeatable; VALUE is YAML: 3, true, [a, b])")
    p.add_argument("--set", action="append", metavar="PATH=VALUE", help="with --recipe: " + set_help)
    p.add_argument("--input", required=True, help="rows: prompt, completion, [domain], reference columns")
    p.add_argument("--format", choices=["jsonl", "json", "parquet", "csv"],
                   help="input format (default: from the extension)")
    p.add_argument("--output", required=True, help="JSONL or .parquet to write (resumed if it exists)")
    p.add_argument("--output-format", choices=["jsonl", "parquet"],
                   help="default: parquet for .parquet, else jsonl")
    p.add_argument("--column", action=_KeyValueAction, metavar="NAME=SOURCE", dest="columns",
                   help="read NAME from the file's column SOURCE, e.g. completion=response (over "
                   "data.columns)")
    p.add_argument("--domain", help="domain of rows that have none (default: the recipe's data.domain)")
    p.add_argument("--profile")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--executor", choices=["thread", "process", "ray"],
                   help="default: the recipe's scoring.executor if it sets one, else process (contains "
                   "crashes)")
    p.add_argument("--workers", type=int)
    p.add_argument("--deadline", type=float, help="seconds per reward call")
    p.add_argument("--max-error-rate", type=float, default=0.05, metavar="SHARE",
                   help="fail (exit 1) when a reward errs on more than this share of the rows it applies to "
                   "(default 0.05)")
    p.add_argument("--max-bad-rows", type=int, default=0, metavar="N",
                   help="fail (exit 1) when more than N input rows cannot be read (default 0)")
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

    p = sub.add_parser("new", help="scaffold a plugin distribution: `rewardkit new plugin NAME`")
    p.add_argument("kind", choices=["plugin"])
    p.add_argument("name", help="the plugin's name (a lowercase identifier; rewards are NAME.*)")
    p.add_argument("--dir", default=".", help="folder to write rewardkit-NAME/ into (default: here)")
    p.set_defaults(func=_cmd_new)
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
