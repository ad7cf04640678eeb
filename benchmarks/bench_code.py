"""code.unit_tests throughput on HumanEval's 164 canonical solutions, against baselines measured in
the same run.

The reward runs a sample's tests in one sandbox run: a trusted judge process holds the tests and
calls the program, which runs in a fresh untrusted process per test, across a socket with plain
data (see rewardkit_code/runner.py). Baselines:

* bare: one unsandboxed ``python3 -c program + setup + assert`` subprocess per test (the goal:
  the reward within 1.5x of it);
* sandboxed per test: the same, one sandbox run each (what a harness without a runner does);
* one process per sample: program and all its asserts in one sandboxed ``python3`` (no partial
  credit, no isolation between program and tests): the floor, and what the split costs.

    .venv/bin/python benchmarks/bench_code.py [--backend auto] [--workers 2] [--limit 164]
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from rewardkit.testing import make_sample, shared_data_dir
from rewardkit_sandbox import RunRequest, available_backends, get_sandbox, resolve_backend
from rewardkit_sandbox.launcher import sandbox_python

from rewardkit_code import split_python_tests, unit_tests


def _timed(fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=164)
    args = parser.parse_args()
    backend = resolve_backend(args.backend)
    with gzip.open(shared_data_dir() / "humaneval" / "HumanEval.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f][: args.limit]
    print(f"backends here: {available_backends()}; using {backend!r} with {args.workers} workers")

    samples = [make_sample(r["canonical_solution"], r["prompt"], test=r["test"], entry_point=r["entry_point"])
               for r in rows]
    params = {"backend": backend, "workers": args.workers}
    unit_tests.score(samples[:4], params)  # start the shared sandbox outside the timing
    scores, ours = _timed(lambda: unit_tests.score(samples, params))
    passed = sum(s.value == 1.0 for s in scores)
    n_tests = sum(s.details["total"] for s in scores)

    per_test, per_sample = [], []
    for r in rows:
        setup, tests = split_python_tests(r["test"], r["entry_point"])
        program = r["prompt"] + r["canonical_solution"]
        per_test += ["\n".join([program, setup, t]) for t in tests]
        per_sample.append("\n".join([program, setup, *tests]))

    python = sandbox_python() or "python3"  # the interpreter the sandbox runs (no pyenv shim in between)

    def bare(code: str) -> int:
        return subprocess.run([python, "-c", code], capture_output=True).returncode

    with ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(bare, per_test[:4]))
        bare_codes, bare_s = _timed(lambda: list(pool.map(bare, per_test)))
    with get_sandbox(backend, workers=args.workers) as sandbox:
        sandbox.run_many([RunRequest(["python3", "-c", c]) for c in per_test[:4]])
        naive, naive_s = _timed(lambda: sandbox.run_many([RunRequest(["python3", "-c", c]) for c in per_test]))
        whole, whole_s = _timed(lambda: sandbox.run_many([RunRequest(["python3", "-c", c]) for c in per_sample]))

    n = len(rows)
    print(f"{'':34s} {'runs':>6s} {'passed':>8s} {'seconds':>8s} {'ms/sample':>10s}")
    print(f"{'code.unit_tests (' + backend + ')':34s} {n:6d} {passed:5d}/{n:<3d}{ours:8.2f} {1000 * ours / n:10.1f}"
          f"   {n_tests} tests, judge + fresh program process per test")
    for label, runs, ok, secs in (("bare python3 -c per test", len(per_test), sum(c == 0 for c in bare_codes), bare_s),
                                  ("sandboxed python3 -c per test", len(per_test), sum(r.exit_code == 0 for r in naive), naive_s),
                                  ("one sandboxed process per sample", n, sum(r.exit_code == 0 for r in whole), whole_s)):
        print(f"{label:34s} {runs:6d} {ok:5d}/{runs:<4d}{secs:7.2f} {1000 * secs / n:10.1f}")
    print(f"code.unit_tests / bare per test:              {ours / bare_s:.2f}x  (goal <= 1.5)")
    print(f"code.unit_tests / sandboxed per test:         {ours / naive_s:.2f}x")
    print(f"code.unit_tests / one process per sample:     {ours / whole_s:.2f}x  (the price of the judge/program split "
          f"and of a fresh process per test)")


if __name__ == "__main__":
    main()
