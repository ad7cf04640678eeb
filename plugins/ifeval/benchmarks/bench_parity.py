"""Parity benchmark: how often ``ifeval.instructions`` agrees with IFEval's reference implementation.

    .venv/bin/python plugins/ifeval/benchmarks/bench_parity.py [--responses FILE ...] [--splitter punkt pysbd]

Each response file is JSONL with ``prompt`` and ``response`` fields (the format of the response
files published with IFEval, e.g. ``input_response_data_gpt4_20231107_145030.jsonl``; evaluation
outputs that carry the same two fields work too). Prompts are matched to the 541 rows of
``../shared/data/ifeval/input_data.jsonl``; rows whose prompt is not there are counted and skipped.
Without ``--responses`` it scores the built responses of ``rewardkit_ifeval.samples`` (follows,
chatty, ignores for every prompt), plus every ``*.jsonl`` in ``../shared/data/ifeval/responses/``
if that folder exists.

Both this plugin and the reference (google-research's code as if-verifiable ships it, run offline
by ``rewardkit_ifeval.reference``) judge every response in strict and loose mode; printed per file
and splitter: instruction-level and prompt-level agreement, then each instruction id that
disagrees, with a count and the start of one response.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rewardkit.testing import shared_data_dir
from rewardkit_ifeval.reference import parity
from rewardkit_ifeval.samples import rows as built_rows
from rewardkit_ifeval.text import SENTENCE_SPLITTERS


def load_responses(path: Path, by_prompt: dict[str, dict[str, Any]]) -> tuple[list[tuple[dict, str]], int]:
    items, unmatched = [], 0
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            record = json.loads(line)
            row = by_prompt.get(record.get("prompt", ""))
            if row is None:
                unmatched += 1
                continue
            items.append((row, record.get("response") or ""))
    return items, unmatched


def report(name: str, items: list[tuple[dict, str]], splitters: list[str]) -> None:
    for splitter in splitters:
        start = time.perf_counter()
        result = parity(items, sentence_splitter=splitter)
        elapsed = time.perf_counter() - start
        print(f"{name} [{splitter}] {len(items)} responses in {elapsed:.1f} s: {result.summary()}")
        kinds = Counter((d.mode, d.instruction_id) for d in result.disagreements)
        examples = {(d.mode, d.instruction_id): d for d in result.disagreements}
        for (mode, iid), n in sorted(kinds.items()):
            d = examples[(mode, iid)]
            text = d.response[:90].replace("\n", "\\n")
            print(
                f"    {mode:<6} {iid}: {n}x, e.g. key {d.key} ours={d.ours} ref={d.reference} "
                f"{d.kwargs} {text!r}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=Path, nargs="*", default=None)
    parser.add_argument("--splitter", nargs="*", default=list(SENTENCE_SPLITTERS), choices=SENTENCE_SPLITTERS)
    args = parser.parse_args()
    data_dir = shared_data_dir() / "ifeval"
    with (data_dir / "input_data.jsonl").open(encoding="utf-8") as f:
        data = [json.loads(line) for line in f]
    by_prompt = {row["prompt"]: row for row in data}
    files = args.responses
    if files is None:
        items = [(by_prompt[r["prompt"]], r["completion"]) for r in built_rows(data)]
        report("built responses (samples.py)", items, args.splitter)
        extra = data_dir / "responses"
        files = sorted(extra.glob("*.jsonl")) if extra.is_dir() else []
    for path in files:
        items, unmatched = load_responses(path, by_prompt)
        note = f" ({unmatched} prompts not in input_data.jsonl, skipped)" if unmatched else ""
        report(path.name + note, items, args.splitter)


if __name__ == "__main__":
    main()
