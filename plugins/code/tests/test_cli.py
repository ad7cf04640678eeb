"""`rewardkit score` with the code recipes, end to end (installed plugin, engine, sandbox)."""

import gzip
import json
import subprocess
import sys
from pathlib import Path

from rewardkit.testing import shared_data_dir

ROOT = Path(__file__).resolve().parents[3]


def score_with_the_recipe(src: Path, tmp_path: Path) -> Path:
    """`rewardkit score --recipe recipes/code_unit_tests.yaml` on ``src``; the output file."""
    out = tmp_path / "out.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "rewardkit.cli", "score", "--recipe", str(ROOT / "recipes" / "code_unit_tests.yaml"),
         "--input", str(src), "--output", str(out), "--quiet"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def test_score_humaneval_completions_with_the_recipe(tmp_path):
    with gzip.open(shared_data_dir() / "humaneval" / "HumanEval.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f][:6]
    rows[1]["canonical_solution"] = "    raise ValueError\n"
    rows[2]["canonical_solution"] = "```python\n" + rows[2]["prompt"] + rows[2]["canonical_solution"] + "```"
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"prompt": r["prompt"], "completion": r["canonical_solution"], "test": r["test"],
                                       "entry_point": r["entry_point"], "domain": "code"}) + "\n" for r in rows))
    out = score_with_the_recipe(src, tmp_path)
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(got) == 6
    assert [g["rewards"]["tests"] for g in got] == [1.0, 0.0, 1.0, 1.0, 1.0, 1.0], got[1]
    assert got[0]["reward_details"]["tests"]["passed"] == got[0]["reward_details"]["tests"]["total"] == 7
    assert got[1]["reward_details"]["tests"]["failures"][0]["error"] == "ValueError"
    assert [g["rewards"]["syntax"] for g in got] == [1.0] * 6


def test_score_exits_when_one_of_64_completions_sabotages_the_sandbox(tmp_path):
    with gzip.open(shared_data_dir() / "humaneval" / "HumanEval.jsonl.gz", "rt", encoding="utf-8") as f:
        row = json.loads(f.readline())
    sabotage = ("    import os, signal\n    for pid in os.listdir('/proc'):\n        if pid.isdigit() and int(pid) != os.getpid():\n"
                "            for sig in (signal.SIGSTOP, signal.SIGKILL):\n                try:\n"
                "                    os.kill(int(pid), sig)\n                except OSError:\n                    pass\n"
                "    os.kill(-1, signal.SIGKILL)\n    return None\n")
    completions = [row["canonical_solution"]] * 64
    completions[17] = sabotage
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"prompt": row["prompt"], "completion": c, "test": row["test"],
                                       "entry_point": row["entry_point"], "domain": "code"}) + "\n" for c in completions))
    out = score_with_the_recipe(src, tmp_path)
    got = [json.loads(line)["rewards"]["tests"] for line in out.read_text().splitlines()]
    assert got == [1.0] * 17 + [0.0] + [1.0] * 46
