"""`rewardkit score` and rewardkit.score_dataset: input and output formats, unreadable rows, exit codes,
--param, data.columns, domain-routing warnings, and resuming inside one big group after a kill."""

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rewardkit import RewardSpec, ScoringEngine
from rewardkit.batch import score_file

TESTS = Path(__file__).resolve().parent
ROWS = [{"prompt": f"{a}+{a}?", "response": str(a + a if a % 2 else a), "gold": str(a + a), "row_id": a}
        for a in range(1, 6)]  # odd rows right, even rows wrong


def env(**extra):
    return {**os.environ, "PYTHONPATH": str(TESTS) + os.pathsep + os.environ.get("PYTHONPATH", ""), **extra}


def score(*args, **extra_env):
    command = [sys.executable, "-m", "rewardkit.cli", "score", "--quiet", *args]
    return subprocess.run(command, env=env(**extra_env), capture_output=True, text=True, timeout=120,
                          check=False)


def contract_rows():
    return [{"prompt": r["prompt"], "completion": r["response"], "answer": r["gold"], "row_id": r["row_id"]}
            for r in ROWS]


def write_inputs(tmp_path):
    rows = contract_rows()
    paths = {"jsonl": tmp_path / "in.jsonl", "json": tmp_path / "in.json", "parquet": tmp_path / "in.parquet",
             "json_data": tmp_path / "data.json", "csv": tmp_path / "in.csv"}
    paths["jsonl"].write_text("".join(json.dumps(r) + "\n" for r in rows))
    paths["json"].write_text(json.dumps(rows))
    paths["json_data"].write_text(json.dumps({"data": rows}))
    pq.write_table(pa.Table.from_pylist(rows), paths["parquet"])
    with paths["csv"].open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return paths


def test_every_input_format_scores_the_same_and_parquet_output_round_trips(tmp_path):
    paths = write_inputs(tmp_path)
    expected = [1.0, 0.0, 1.0, 0.0, 1.0]
    with ScoringEngine([RewardSpec("exact_match")]) as engine:
        for name, path in paths.items():
            out = tmp_path / f"out-{name}.jsonl"
            report = score_file(engine, path, out, progress=False, log=io.StringIO())
            results = [json.loads(line) for line in out.read_text().splitlines()]
            assert [r["rewards"]["exact_match"] for r in results] == expected, name
            assert [str(r["row_id"]) for r in results] == ["1", "2", "3", "4", "5"], name  # CSV: strings
            assert report.total == 5 and report.input_errors == 0 and report.failures() == []
        out = tmp_path / "out.parquet"
        report = score_file(engine, paths["parquet"], out, progress=False, log=io.StringIO())
    table = pq.read_table(out).to_pylist()
    assert [r["reward"] for r in table] == expected and [r["row_id"] for r in table] == [1, 2, 3, 4, 5]
    assert table[0]["rewards"] == {"exact_match": 1.0} and json.loads(table[0]["errors"]) == {}
    assert sorted(p.name for p in tmp_path.glob("out.parquet*")) == ["out.parquet", "out.parquet.state.json"]
    with ScoringEngine([RewardSpec("exact_match")]) as engine:  # run again: nothing to do, same totals
        again = score_file(engine, paths["parquet"], out, progress=False, log=io.StringIO())
    assert (again.rows, again.total, again.tallies["exact_match"].applied) == (0, 5, 5)


def test_a_parquet_file_is_never_read_as_jsonl(tmp_path):
    rows = tmp_path / "rows.jsonl"  # a Parquet file under a JSONL name: the reported bug
    pq.write_table(pa.Table.from_pylist(contract_rows()), rows)
    out = tmp_path / "out.jsonl"
    refused = score("--reward", "exact_match", "--input", str(rows), "--output", str(out))
    assert refused.returncode == 2, refused.stderr
    assert "is a Parquet file (it starts with PAR1)" in refused.stderr
    assert "--format parquet" in refused.stderr
    done = score("--reward", "exact_match", "--input", str(rows), "--format", "parquet", "--output", str(out),
                 "--max-error-rate", "0")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["reward"] for line in out.read_text().splitlines()] == [1.0, 0.0, 1.0, 0.0, 1.0]


def test_blank_and_non_utf8_lines_are_error_rows_at_their_position(tmp_path):
    good = [json.dumps(r).encode() for r in contract_rows()]
    broken = b'{"prompt": "x", "completion": "caf\xff"}'
    inp = tmp_path / "in.jsonl"
    inp.write_bytes(b"\n".join([good[0], broken, b"   ", good[1], good[2]]) + b"\n")
    out, log = tmp_path / "out.jsonl", io.StringIO()
    with ScoringEngine([RewardSpec("exact_match")]) as engine:
        report = score_file(engine, inp, out, progress=False, log=log)
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(results) == 5  # output row k answers input line k
    at = broken.index(b"\xff")
    assert results[1]["errors"]["input"] == (f"line 2 is not valid UTF-8 (byte 0xff at byte {at} of the "
                                             f"line, {len(good[0]) + 1 + at} of the file)")
    assert results[1]["_line"] == 2 and results[2] == {"_line": 3, "rewards": {}, "reward": None,
                                                        "errors": {"input": "line 3 is blank"}}
    assert [r["reward"] for r in results] == [1.0, None, None, 0.0, 1.0]
    assert report.bad_rows == [(2, results[1]["errors"]["input"]), (3, "line 3 is blank")]
    assert "line 2 is not valid UTF-8" in log.getvalue()
    assert report.failures() == [("2 of 5 input rows could not be read (more than --max-bad-rows 0); they "
                                  "are in the output with errors.input")]
    assert report.failures(max_bad_rows=2) == []


def test_exit_codes_say_why_the_run_failed(tmp_path):
    paths = write_inputs(tmp_path)
    out = tmp_path / "out.jsonl"
    broken = ("--reward", "python", "--param", "function=_score_io_rewards:always_fails",
              "--executor", "thread")
    failed = score(*broken, "--input", str(paths["jsonl"]), "--output", str(out))
    assert failed.returncode == 1, failed.stderr
    assert ("score failed: reward 'python' failed on 5 of the 5 rows it applied to (100.0% > "
            "--max-error-rate 0.05); first: line 1: RuntimeError: the verifier is broken") in failed.stderr
    assert len(out.read_text().splitlines()) == 5  # every row is in the output all the same
    tolerated = score(*broken, "--input", str(paths["jsonl"]), "--output", str(out), "--overwrite",
                      "--max-error-rate", "1")
    assert tolerated.returncode == 0, tolerated.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    nothing = score("--reward", "exact_match", "--input", str(empty), "--output", str(tmp_path / "e.jsonl"))
    assert nothing.returncode == 1
    assert "has no rows: nothing was scored" in nothing.stderr
    assert "score failed: the input has no rows" in nothing.stderr
    assert (tmp_path / "e.jsonl").read_text() == ""
    stray = score("--param", "pattern=x", "--reward", "regex_match", "--input", str(empty),
                  "--output", str(out))
    assert stray.returncode == 2 and "sets a parameter of the --reward before it" in stray.stderr


def test_params_belong_to_the_reward_before_them(tmp_path):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    row = {"prompt": "p", "completion": "The ANSWER is 4", "answer": "the answer is 4"}
    inp.write_text(json.dumps(row) + "\n")
    done = score("--reward", "regex_match", "--param", "pattern=answer is \\d", "--param", "ignore_case=true",
                 "--reward", "exact_match", "--param", "case_sensitive=false",
                 "--input", str(inp), "--output", str(out))
    assert done.returncode == 0, done.stderr
    row = json.loads(out.read_text())
    assert row["rewards"] == {"regex_match": 1.0, "exact_match": 1.0}  # both rewards' params, typed (YAML)
    wrong = score("--reward", "regex_match", "--param", "patern=x", "--input", str(inp), "--output", str(out))
    assert wrong.returncode == 2 and "'patern'" in wrong.stderr


def test_recipe_columns_and_domain_warnings(tmp_path):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in ROWS))  # `response` and `gold`, no `domain`
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("""\
name: columns
data: {path: in.jsonl, columns: {completion: response, answer: gold}}
rewards:
  - {name: exact_match}
  - {name: exact_match, id: math_only, domains: [math]}
""")
    done = score("--recipe", str(recipe), "--input", str(inp), "--output", str(out))
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["rewards"]["exact_match"] for r in results] == [1.0, 0.0, 1.0, 0.0, 1.0]
    assert "completion" not in results[0] and results[0]["response"] == "2"  # the input row, as it was
    assert ("warning: reward 'math_only' (domains: math) got no rows: 5 rows have no domain and score None "
            "for it\n  fix: give the rows a `domain` column, or a default: `data: {domain: math}` in the "
            "recipe (or --domain)") in done.stderr
    routed = score("--recipe", str(recipe), "--input", str(inp), "--output", str(out), "--overwrite",
                   "--domain", "math")
    assert routed.returncode == 0 and "warning" not in routed.stderr
    routed_values = [json.loads(line)["rewards"]["math_only"] for line in out.read_text().splitlines()]
    assert routed_values == [1.0, 0.0, 1.0, 0.0, 1.0]


def test_score_dataset_adds_reward_columns(tmp_path):
    import rewardkit
    from datasets import Dataset

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("name: ds\ndata: {path: x, columns: {completion: response, answer: gold}}\n"
                      "rewards: [{name: exact_match, weight: 2.0}]\n")
    scored = rewardkit.score_dataset(str(recipe), Dataset.from_list(ROWS))
    assert scored.column_names == ["prompt", "response", "gold", "row_id", "reward", "rewards", "errors"]
    assert scored["reward"] == [2.0, 0.0, 2.0, 0.0, 2.0]
    assert scored[0]["rewards"] == {"exact_match": 1.0}
    assert scored[0]["errors"] == {"input": None, "exact_match": None}
    with ScoringEngine([RewardSpec("exact_match")]) as engine:
        listed = rewardkit.score_dataset(engine, [ROWS[0], {"prompt": "no completion"}],
                                         columns={"completion": "response", "answer": "gold"})
    assert listed[0]["reward"] == 1.0 and listed[0]["row_id"] == 1
    assert listed[1]["reward"] is None
    assert listed[1]["errors"]["input"].startswith("row 2 has no column 'response'")


@pytest.fixture
def one_group(tmp_path):
    words = [["w"] * (i % 7) for i in range(40)]  # lengths (in words) vary; a third of the answers are wrong
    rows = [{"prompt": "the same prompt", "completion": " ".join(words[i] + ["ok" if i % 3 else "no"]),
             "answer": " ".join(words[i] + ["ok"]), "row_id": i} for i in range(40)]
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("""\
name: one-group
rewards:
  - name: python
    id: accuracy
    params: {function: "_score_io_rewards:answer_is_gold", delay: 0.03}
  - name: format.kimi_length           # a group reward: needs all 40 rows at once
    params: {correctness: accuracy}
scoring: {executor: thread, workers: 2}
""")
    return rows, inp, recipe


def test_a_kill_inside_one_big_group_loses_at_most_one_batch(tmp_path, one_group):
    rows, inp, recipe = one_group
    out, calls = tmp_path / "out.jsonl", tmp_path / "calls.txt"
    command = [sys.executable, "-m", "rewardkit.cli", "score", "--quiet", "--recipe", str(recipe), "--input",
               str(inp), "--output", str(out), "--batch-size", "8"]
    proc = subprocess.Popen(command, env=env(RK_CALLS_FILE=str(calls)), stderr=subprocess.PIPE)
    checkpoint = tmp_path / "out.jsonl.groups.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if checkpoint.exists() and checkpoint.read_bytes().count(b"\n") >= 16:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert out.read_text() == "", "the group is not complete: no output row yet"
    first_calls = calls.read_text().split()
    assert 16 <= len(first_calls) < len(rows)

    done = subprocess.run(command, env=env(RK_CALLS_FILE=str(calls)), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "per-sample scores checkpointed" in done.stderr
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["row_id"] for r in results] == list(range(len(rows)))  # every row once, in order
    all_calls = calls.read_text().split()
    assert sorted(set(all_calls), key=int) == [str(i) for i in range(len(rows))]
    assert len(all_calls) <= len(rows) + 8  # redone: at most the batch in flight when it was killed
    sys.path.insert(0, str(TESTS))  # the python reward imports its function in this process too
    from rewardkit.types import Sample

    with ScoringEngine([RewardSpec("python", id="accuracy",
                                   params={"function": "_score_io_rewards:answer_is_gold"}),
                        RewardSpec("format.kimi_length", params={"correctness": "accuracy"})]) as engine:
        expected = engine.score([Sample.from_row(r) for r in rows])
    assert [r["rewards"] for r in results] == [{k: s.value for k, s in e.scores.items()} for e in expected]
    assert {r["rewards"]["format.kimi_length"] for r in results} >= {0.5, -0.5}  # ranked in one group of 40
    assert not (tmp_path / "out.jsonl.groups.jsonl").exists()


def test_resume_never_splits_a_group_that_a_kill_tore(tmp_path):
    rows = [{"prompt": p, "completion": " ".join(["w"] * k + ["ok"]),
             "answer": " ".join(["w"] * (k % 3) + ["ok"])} for p in "AB" for k in range(6)]
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    specs = [RewardSpec("exact_match", id="acc"),
             RewardSpec("format.kimi_length", params={"correctness": "acc"})]
    with ScoringEngine(specs) as engine:
        score_file(engine, inp, out, batch_size=4, progress=False, log=io.StringIO())
        whole = out.read_text().splitlines(keepends=True)
        out.write_text("".join(whole[:8]) + whole[8][:20])  # group A, two rows of group B, a torn line
        log = io.StringIO()
        report = score_file(engine, inp, out, batch_size=4, progress=False, log=log)
    assert report.resumed_from == 6 and report.rows == 6 and report.total == 12
    assert out.read_text().splitlines(keepends=True) == whole  # group B's lengths ranked in one call again
    ranked = [json.loads(line)["rewards"]["format.kimi_length"] for line in whole[6:]]
    assert ranked == pytest.approx([0.5, 0.3, 0.1, -0.1, -0.3, -0.5])


def test_csv_rows_with_bad_bytes_or_extra_cells_are_error_rows(tmp_path):
    inp, out = tmp_path / "in.csv", tmp_path / "out.jsonl"
    inp.write_bytes(b"prompt,completion,answer\np,4,4\np,caf\xff,x\np,5,4,extra\np,5,4\n")
    with ScoringEngine([RewardSpec("exact_match")]) as engine:
        report = score_file(engine, inp, out, progress=False, log=io.StringIO())
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["reward"] for r in results] == [1.0, None, None, 0.0]
    assert [r["errors"].get("input") for r in results] == [
        None, "line 3 is not valid UTF-8 (column 'completion')",
        "line 4 has more cells than the header (3 columns)", None]
    assert report.input_errors == 2
