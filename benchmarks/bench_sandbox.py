"""Sandbox backends on the 164 HumanEval canonical solutions, against a bare subprocess.

For each backend: wall time to run all 164 solutions+tests one after another (1 worker), as a ratio
to the baseline measured in the same run: a bare ``python3 -c PROGRAM`` subprocess per solution with
no isolation at all. Goals: process and bubblewrap <= 1.2x, forkserver < 1.0x, docker <= 3x
(``bubblewrap``/``docker``: a warm helper per slot inside the namespaces/container;
``bubblewrap-per-run``: a fresh bwrap per run; ``docker-exec``: one ``docker exec`` per run). Then
throughput (solutions/s) with 1, 2 and 4 parallel workers, and how it scales.

    .venv/bin/python benchmarks/bench_sandbox.py [--backends process,forkserver,bubblewrap,docker]
        [--repeat 3] [--workers 1,2,4] [--no-provision]

Every run's pass/fail is checked too: each backend must pass 164/164.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time

from rewardkit.testing import shared_data_dir
from rewardkit_sandbox import Limits, RunRequest, available_backends, get_sandbox
from rewardkit_sandbox.base import BASE_ENV

LIMITS = Limits(cpu_seconds=10, wall_seconds=30, memory_mb=1024)
GOALS = {"process": 1.2, "bubblewrap": 1.2, "bubblewrap-per-run": 1.2, "forkserver": 1.0, "docker": 3.0,
         "docker-exec": 3.0}


def humaneval_programs() -> list[str]:
    with gzip.open(shared_data_dir() / "humaneval" / "HumanEval.jsonl.gz", "rt") as fh:
        rows = [json.loads(line) for line in fh]
    return [f"{r['prompt']}{r['canonical_solution']}\n\n{r['test']}\n\ncheck({r['entry_point']})\n"
            for r in rows]


def bare_baseline(programs: list[str]) -> tuple[float, int]:
    """A plain subprocess per program: the same python3 the sandboxes use, no isolation, no limits."""
    python = shutil.which("python3", path=BASE_ENV["PATH"]) or "python3"
    passed = 0
    start = time.perf_counter()
    for program in programs:
        proc = subprocess.run([python, "-c", program], capture_output=True, env=dict(BASE_ENV), timeout=60)
        passed += proc.returncode == 0
    return time.perf_counter() - start, passed


def sandbox_time(backend: str, programs: list[str], workers: int) -> tuple[float, int]:
    name, _, mode = backend.partition("-")  # "docker-exec": the docker backend with mode="exec"...
    with get_sandbox(name, workers=workers, limits=LIMITS, **({"mode": mode} if mode else {})) as sb:
        sb.run(["python3", "-c", "pass"])  # warm-up: containers, servers and caches ready
        requests = [RunRequest(command=["python3", "-c", p]) for p in programs]
        start = time.perf_counter()
        if workers == 1:
            results = [sb.run_request(r) for r in requests]
        else:
            results = sb.run_many(requests)
        elapsed = time.perf_counter() - start
    return elapsed, sum(r.ok for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="process,forkserver,bubblewrap,bubblewrap-per-run,docker,docker-exec")
    parser.add_argument("--repeat", type=int, default=3, help="best of N for the sequential timings")
    parser.add_argument("--workers", default="1,2,4", help="worker counts for the throughput table")
    parser.add_argument("--no-provision", action="store_true", help="do not install/start bwrap or docker")
    args = parser.parse_args()

    if not args.no_provision:
        from rewardkit_sandbox.provision import ensure_bubblewrap, ensure_docker

        ensure_bubblewrap()
        ensure_docker()
    usable = available_backends()
    backends = [b for b in args.backends.split(",") if b]
    for b in backends:
        if usable.get(b.partition("-")[0], "unknown backend") is not None:
            print(f"skipping {b}: {usable.get(b.partition('-')[0], 'unknown backend')}")
    backends = [b for b in backends if usable.get(b.partition("-")[0], "x") is None]
    programs = humaneval_programs()
    print(f"{len(programs)} HumanEval canonical solutions; {os.cpu_count()} CPUs; python {sys.version.split()[0]}")

    base, base_passed = min(bare_baseline(programs) for _ in range(args.repeat))
    print(f"\n{'backend':<18} {'seconds':>8} {'ms/run':>7} {'ratio':>6} {'goal':>6} {'passed':>8}")
    print(f"{'bare':<18} {base:8.2f} {base / len(programs) * 1e3:7.1f} {1.0:6.2f} {'':>6} {base_passed:>4}/{len(programs)}")
    for backend in backends:
        elapsed, passed = min(sandbox_time(backend, programs, 1) for _ in range(args.repeat))
        ratio = elapsed / base
        goal = GOALS.get(backend)
        mark = "" if goal is None else ("ok" if ratio <= goal else "MISS")
        print(f"{backend:<18} {elapsed:8.2f} {elapsed / len(programs) * 1e3:7.1f} {ratio:6.2f} "
              f"{'<=' + str(goal) if goal else '':>6} {passed:>4}/{len(programs)} {mark}")

    counts = [int(w) for w in args.workers.split(",") if w]
    print(f"\nthroughput (solutions/s) by workers; scaling = throughput / throughput with {counts[0]} worker(s)")
    print(f"{'backend':<18} " + " ".join(f"{w:>3}w sol/s (x)" for w in counts))
    for backend in backends:
        cells = []
        first = None
        for w in counts:
            elapsed, passed = sandbox_time(backend, programs, w)
            rate = len(programs) / elapsed
            first = first or rate
            cells.append(f"{rate:9.1f} ({rate / first:3.1f})" + ("" if passed == len(programs) else f"!{passed}"))
        print(f"{backend:<18} " + " ".join(cells))


if __name__ == "__main__":
    main()
