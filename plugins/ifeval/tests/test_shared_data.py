"""The real data: every IFEval row is checkable, and Tulu 3's math rows are left alone."""

from __future__ import annotations

import json
from collections import Counter

from rewardkit import RewardKit, Sample
from rewardkit.testing import shared_data_dir
from rewardkit_ifeval import INSTRUCTIONS, evaluate
from rewardkit_ifeval.samples import IGNORES, follow_response


def _ifeval_rows() -> list[dict]:
    with (shared_data_dir() / "ifeval" / "input_data.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_every_ifeval_row_has_checkers_that_accept_its_kwargs() -> None:
    rows = _ifeval_rows()
    assert len(rows) == 541
    seen: Counter[str] = Counter()
    for row in rows:
        for iid, kwargs in zip(row["instruction_id_list"], row["kwargs"], strict=True):
            assert iid in INSTRUCTIONS, f"row {row['key']}: no checker for {iid}"
            INSTRUCTIONS[iid].bind(kwargs)  # raises on a missing, unknown or mistyped argument
            seen[iid] += 1
        # and the whole row evaluates in both modes
        for mode in ("strict", "loose"):
            v = evaluate(IGNORES, row["instruction_id_list"], row["kwargs"], mode)  # type: ignore[arg-type]
            assert len(v.followed) == len(row["instruction_id_list"])
    assert set(seen) == set(INSTRUCTIONS)  # the data uses all 25 types


def test_the_prompt_itself_rarely_follows_its_instructions() -> None:
    # A sanity check on the checkers against real prompts: echoing the request back is not
    # following it (prompts mention commas, lack titles, are short...).
    rows = _ifeval_rows()
    fractions = [evaluate(r["prompt"], r["instruction_id_list"], r["kwargs"]).fraction for r in rows]
    assert sum(fractions) / len(fractions) < 0.5


def test_built_responses_follow_each_instruction_type() -> None:
    # Responses built from the instructions (samples.py) must pass the checkers for every
    # instruction type; the only misses allowed are rows whose instructions contradict each other
    # (e.g. "repeat this request, which has commas, word for word" plus "use no commas").
    rows = _ifeval_rows()
    missed: Counter[str] = Counter()
    for row in rows:
        response = follow_response(row["instruction_id_list"], row["kwargs"], seed=row["key"])
        v = evaluate(response, row["instruction_id_list"], row["kwargs"])
        missed.update(iid for iid, ok in zip(v.ids, v.followed) if not ok)
    assert sum(missed.values()) <= 10, missed


def test_tulu3_sample_math_rows_are_not_applicable() -> None:
    kit = RewardKit()
    r = kit.registry.reward("ifeval.tulu3")
    with (shared_data_dir() / "tulu3_rlvr" / "sample.jsonl").open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    samples = [
        Sample.from_row({**row, "prompt": row["messages"], "completion": "The answer is 8."}) for row in rows
    ]
    scores = r.score(samples, {})
    assert len(scores) == 100
    assert all(s.value is None and s.ok for s in scores)
