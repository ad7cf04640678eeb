"""`rewardkit score` over all 541 IFEval prompts with built responses, through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from rewardkit.testing import shared_data_dir
from rewardkit_ifeval import INSTRUCTIONS, evaluate

RECIPE = Path(__file__).resolve().parents[3] / "recipes" / "ifeval_strict.yaml"


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    tmp = tmp_path_factory.mktemp("ifeval")
    rows, out = tmp / "rows.jsonl", tmp / "scored.jsonl"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "rewardkit_ifeval.samples",
            "--input",
            str(shared_data_dir() / "ifeval" / "input_data.jsonl"),
            "--output",
            str(rows),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stderr
    score = subprocess.run(
        [
            sys.executable,
            "-m",
            "rewardkit.cli",
            "score",
            "--recipe",
            str(RECIPE),
            "--input",
            str(rows),
            "--output",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert score.returncode == 0, score.stderr
    assert "ifeval_strict" in score.stderr  # the per-reward summary
    with out.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_every_row_has_per_instruction_verdicts(scored: list[dict]) -> None:
    assert len(scored) == 541 * 3
    for row in scored:
        assert not row["errors"], row["errors"]
        for rid, mode in (("ifeval_strict", "strict"), ("ifeval_loose", "loose")):
            details = row["reward_details"][rid]
            assert details["mode"] == mode
            # one verdict per instruction, in order; a repeated id is suffixed "#2"
            assert [k.split("#")[0] for k in details["instructions"]] == row["instruction_id_list"]
            assert row["rewards"][rid] == pytest.approx(details["followed"] / details["total"])
        assert row["reward"] == pytest.approx(row["rewards"]["ifeval_strict"])  # loose has weight 0


def test_verdicts_match_the_library(scored: list[dict]) -> None:
    for row in scored[::7]:
        v = evaluate(row["completion"], row["instruction_id_list"], row["kwargs"], "loose")
        assert row["reward_details"]["ifeval_loose"]["instructions"] == v.as_dict()


def test_scores_separate_the_variants(scored: list[dict]) -> None:
    means: dict[tuple[str, str], list[float]] = defaultdict(list)
    per_type: dict[str, list[bool]] = defaultdict(list)
    for row in scored:
        for rid in ("ifeval_strict", "ifeval_loose"):
            means[row["variant"], rid].append(row["rewards"][rid])
        if row["variant"] == "follows":
            for iid, ok in row["reward_details"]["ifeval_strict"]["instructions"].items():
                per_type[iid.split("#")[0]].append(ok)
    mean = {k: sum(v) / len(v) for k, v in means.items()}
    assert mean["follows", "ifeval_strict"] >= 0.98
    # a chatty first line and sign-off cost points in strict mode and none in loose mode
    assert mean["chatty", "ifeval_strict"] < mean["follows", "ifeval_strict"] - 0.1
    assert mean["chatty", "ifeval_loose"] >= 0.98
    assert mean["ignores", "ifeval_strict"] <= 0.3
    assert set(per_type) == set(INSTRUCTIONS)
    assert all(sum(v) / len(v) >= 0.9 for v in per_type.values()), {
        k: sum(v) / len(v) for k, v in per_type.items()
    }


def test_tulu3_mixture_through_the_cli(tmp_path: Path) -> None:
    # The real Tulu 3 RLVR sample (math rows) plus IF rows in its format: the IF rows are scored,
    # the math rows are not applicable (None, no error).
    with (shared_data_dir() / "tulu3_rlvr" / "sample.jsonl").open(encoding="utf-8") as f:
        rows = [{**json.loads(line), "completion": "The answer is 8."} for line in f]
    nulls = dict.fromkeys(["N", "quantifier", "end_phrase", "keyword_list", "word", "letter", "i"])
    if_rows = [
        ({"func_name": "validate_no_commas", **nulls}, "no commas at all here", True),
        ({"func_name": "validate_no_commas", **nulls}, "one, two", False),
        (
            {**nulls, "func_name": "validate_word_constraint", "N": 5, "quantifier": "at least"},
            "too short",
            False,
        ),
        (
            {**nulls, "func_name": "validate_end", "end_phrase": "Is there anything else?"},
            "Done. Is there anything else?",
            True,
        ),
    ]
    for truth, completion, _ in if_rows:
        rows.append(
            {
                "messages": [{"role": "user", "content": "..."}],
                "ground_truth": json.dumps(truth),
                "dataset": "ifeval",
                "completion": completion,
            }
        )
    src, out = tmp_path / "mix.jsonl", tmp_path / "out.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rewardkit.cli",
            "score",
            "--reward",
            "ifeval.tulu3",
            "--input",
            str(src),
            "--output",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    scored = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["rewards"]["ifeval.tulu3"] for r in scored[:100]] == [None] * 100
    assert all(not r["errors"] for r in scored)
    got = [r["rewards"]["ifeval.tulu3"] for r in scored[100:]]
    assert got == [1.0 if ok else 0.0 for _, _, ok in if_rows]
    assert scored[100]["reward_details"]["ifeval.tulu3"]["instructions"] == {"punctuation:no_comma": True}
