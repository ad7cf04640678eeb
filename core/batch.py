"""Scoring a JSONL file of completions: resumable, one output row per input row, never a dropped row.

Contract: an input row has ``prompt`` (text or messages), ``completion`` (text or messages), an
optional ``domain``, and any reference columns the rewards read by name. The output row is the input
row plus ``rewards`` (id -> value or null), ``reward`` (the weighted total), ``errors`` (id ->
message) and, where rewards gave any, ``reward_details`` (id -> details).

Output line *k* answers input row *k* (blank input lines are not rows), so an interrupted run
resumes by counting complete output lines; a side file ``<output>.state.json`` guards against
resuming with a different input or recipe.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, TextIO

from .engine import ScoringEngine
from .types import Sample, stable_hash


class ResumeMismatchError(RuntimeError):
    """The output file was started from another input or recipe."""


@dataclass
class InputRow:
    line: int  # 1-based line number in the input file
    row: dict[str, Any] | None
    problem: str | None = None  # why the line is not a usable row
    sample: Sample | None = None  # the row as a Sample, for usable rows


@dataclass
class ScoreReport:
    rows: int = 0
    resumed_from: int = 0
    bad_rows: list[tuple[int, str]] = field(default_factory=list)
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)


def read_rows(path: Path, *, default_domain: str | None = None) -> Iterator[InputRow]:
    """Input rows with their line numbers; malformed lines come back with a ``problem``."""
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for number, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                yield InputRow(number, None, f"line {number} is not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(row, dict):
                yield InputRow(number, None, f"line {number} is a JSON {type(row).__name__}, not an object")
                continue
            if "completion" not in row:
                yield InputRow(number, row, f"line {number} has no 'completion' column (columns: {', '.join(row) or 'none'})")
                continue
            if default_domain is not None and row.get("domain") is None:
                row["domain"] = default_domain
            yield InputRow(number, row, sample=Sample.from_row(row))


def count_rows(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())


def _complete_lines(path: Path) -> int:
    """Count complete JSON lines in an output file, cutting off a torn last line."""
    if not path.exists():
        return 0
    good_bytes, count = 0, 0
    with path.open("rb") as fh:
        for line in fh:
            if not line.endswith(b"\n"):
                break
            try:
                json.loads(line)
            except ValueError:
                break
            good_bytes += len(line)
            count += 1
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
    out: dict[str, Any] = dict(item.row) if item.row is not None else {"_line": item.line}
    out.update({"rewards": {}, "reward": None, "errors": {"input": item.problem}})
    return out


def _scored_row(row: dict[str, Any], result: Any) -> dict[str, Any]:
    out = dict(row)
    out["rewards"] = {k: s.value for k, s in result.scores.items()}
    out["reward"] = result.total
    out["errors"] = result.errors
    details = {k: dict(s.details) for k, s in result.scores.items() if s.details}
    if details:
        out["reward_details"] = details
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
    progress: bool = True,
    log: TextIO = sys.stderr,
) -> ScoreReport:
    """Score every row of ``input_path`` into ``output_path``; see the module docstring."""
    input_path, output_path = Path(input_path), Path(output_path)
    if not input_path.is_file():
        raise FileNotFoundError(f"input file {input_path} does not exist")
    state_path = output_path.with_name(output_path.name + ".state.json")
    state = {"input": str(input_path.resolve()), "fingerprint": _fingerprint(input_path),
             "identity": stable_hash(identity)}
    done = 0
    if resume and output_path.exists():
        if state_path.exists():
            previous = json.loads(state_path.read_text())
            if previous.get("fingerprint") != state["fingerprint"] or previous.get("identity") != state["identity"]:
                raise ResumeMismatchError(
                    f"{output_path} was started from a different input file or recipe; "
                    f"pass --overwrite to start again, or choose another --output"
                )
        done = _complete_lines(output_path)
    elif output_path.exists():
        output_path.unlink()
    output_path.parent.mkdir(parents=True, exist_ok=True)
    state_path.write_text(json.dumps(state))

    report = ScoreReport(resumed_from=done)
    total = count_rows(input_path)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, initial=min(done, total), unit="row", desc="scoring", file=log, dynamic_ncols=True)
    if done:
        print(f"resuming: {done} of {total} rows already scored in {output_path}", file=log)

    with output_path.open("a", encoding="utf-8") as out:
        pending: list[InputRow] = []
        last_group: str | None = None
        for index, item in enumerate(read_rows(input_path, default_domain=default_domain)):
            if index < done:
                continue
            if item.problem is not None:
                report.bad_rows.append((item.line, item.problem))
                print(f"warning: {input_path}: {item.problem}; it is kept in the output with the error", file=log)
            group = item.sample.group_key if item.sample is not None else None
            # Keep a group's rows in one batch so group-aware rewards see the whole group.
            if len(pending) >= batch_size and group != last_group:
                _flush(engine, pending, out, report, bar)
                pending = []
            pending.append(item)
            last_group = group
        if pending:
            _flush(engine, pending, out, report, bar)
    if bar is not None:
        bar.close()
    report.stats = engine.stats_dict()
    return report


def _flush(engine: ScoringEngine, items: list[InputRow], out: TextIO, report: ScoreReport, bar: Any) -> None:
    good = [it.sample for it in items if it.sample is not None]
    results = iter(engine.score(good)) if good else iter(())
    lines = []
    for item in items:
        if item.sample is None:
            row = _bad_row(item)
        else:
            result = next(results)
            row = _scored_row(item.row, result)
        lines.append(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    out.write("".join(lines))
    out.flush()
    os.fsync(out.fileno())
    report.rows += len(items)
    if bar is not None:
        bar.update(len(items))
