"""The remote sandbox service against the same backend used locally, in the same run.

The 164 HumanEval canonical solutions (+ tests) as sandbox jobs: jobs/s through one local service
process on loopback (``python -m rewardkit_sandbox.service``, HTTP + JSON per job) and through the
local backend directly, with 1 worker (the per-job cost of the protocol) and with N workers
(throughput). Ratio = remote jobs/s / local jobs/s; every job must pass on both.

    .venv/bin/python sandboxes/benchmarks/bench_remote.py [--backend bubblewrap] [--workers 2] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from bench_sandbox import LIMITS, humaneval_programs
from rewardkit_sandbox import RunRequest, Sandbox, get_sandbox


def rate(sb: Sandbox, requests: list[RunRequest], parallel: bool) -> tuple[float, int]:
    """(jobs/s, jobs passed) for one pass over ``requests``."""
    sb.run(["python3", "-c", "pass"])  # warm: helpers started, connections open
    start = time.perf_counter()
    results = sb.run_many(requests) if parallel else [sb.run_request(r) for r in requests]
    return len(requests) / (time.perf_counter() - start), sum(r.ok for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="bubblewrap")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2, help="best of N")
    args = parser.parse_args()
    if args.backend == "bubblewrap":
        from rewardkit_sandbox.provision import ensure_bubblewrap

        ensure_bubblewrap()
    requests = [RunRequest(command=["python3", "-c", p], limits=LIMITS) for p in humaneval_programs()]
    token = secrets.token_hex(16)
    print(f"{len(requests)} HumanEval solutions; backend {args.backend}; {os.cpu_count()} CPUs")
    print(f"{'workers':>7} {'local jobs/s':>13} {'remote jobs/s':>14} {'ratio':>6} {'passed (l/r)':>13}")
    for workers in sorted({1, args.workers}):
        server = subprocess.Popen(
            [sys.executable, "-m", "rewardkit_sandbox.service", "--port", "0", "--workers", str(workers),
             "--backend", args.backend], env={**os.environ, "REWARDKIT_SANDBOX_TOKEN": token},
            stdout=subprocess.PIPE, text=True)
        try:
            url = json.loads(server.stdout.readline())["listening"]  # type: ignore[union-attr]
            with get_sandbox(args.backend, workers=workers, limits=LIMITS) as local:
                lrate, lpass = max(rate(local, requests, workers > 1) for _ in range(args.repeat))
            with get_sandbox("remote", workers=workers, urls=url, token=token) as remote:
                rrate, rpass = max(rate(remote, requests, workers > 1) for _ in range(args.repeat))
        finally:
            server.terminate()
            server.wait(30)
        print(f"{workers:>7} {lrate:13.1f} {rrate:14.1f} {rrate / lrate:6.2f} {lpass:>6}/{rpass:<6}")


if __name__ == "__main__":
    main()
