"""Scoring a file of completions (or a dataset): resumable, one output row per input row, no dropped row.

Contract: an input row has ``prompt`` (text or messages), ``completion`` (text or messages), an
optional ``domain``, and any reference columns the rewards read by name (``columns`` maps these
names onto the file's own, as a recipe's ``data.columns`` does). The output row is the input row
plus ``rewards`` (id -> value or null), ``reward`` (the weighted total), ``errors`` (id ->
message; ``errors.input`` for a row that could not be read) and, where rewards gave any,
``reward_details`` (id -> details). Input formats: see :mod:`rewardkit.inputs`.

Output row *k* answers input row *k* (a blank or unreadable line is an error row, never skipped),
so an interrupted run resumes by counting complete output lines. Side files beside the output:

* ``<output>.state.json`` guards against resuming with a different input or recipe;
* ``<output>.groups.jsonl`` checkpoints the per-sample rewards' scores of a group that is not
  complete yet (group rewards need the whole group, and one group may be the whole file): after a
  kill, only the group rewards and at most one batch of per-sample work are computed again;
* ``<output>.rows.jsonl``, for a Parquet output only: the scored rows, converted to Parquet once
  every row is scored (then removed).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, TextIO

from . import inputs
from .engine import ScoringEngine
from .inputs import detect_format, read_table, write_parquet
from .types import Sample, Score, stable_hash

if TYPE_CHECKING:  # pragma: no cover
    from .recipe import Recipe


class ResumeMismatchError(RuntimeError):
    """The output file was started from another input or recipe."""


@dataclass
class InputRow:
    line: int  # 1-based line (JSONL, CSV) or row (JSON, Parquet) number in the input file
    row: dict[str, Any] | None
    problem: str | None = None  # why the row is not usable
    sample: Sample | None = None  # the row as a Sample, for usable rows
    index: int = 0  # 0-based position in the file: the output row that answers it
    unit: str = "line"
    #: Per-sample rewards' scores restored from a checkpoint (not computed again).
    known: dict[str, Score] | None = None


@dataclass
class RewardTally:
    """One reward over the whole output: rows it applied to (a value or an error), and errors."""

    applied: int = 0
    errors: int = 0
    example: str | None = None  # the first error, with where it happened


@dataclass
class ScoreReport:
    rows: int = 0  # rows written by this run
    resumed_from: int = 0
    total: int = 0  # rows in the output, resumed ones included
    input_errors: int = 0  # rows that could not be read, resumed ones included
    bad_rows: list[tuple[int, str]] = field(default_factory=list)  # this run's unreadable rows
    tallies: dict[str, RewardTally] = field(default_factory=dict)
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def failures(self, *, max_error_rate: float = 0.05, max_bad_rows: int = 0) -> list[str]:
        """Why this run counts as failed (empty: it succeeded). See ``rewardkit score --help``."""
        out = []
        if self.total == 0:
            out.append("the input has no rows")
        if self.input_errors > max_bad_rows:
            out.append(f"{self.input_errors} of {self.total} input rows could not be read (more than "
                       f"--max-bad-rows {max_bad_rows}); they are in the output with errors.input")
        for key, t in self.tallies.items():
            if t.applied and t.errors / t.applied > max_error_rate:
                out.append(f"reward {key!r} failed on {t.errors} of the {t.applied} rows it applied to "
                           f"({t.errors / t.applied:.1%} > --max-error-rate {max_error_rate:g}); "
                           f"first: {t.example}")
        return out

    def count(self, row: Mapping[str, Any], where: str) -> None:
        """Add one output row to the totals."""
        self.total += 1
        errors = row.get("errors") or {}
        if "input" in errors:
            self.input_errors += 1
        for key, value in (row.get("rewards") or {}).items():
            tally = self.tallies.setdefault(key, RewardTally())
            if errors.get(key) is not None:
                tally.applied, tally.errors = tally.applied + 1, tally.errors + 1
                tally.example = tally.example or f"{where}: {errors[key]}"
            elif value is not None:
                tally.applied += 1


def to_sample(row: dict[str, Any], where: str, *, columns: Mapping[str, str] | None = None,
              default_domain: str | None = None) -> tuple[Sample | None, str | None]:
    """A row as a Sample (``columns`` maps the contract's names to the row's), or why it is not one."""
    if columns:
        mapped = dict(row)
        for name, source in columns.items():
            if source in row:
                mapped[name] = row[source]
            elif name not in row:
                return None, (f"{where} has no column {source!r} (data.columns maps {name!r} to it; "
                              f"columns: {', '.join(row) or 'none'})")
        row = mapped
    if "completion" not in row:
        return None, (f"{where} has no 'completion' column (columns: {', '.join(row) or 'none'}); map one "
                      "with data.columns in the recipe or --column completion=NAME")
    if default_domain is not None and row.get("domain") is None:
        row = {**row, "domain": default_domain}
    return Sample.from_row(row), None


def read_rows(path: Path, *, default_domain: str | None = None, columns: Mapping[str, str] | None = None,
              fmt: str | None = None) -> Iterator[InputRow]:
    """Input rows in order; unreadable rows come back with a ``problem``."""
    path = Path(path)
    for index, raw in enumerate(read_table(path, detect_format(path, fmt))):
        item = InputRow(raw.number, raw.row, raw.problem, index=index, unit=raw.unit)
        if raw.problem is None and raw.row is not None:
            item.sample, item.problem = to_sample(raw.row, raw.where, columns=columns,
                                                  default_domain=default_domain)
        yield item


def count_rows(path: Path, fmt: str | None = None) -> int:
    return inputs.count_rows(Path(path), detect_format(Path(path), fmt))


def _complete_lines(path: Path, report: ScoreReport | None = None, *, limit: int | None = None) -> int:
    """Count complete JSON lines in an output file (adding them to ``report``); cut a torn last line
    and any line after the first ``limit``."""
    if not path.exists():
        return 0
    good_bytes, count = 0, 0
    with path.open("rb") as fh:
        for line in fh:
            if not line.endswith(b"\n") or count == limit:
                break
            try:
                row = json.loads(line)
            except ValueError:
                break
            good_bytes += len(line)
            count += 1
            if report is not None and isinstance(row, dict):
                report.count(row, f"output row {count}")
    if good_bytes != path.stat().st_size:
        with path.open("r+b") as fh:
            fh.truncate(good_bytes)
    return count


def _fingerprint(path: Path) -> dict[str, Any]:
    st = path.stat()
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    return {"size": st.st_size, "head": stable_hash(head.hex())}


def _bad_row(item: InputRow) -> dict[str, Any]:
    out: dict[str, Any] = dict(item.row) if item.row is not None else {f"_{item.unit}": item.line}
    out.update({"rewards": {}, "reward": None, "errors": {"input": item.problem}})
    return out


def _scored_row(row: dict[str, Any], scores: Mapping[str, Score], total: float | None) -> dict[str, Any]:
    out = dict(row)
    out["rewards"] = {k: s.value for k, s in scores.items()}
    out["reward"] = total
    out["errors"] = {k: s.error for k, s in scores.items() if s.error is not None}
    details = {k: dict(s.details) for k, s in scores.items() if s.details}
    if details:
        out["reward_details"] = details
    return out


def _score_from(data: Mapping[str, Any]) -> Score:
    return Score(data.get("value"), data.get("reason", ""), data.get("details", {}), data.get("error"),
                 bool(data.get("timed_out", False)))


class _Scorer:
    """Scores rows in two phases: per-sample rewards (which a checkpoint can keep), then the group
    rewards and those that read them (which need the whole group at once)."""

    def __init__(self, engine: ScoringEngine) -> None:
        self.engine = engine
        grouped = engine.group_dependent()
        self.plain = [k for k in engine.order if k not in grouped]
        self.grouped = [k for k in engine.order if k in grouped]
        routed = [s for s in engine.specs if s.domains is not None]
        self.routing = {s.key: (s.domains, {"routed": 0, "no_domain": 0, "seen": set()}) for s in routed}

    def per_sample(self, items: list[InputRow]) -> list[InputRow]:
        """Fill ``known`` with the per-sample rewards' scores where missing; the rows it computed."""
        todo = [it for it in items if it.sample is not None and it.known is None]
        if todo and self.plain:
            columns = self.engine.score_columns([it.sample for it in todo], self.plain)  # type: ignore[misc]
            for j, it in enumerate(todo):
                it.known = {k: columns[k][j] for k in self.plain}
        return todo

    def rows(self, items: list[InputRow]) -> list[dict[str, Any]]:
        """The output rows for ``items`` (whole groups)."""
        self.per_sample(items)
        good = [it for it in items if it.sample is not None]
        samples = [it.sample for it in good]
        known = {k: [it.known[k] for it in good] for k in self.plain}  # type: ignore[index]
        columns = dict(known)
        if good:
            columns.update(self.engine.score_columns(samples, self.grouped, known))  # type: ignore[arg-type]
        self._track_domains(samples)  # type: ignore[arg-type]
        out, j = [], 0
        for it in items:
            if it.sample is None:
                out.append(_bad_row(it))
                continue
            scores = {k: columns[k][j] for k in self.engine.ids}
            out.append(_scored_row(it.row or {}, scores, self.engine.total(scores)))
            j += 1
        return out

    def _track_domains(self, samples: list[Sample]) -> None:
        for domains, seen in self.routing.values():
            for s in samples:
                seen["seen"].add(s.domain)
                if s.domain is None:
                    seen["no_domain"] += 1
                elif s.domain in domains:
                    seen["routed"] += 1

    def domain_warnings(self) -> list[str]:
        """One line per domain-routed reward that rows without a domain (or no rows at all) missed."""
        out = []
        for key, (domains, seen) in self.routing.items():
            if not seen["seen"]:
                continue
            names = ", ".join(domains) or "none"
            example = domains[0] if domains else "..."
            fix = (f"fix: give the rows a `domain` column, or a default: `data: {{domain: {example}}}` in "
                   "the recipe (or --domain)")
            if seen["no_domain"]:
                got = "no rows" if not seen["routed"] else f"{seen['routed']} rows"
                out.append(f"warning: reward {key!r} (domains: {names}) got {got}: {seen['no_domain']} rows "
                           f"have no domain and score None for it\n  {fix}")
            elif not seen["routed"]:
                other = ", ".join(sorted(map(str, seen["seen"])))
                out.append(f"warning: reward {key!r} (domains: {names}) got no rows: the rows' domains are "
                           f"{other}\n  {fix}")
        return out


def _append_lines(fh: Any, rows: Iterable[Any]) -> None:
    fh.write("".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows))
    fh.flush()
    os.fsync(fh.fileno())


def _whole_groups(items: Iterable[InputRow], done: int) -> int:
    """``done``, or less so that the first ``done`` rows end with a whole group."""
    start, last = 0, None
    for item in items:
        group = item.sample.group_key if item.sample is not None else last
        if item.index == done:
            return start if group == last else done
        if group != last:
            start = item.index
        last = group
    return done


def _load_checkpoint(path: Path, done: int) -> dict[int, dict[str, Score]]:
    """Per-sample scores of rows after ``done`` that a killed run had computed (a torn line is cut)."""
    out: dict[int, dict[str, Score]] = {}
    if not path.exists():
        return out
    good = 0
    with path.open("rb") as fh:
        for line in fh:
            try:
                entry = json.loads(line) if line.endswith(b"\n") else None
            except ValueError:
                entry = None
            if not isinstance(entry, dict) or not isinstance(entry.get("index"), int):
                break
            good += len(line)
            if entry["index"] >= done:
                out[entry["index"]] = {k: _score_from(v) for k, v in entry["scores"].items()}
    with path.open("r+b") as fh:
        fh.truncate(good)
    return out


def score_file(
    engine: ScoringEngine,
    input_path: str | Path,
    output_path: str | Path,
    *,
    batch_size: int = 64,
    resume: bool = True,
    identity: Any = None,
    default_domain: str | None = None,
    columns: Mapping[str, str] | None = None,
    input_format: str | None = None,
    output_format: str | None = None,
    progress: bool = True,
    log: TextIO = sys.stderr,
) -> ScoreReport:
    """Score every row of ``input_path`` into ``output_path``; see the module docstring.

    Raises :class:`rewardkit.inputs.InputFormatError` for a file that cannot be read at all and
    :class:`ResumeMismatchError` when the output was started from another input or recipe.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    if not input_path.is_file():
        raise FileNotFoundError(f"input file {input_path} does not exist")
    fmt = detect_format(input_path, input_format)
    parquet = inputs.output_format(output_path, output_format) == "parquet"
    if parquet:
        inputs.require_pyarrow()  # now, not after scoring every row
    rows_path = output_path.with_name(output_path.name + ".rows.jsonl") if parquet else output_path
    state_path = output_path.with_name(output_path.name + ".state.json")
    groups_path = output_path.with_name(output_path.name + ".groups.jsonl")
    state: dict[str, Any] = {"input": str(input_path.resolve()), "fingerprint": _fingerprint(input_path),
                             "identity": stable_hash([identity, dict(columns or {}), default_domain])}
    report = ScoreReport()
    started = rows_path.exists() or (parquet and output_path.exists())
    if resume and started and state_path.exists():
        previous = json.loads(state_path.read_text())
        if any(previous.get(k) != state[k] for k in ("fingerprint", "identity")):
            raise ResumeMismatchError(
                f"{output_path} was started from a different input file or recipe; "
                f"pass --overwrite to start again, or choose another --output"
            )
        if parquet and output_path.exists() and not rows_path.exists() and previous.get("complete"):
            done = previous["complete"]
            report.resumed_from = report.total = done["total"]
            report.input_errors = done["input_errors"]
            report.tallies = {k: RewardTally(**v) for k, v in done["tallies"].items()}
            print(f"{output_path} is complete already ({report.total} rows); pass --overwrite to score again",
                  file=log)
            return report
    if not resume or not started:
        for path in (output_path, rows_path, groups_path):
            path.unlink(missing_ok=True)
    scorer = _Scorer(engine)
    done = _complete_lines(rows_path)
    if done and scorer.grouped:  # a kill during a write may have left part of a group: score it again
        rows = read_rows(input_path, default_domain=default_domain, columns=columns, fmt=fmt)
        done = _whole_groups(rows, done)
    done = _complete_lines(rows_path, report, limit=done)
    known = _load_checkpoint(groups_path, done)
    report.resumed_from = done
    output_path.parent.mkdir(parents=True, exist_ok=True)
    state_path.write_text(json.dumps(state))

    total = count_rows(input_path, fmt)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, initial=min(done, total), unit="row", desc="scoring", file=log,
                   dynamic_ncols=True)
    if done or known:
        print(f"resuming: {done} of {total} rows already scored in {output_path}"
              + (f" ({len(known)} more rows' per-sample scores checkpointed)" if known else ""), file=log)

    with rows_path.open("a", encoding="utf-8") as out, groups_path.open("a", encoding="utf-8") as ckpt:

        def flush(items: list[InputRow]) -> None:
            rows = scorer.rows(items)
            _append_lines(out, rows)
            for item, row in zip(items, rows):
                report.count(row, f"{item.unit} {item.line}")
            report.rows += len(items)
            if ckpt.tell():  # every checkpointed row is in the output now
                ckpt.truncate(0)
                ckpt.seek(0)
            if bar is not None:
                bar.update(len(items) - checkpointed)

        pending: list[InputRow] = []
        checkpointed = 0  # pending rows whose per-sample scores are on disk
        last_group: str | None = None
        for item in read_rows(input_path, default_domain=default_domain, columns=columns, fmt=fmt):
            if item.index < done:
                continue
            item.known = known.get(item.index)
            if item.problem is not None:
                report.bad_rows.append((item.line, item.problem))
                print(f"warning: {input_path}: {item.problem}; it is kept in the output with the error",
                      file=log)
            group = item.sample.group_key if item.sample is not None else last_group
            if len(pending) >= batch_size and (not scorer.grouped or group != last_group):
                flush(pending)
                pending, checkpointed = [], 0
            elif scorer.grouped and len(pending) - checkpointed >= batch_size:
                # A group longer than a batch: keep its per-sample work, so a kill loses one batch at most.
                computed = scorer.per_sample(pending[checkpointed:])
                _append_lines(ckpt, (
                    {"index": it.index, "scores": {k: s.to_dict() for k, s in it.known.items()}}
                    for it in computed if it.known))
                if bar is not None:
                    bar.update(len(pending) - checkpointed)
                checkpointed = len(pending)
            pending.append(item)
            last_group = group
        if pending:
            flush(pending)
    groups_path.unlink(missing_ok=True)
    if bar is not None:
        bar.close()
    report.stats = engine.stats_dict()
    report.warnings = scorer.domain_warnings()
    for warning in report.warnings:
        print(warning, file=log)
    if parquet:
        with rows_path.open("rb") as fh:
            write_parquet((json.loads(line) for line in fh), output_path)
        state["complete"] = {"total": report.total, "input_errors": report.input_errors,
                             "tallies": {k: vars(t) for k, t in report.tallies.items()}}
        state_path.write_text(json.dumps(state))
        rows_path.unlink()
    return report


def score_dataset(
    scorer: "ScoringEngine | Recipe | str | Path",
    dataset: Any,
    *,
    columns: Mapping[str, str] | None = None,
    domain: str | None = None,
    batch_size: int = 256,
) -> Any:
    """Score a ``datasets.Dataset`` (or a list of dicts) and return it with reward columns added.

    ``scorer`` is a :class:`ScoringEngine`, a :class:`~rewardkit.recipe.Recipe` or a recipe path
    (whose ``data.columns`` and ``data.domain`` are the defaults for ``columns`` and ``domain``;
    an engine built here is closed here). Added columns: ``reward`` (the weighted total, or None),
    ``rewards`` ({id: value or None}) and ``errors`` ({id: message or None}, with ``input`` for a
    row that has no completion); every id is present in every row so each column has one type.
    A list in gives a list of new dicts out; a Dataset gives a Dataset (its columns of those names
    are replaced). Whole groups (same prompt or ``group``) are scored together.
    """
    from .recipe import Recipe, load_recipe

    engine, owned = scorer, False
    if isinstance(scorer, (str, Path)):
        scorer = load_recipe(str(scorer))
    if isinstance(scorer, Recipe):
        data = scorer.data
        columns = data.columns if columns is None and data is not None else columns
        domain = data.domain if domain is None and data is not None else domain
        engine, owned = scorer.build_engine(), True
    assert isinstance(engine, ScoringEngine)
    rows = dataset if isinstance(dataset, list) else None
    items = []
    for index, row in enumerate(dataset):
        sample, problem = to_sample(dict(row), f"row {index + 1}", columns=columns, default_domain=domain)
        items.append(InputRow(index + 1, dict(row), problem, sample, index, "row"))
    ids = ["input", *engine.ids]
    totals, rewards, errors = [], [], []
    try:
        scoring = _Scorer(engine)
        for batch in _group_batches(items, batch_size):
            for out in scoring.rows(batch):
                totals.append(out["reward"])
                rewards.append({k: out["rewards"].get(k) for k in engine.ids})
                errors.append({k: out["errors"].get(k) for k in ids})
    finally:
        if owned:
            engine.close()
    if rows is not None:
        return [{**row, "reward": t, "rewards": r, "errors": e}
                for row, t, r, e in zip(rows, totals, rewards, errors)]
    clash = [c for c in ("reward", "rewards", "errors") if c in dataset.column_names]
    if clash:
        dataset = dataset.remove_columns(clash)
    return dataset.add_column("reward", totals).add_column("rewards", rewards).add_column("errors", errors)


def _group_batches(items: list[InputRow], batch_size: int) -> Iterator[list[InputRow]]:
    """Batches of about ``batch_size`` rows that never split a group."""
    batch: list[InputRow] = []
    last = None
    for item in items:
        group = item.sample.group_key if item.sample is not None else last
        if len(batch) >= batch_size and group != last:
            yield batch
            batch = []
        batch.append(item)
        last = group
    if batch:
        yield batch
