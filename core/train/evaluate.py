"""The eval stage: held-out accuracy of the current model with the recipe's rewards.

A completion is *correct* when the metric reward (``options.metric``: a reward id, ``total`` for
the weighted sum; default the first reward) is at least ``options.threshold``. The stage reports

* greedy accuracy: one completion per prompt at temperature 0;
* with ``samples: n`` (n > 0), n sampled completions per prompt: ``pass@k`` for each k in
  ``options.pass_at`` (the unbiased estimator of Chen et al. 2021 from n samples) and ``mean@n``
  (the share of correct samples, averaged over prompts);
* each reward's mean value on the greedy and on the sampled completions.

It writes ``<stage>/eval.json`` and ``<stage>/eval.md`` (a table), plus the scored completions
(``greedy.jsonl``, ``samples.jsonl``). It does not change the model: put it before and after any
stage (``eval -> grpo -> eval``) and the next stage starts from the model it evaluated.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..stage import StageRun
from .sampling import SamplingOptions


@dataclass
class EvalOptions(SamplingOptions):
    """Greedy accuracy, and pass@k / mean@n from ``samples`` sampled completions per prompt."""

    #: Sampled completions per prompt for pass@k / mean@n (0: greedy only).
    samples: int = 0
    #: Also score one greedy completion per prompt.
    greedy: bool = True
    #: The k of pass@k (a number or a list, each at most ``samples``); default: 1 and ``samples``.
    pass_at: list[int] = field(default_factory=list)
    #: The reward whose value decides correctness (its id; ``total``: the weighted total). Default: the first.
    metric: str | None = None
    #: A completion is correct when the metric's value is at least this.
    threshold: float = 1.0

    def check(self) -> None:
        """Value rules (``rewardkit validate`` calls this): ValueError saying what to change."""
        if not self.greedy and self.samples < 1:
            raise ValueError("nothing to evaluate: greedy is false and samples is 0; set greedy: true or samples: N")
        wanted = [self.pass_at] if isinstance(self.pass_at, int) else list(self.pass_at)
        bad = [k for k in wanted if not 1 <= k <= self.samples]
        if bad:
            raise ValueError(f"pass@{bad[0]} needs 1 <= k <= samples ({self.samples}); raise samples or lower pass_at")
        if self.samples:
            super().check()


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimate from ``n`` samples of which ``c`` are correct: ``1 - C(n-c, k) / C(n, k)``."""
    if not 0 < k <= n:
        raise ValueError(f"pass@{k} needs 1 <= k <= n (n = {n})")
    if n - c < k:
        return 1.0
    # The ratio of binomials as a product: exact enough and no huge integers.
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def run_eval_stage(run: StageRun) -> dict[str, Any]:
    from ..stages import recipe_problem
    from .common import load_tokenizer, model_path
    from .sampling import load_rows, read_jsonl, sample_to_file, score_rows, write_jsonl

    options: EvalOptions = run.options()
    if not options.greedy and options.samples < 1:
        raise recipe_problem(run, "options", "nothing to evaluate: greedy is false and samples is 0",
                             "set greedy: true or samples: N")
    wanted = [options.pass_at] if isinstance(options.pass_at, int) else list(options.pass_at)
    pass_at = sorted(set(wanted or ([1, options.samples] if options.samples else [])))
    bad = [k for k in pass_at if not 1 <= k <= options.samples]
    if bad:
        raise recipe_problem(run, "options.pass_at", f"pass@{bad[0]} needs 1 <= k <= samples ({options.samples})",
                             "raise samples or lower pass_at")
    rows = load_rows(run)
    model, tokenizer = model_path(run), load_tokenizer(run)
    report: dict[str, Any] = {"model": model, "data": run.data().path, "prompts": len(rows),
                              "threshold": options.threshold}
    with run.engine() as engine:
        metric = options.metric or engine.ids[0]
        if metric != "total" and metric not in engine.ids:
            raise recipe_problem(run, "options.metric", f"no reward with id {metric!r} in this recipe",
                                 f"use one of: {', '.join([*engine.ids, 'total'])}")
        report["metric"] = metric
        runs = []
        if options.greedy:
            runs.append(("greedy", options.sampling(run, samples=1, temperature=0.0)))
        if options.samples:
            runs.append(("samples", options.sampling(run)))
        for name, sampling in runs:
            path = sample_to_file(run, rows, run.dir / f"{name}.jsonl", sampling, model_path=model, tokenizer=tokenizer)
            scored = score_rows(engine, read_jsonl(path))
            write_jsonl(path, scored)
            correct = _correct_per_prompt(scored, metric, options.threshold, sampling.samples)
            part: dict[str, Any] = {"rewards": _reward_means(scored, engine.ids)}
            if name == "greedy":
                part["accuracy"] = _mean([c[0] for c in correct])
            else:
                n = sampling.samples
                part["n"] = n
                part[f"mean@{n}"] = _mean([sum(c) / n for c in correct])
                for k in pass_at:
                    part[f"pass@{k}"] = _mean([pass_at_k(n, sum(c), k) for c in correct])
            report[name] = part
    (run.dir / "eval.json").write_text(json.dumps(report, indent=2))
    (run.dir / "eval.md").write_text(_table(report, run.label))
    result: dict[str, Any] = {"eval": str(run.dir / "eval.json"), "metric": metric, "prompts": len(rows)}
    if "greedy" in report:
        result["greedy_accuracy"] = report["greedy"]["accuracy"]
    for key, value in report.get("samples", {}).items():
        if "@" in key:
            result[key] = value
    return result


def _correct_per_prompt(rows: Sequence[dict[str, Any]], metric: str, threshold: float, k: int) -> list[list[bool]]:
    values = [row["reward"] if metric == "total" else row["rewards"].get(metric) for row in rows]
    flags = [v is not None and v >= threshold for v in values]  # not applicable / failed: not correct
    return [flags[i:i + k] for i in range(0, len(flags), k)]


def _reward_means(rows: Sequence[dict[str, Any]], ids: Sequence[str]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key in [*ids, "total"]:
        values = [row["reward"] if key == "total" else row["rewards"].get(key) for row in rows]
        out[key] = _mean([v for v in values if v is not None])
    return out


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _table(report: dict[str, Any], label: str) -> str:
    about = (f"model `{report['model']}`, data `{report['data']}`, {report['prompts']} prompts; "
             f"correct: `{report['metric']}` >= {report['threshold']}")
    lines = [f"# {label}: {Path(str(report['model'])).name}", "", about, "", "| accuracy | value |", "|---|---|"]
    if "greedy" in report:
        lines.append(f"| greedy | {_fmt(report['greedy']['accuracy'])} |")
    for key, value in report.get("samples", {}).items():
        if "@" in key:
            lines.append(f"| {key} | {_fmt(value)} |")
    columns = [name for name in ("greedy", "samples") if name in report]
    heads = ["greedy" if c == "greedy" else f"sampled (n={report['samples']['n']})" for c in columns]
    lines += ["", f"| mean reward | {' | '.join(heads)} |", "|---|" + "---|" * len(columns)]
    for key in report[columns[0]]["rewards"]:
        lines.append(f"| {key} | " + " | ".join(_fmt(report[c]["rewards"][key]) for c in columns) + " |")
    return "\n".join(lines) + "\n"
