"""code.unit_tests throughput on HumanEval's 164 canonical solutions, against a naive baseline.

The reward runs all of a sample's tests in one sandbox run (one runner process, one forked child
per assert). The baseline, measured in the same run on the same sandbox, is what a harness does
without a runner: one sandbox run (`python3 -c program + setup + assert`) per assert. Both give
partial credit per assert; the ratio is the speed-up from batching a sample's tests.

    .venv/bin/python benchmarks/bench_code.py [--backend auto] [--workers 2] [--limit 164]
"""

from __future__ import annotations

import argparse
import gzip
import json
import time

from rewardkit.testing import make_sample, shared_data_dir
from rewardkit_sandbox import RunRequest, available_backends, get_sandbox, resolve_backend

from rewardkit_code import split_python_tests, unit_tests


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
    started = time.perf_counter()
    scores = unit_tests.score(samples, params)
    ours = time.perf_counter() - started
    passed = sum(s.value == 1.0 for s in scores)
    n_tests = sum(s.details["total"] for s in scores)

    requests = []
    for r in rows:
        setup, tests = split_python_tests(r["test"], r["entry_point"])
        program = r["prompt"] + r["canonical_solution"]
        requests += [RunRequest(["python3", "-c", "\n".join([program, setup, t])]) for t in tests]
    with get_sandbox(backend, workers=args.workers) as sandbox:
        sandbox.run_many(requests[:4])
        started = time.perf_counter()
        results = sandbox.run_many(requests)
        naive = time.perf_counter() - started
    naive_passed = sum(r.exit_code == 0 for r in results)

    print(f"code.unit_tests : {len(rows)} samples, {n_tests} asserts, {passed} samples fully passed, "
          f"{ours:.2f} s = {1000 * ours / len(rows):.1f} ms/sample")
    print(f"naive per-assert: {len(requests)} sandbox runs, {naive_passed} passed, "
          f"{naive:.2f} s = {1000 * naive / len(rows):.1f} ms/sample")
    print(f"speed-up (naive / code.unit_tests): {naive / ours:.2f}x")


if __name__ == "__main__":
    main()
