"""The issue's real-data checks on the public HumanEval and MBPP files (../shared/data)."""

import gzip
import json

import pytest
from rewardkit.testing import make_sample, shared_data_dir

from rewardkit_code import unit_tests

SPEED_ORDER = ("forkserver", "process", "bubblewrap", "docker")  # as in conftest.py


def humaneval_rows() -> list[dict]:
    with gzip.open(shared_data_dir() / "humaneval" / "HumanEval.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def humaneval_samples(body_of) -> list:
    return [make_sample(body_of(r), r["prompt"], test=r["test"], entry_point=r["entry_point"], task_id=r["task_id"])
            for r in humaneval_rows()]


def failing(samples, scores, want=1.0):
    return [(s.columns["task_id"], sc.value, sc.error or sc.details.get("failures") or sc.details.get("compile_error"))
            for s, sc in zip(samples, scores) if sc.value != want]


@pytest.mark.parametrize("backend", SPEED_ORDER)
def test_humaneval_canonical_solutions_all_pass(backend, require_backend):
    require_backend(backend)
    samples = humaneval_samples(lambda r: r["canonical_solution"])
    assert len(samples) == 164
    scores = unit_tests.score(samples, {"backend": backend})
    assert failing(samples, scores) == []
    assert {s.details["backend"] for s in scores} == {backend}
    # each assert is counted separately (HumanEval/0 has 7)
    assert scores[0].details["total"] == 7


def test_humaneval_broken_bodies_score_zero(fast_backend):
    raising = humaneval_samples(lambda r: "    raise NotImplementedError\n")
    nones = humaneval_samples(lambda r: "    return None\n")
    scores = unit_tests.score(raising + nones, {"backend": fast_backend, "mode": "binary"})
    assert failing(raising + nones, scores, want=0.0) == []
    # with partial credit `return None` never earns full marks; it passes only the few asserts that
    # expect None or a falsy value (e.g. HumanEval/12 `longest([]) == None`)
    fraction = unit_tests.score(nones, {"backend": fast_backend})
    assert all(s.value < 1.0 for s in fraction)
    assert sum(s.value > 0 for s in fraction) < 16


def test_mbpp_sanitized_reference_solutions_all_pass(fast_backend):
    rows = json.loads((shared_data_dir() / "mbpp" / "sanitized-mbpp.json").read_text(encoding="utf-8"))
    samples = [make_sample(r["code"], r["prompt"], test_list=r["test_list"], test_imports=r["test_imports"],
                           task_id=r["task_id"]) for r in rows]
    assert len(samples) == 427
    scores = unit_tests.score(samples, {"backend": fast_backend})
    assert failing(samples, scores) == []
    assert sum(s.details["total"] for s in scores) == sum(len(r["test_list"]) for r in rows)
