"""Real data: HumanEval canonical solutions pass their tests inside every backend.

All 164 on the forkserver (about a second); a spread of 16 tasks on every backend. (The full 164
on every backend is the rewardkit-code plugin's test and benchmarks/bench_sandbox.py.)
"""

from __future__ import annotations

import gzip
import json

import pytest

from rewardkit.testing import shared_data_dir
from rewardkit_sandbox import RunRequest


def _programs() -> list[str]:
    with gzip.open(shared_data_dir() / "humaneval" / "HumanEval.jsonl.gz", "rt") as fh:
        rows = [json.loads(line) for line in fh]
    assert len(rows) == 164
    return [f"{r['prompt']}{r['canonical_solution']}\n\n{r['test']}\n\ncheck({r['entry_point']})\n"
            for r in rows]


@pytest.fixture(scope="module")
def programs() -> list[str]:
    return _programs()


def test_all_164_canonical_solutions_pass_in_the_forkserver(forkserver_sandbox, programs):
    results = forkserver_sandbox.run_many([RunRequest(command=["python3", "-c", p]) for p in programs])
    failed = [(i, r.stderr[-300:]) for i, r in enumerate(results) if not r.ok]
    assert not failed
    assert sum(r.ok for r in results) == 164


def test_canonical_solutions_pass_on_every_backend(sandbox, programs):
    picked = programs[::11]  # 15 tasks spread over the set
    results = sandbox.run_many([RunRequest(command=["python3", "-c", p]) for p in picked])
    failed = [(i * 11, r.stderr[-300:]) for i, r in enumerate(results) if not r.ok]
    assert not failed


def test_a_broken_solution_fails(sandbox, programs):
    broken = programs[0].replace("return True", "return False", 1)
    assert broken != programs[0]
    res = sandbox.run(["python3", "-c", broken])
    assert res.exit_code == 1 and "AssertionError" in res.stderr
