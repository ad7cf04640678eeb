import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rewardkit.testing import shared_data_dir

TESTS = Path(__file__).resolve().parent


def gsm8k_rows(n):
    rows = []
    with open(shared_data_dir() / "gsm8k" / "test.jsonl") as fh:
        for i, line in enumerate(fh):
            if i == n:
                break
            item = json.loads(line)
            gold = item["answer"].split("####")[-1].strip()
            wrong = str(int(gold.replace(",", "")) + 1)
            rows.append({"prompt": item["question"], "completion": f"Step by step... The answer is {gold if i % 3 else wrong}",
                         "answer": item["answer"], "domain": "math", "row_id": i})
    return rows


def recipe(tmp_path, delay):
    path = tmp_path / "recipe.yaml"
    path.write_text(f"""\
name: gsm8k-score
rewards:
  - name: python
    id: final_number
    params: {{function: "_slow_rewards:slow_final_number", delay: {delay}}}
  - name: regex_match
    id: says_answer
    weight: 0.1
    params: {{pattern: "The answer is"}}
scoring: {{executor: thread, workers: 4}}
""")
    return path


def env():
    return {**os.environ, "PYTHONPATH": str(TESTS) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def command(recipe_path, inp, out, *extra):
    return [sys.executable, "-m", "rewardkit.cli", "score", "--recipe", str(recipe_path), "--input", str(inp),
            "--output", str(out), "--batch-size", "16", *extra]


def test_score_resumes_after_kill_and_keeps_every_row_once(tmp_path):
    rows = gsm8k_rows(400)
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rp = recipe(tmp_path, delay=0.02)
    proc = subprocess.Popen(command(rp, inp, out), env=env(), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill it half-way through, mid-write if we are unlucky
        if out.exists() and out.read_bytes().count(b"\n") >= len(rows) // 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = out.read_bytes().count(b"\n")
    assert 0 < partial < len(rows), "the first run should have been stopped half-way"
    with out.open("ab") as fh:  # a torn last line, as a kill during a write leaves it
        fh.write(b'{"prompt": "torn')

    done = subprocess.run(command(rp, inp, out), env=env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "resuming" in done.stderr
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["row_id"] for r in results] == list(range(len(rows)))  # every row exactly once, in order
    for r in results:
        assert r["rewards"]["final_number"] == (1.0 if r["row_id"] % 3 else 0.0)
        assert r["rewards"]["says_answer"] == 1.0
        assert r["reward"] == r["rewards"]["final_number"] + 0.1
        assert r["errors"] == {}
    assert "scoring" in done.stderr  # the progress bar


def test_malformed_lines_are_reported_by_number_and_kept(tmp_path):
    rows = gsm8k_rows(5)
    lines = [json.dumps(r) for r in rows]
    lines.insert(2, '{"prompt": "x", "completion": ')  # line 3: broken JSON
    lines.insert(4, "[1, 2]")  # line 5: not an object
    lines.insert(5, "")  # line 6: blank, kept as an error row so output row k still answers input line k
    lines.append(json.dumps({"prompt": "no completion"}))  # line 9
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text("\n".join(lines) + "\n")
    done = subprocess.run(command(recipe(tmp_path, 0.0), inp, out, "--quiet"), env=env(), capture_output=True, text=True)
    assert done.returncode == 1, done.stderr  # unreadable rows fail the run (--max-bad-rows 0)
    assert "score failed: 4 of 9 input rows could not be read" in done.stderr
    assert "line 3 is not valid JSON" in done.stderr and "line 5 is a JSON list" in done.stderr
    assert "line 9 has no 'completion'" in done.stderr
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(results) == 9  # 5 good + 4 bad; none dropped
    assert results[5]["errors"]["input"] == "line 6 is blank" and results[5]["_line"] == 6
    assert results[2]["errors"]["input"].startswith("line 3") and results[2]["_line"] == 3
    assert results[8]["prompt"] == "no completion" and results[8]["reward"] is None
    assert [r.get("row_id") for r in results if "row_id" in r] == [0, 1, 2, 3, 4]


def test_resume_refuses_a_different_input(tmp_path):
    rows = gsm8k_rows(4)
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rp = recipe(tmp_path, 0.0)
    assert subprocess.run(command(rp, inp, out, "--quiet"), env=env()).returncode == 0
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows[:2]))
    again = subprocess.run(command(rp, inp, out, "--quiet"), env=env(), capture_output=True, text=True)
    assert again.returncode == 2 and "--overwrite" in again.stderr
    fresh = subprocess.run(command(rp, inp, out, "--quiet", "--overwrite"), env=env(), capture_output=True, text=True)
    assert fresh.returncode == 0 and len(out.read_text().splitlines()) == 2


def test_groups_stay_together_across_batches(tmp_path):
    """A group reward sees its whole group even when the batch size cuts through it."""
    import io

    sys.path.insert(0, str(TESTS))
    import _engine_rewards as er

    from rewardkit import RewardKit, RewardSpec, ScoringEngine
    from rewardkit.batch import score_file

    rows = [{"prompt": f"q{g}", "completion": "x" * (k + 1), "group": g} for g in range(3) for k in range(5)]
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    kit = RewardKit([er.Plugin()], entry_points=False)
    with ScoringEngine([RewardSpec("t.length", id="len"), RewardSpec("t.group_rank", params={"base": "len"})], kit=kit) as engine:
        report = score_file(engine, inp, out, batch_size=2, progress=False, log=io.StringIO())
    assert report.rows == 15
    results = [json.loads(line) for line in out.read_text().splitlines()]
    # centred within each 5-row group: lengths 1..5 -> -2..2, which needs the whole group in one call
    assert [r["rewards"]["t.group_rank"] for r in results] == [-2.0, -1.0, 0.0, 1.0, 2.0] * 3
    assert all(r["reward_details"]["t.group_rank"] == {"group_size": 5} for r in results)
