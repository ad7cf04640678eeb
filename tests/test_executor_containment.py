"""A reward that ends its process (os._exit, SIGKILL, SystemExit) costs one row of `rewardkit score`, not
the run: score runs rewards in worker processes unless the recipe or --executor picks threads."""

import json
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_a_reward_that_kills_its_process_costs_one_row(tmp_path):
    texts = ["fine", "os._exit", "fine", "SIGKILL", "SystemExit", "fine"]
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text("".join(json.dumps({"prompt": f"p{i}", "completion": t, "row_id": i}) + "\n"
                           for i, t in enumerate(texts)))
    env = {**os.environ, "PYTHONPATH": str(TESTS) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = [sys.executable, "-m", "rewardkit.cli", "score", "--quiet", "--reward", "python", "--param",
               "function=_score_io_rewards:dies_on_request", "--workers", "2", "--input", str(inp),
               "--output", str(out)]  # no --executor: score's default
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["row_id"] for r in results] == list(range(len(texts)))  # the run finished; no row lost
    assert [r["reward"] for r in results] == [1.0, None, 1.0, None, None, 1.0]
    errors = [r["errors"].get("python") for r in results]
    assert errors[1].startswith("WorkerDied: the worker process died (exit code 3)")
    assert errors[3].startswith("WorkerDied: the worker process died (killed by a signal")
    assert errors[4].startswith("SystemExit: 4")
    # 3 of 6 rows failed: over the default --max-error-rate, so the run says so and exits 1.
    assert done.returncode == 1, done.stderr
    assert ("score failed: reward 'python' failed on 3 of the 6 rows it applied to (50.0% > "
            "--max-error-rate 0.05)") in done.stderr
    assert "first error: line 2: WorkerDied: the worker process died (exit code 3)" in done.stderr
