"""Engine overhead per sample against calling the same reward function directly.

Prints microseconds per sample for: the bare function, the engine with caching off (thread and
process executors, deadline on), and the engine re-scoring a cached batch, with ratios against
the bare call measured in the same run.

    .venv/bin/python benchmarks/bench_engine.py [--samples 4096]
"""

from __future__ import annotations

import argparse
import json
import re
import time

from rewardkit import RewardKit, RewardSpec, Sample, ScoringEngine, hookimpl, reward

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@reward("bench.last_number")
def last_number(sample: Sample) -> float:
    """A typical cheap rule-based reward: the last number equals the reference."""
    found = NUMBER.findall(sample.completion_text)
    return float(bool(found) and found[-1] == str(sample.reference))


class Plugin:
    __name__ = "bench"

    @hookimpl
    def rewardkit_register(self, registry):
        registry.add_reward(last_number)


def samples(n: int) -> list[Sample]:
    return [Sample(prompt=f"q{i}", completion=f"Work it out: {i} + {i} = {2 * i + (i % 3 == 0)}. The answer is {2 * i}",
                   reference=str(2 * i)) for i in range(n)]


def per_sample(fn, n: int, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=4096)
    args = parser.parse_args()
    batch = samples(args.samples)
    kit = RewardKit([Plugin()], entry_points=False)

    direct = per_sample(lambda: [last_number.fn(s) for s in batch], len(batch))
    rows = {"direct call": direct}
    for executor in ("thread", "process"):
        with ScoringEngine([RewardSpec("bench.last_number")], kit=kit, executor=executor, workers=2,
                           cache_size=0, deadline=10) as engine:
            engine.score(batch[:64])  # start the workers
            rows[f"engine, {executor} executor, no cache"] = per_sample(lambda: engine.score(batch), len(batch))
    with ScoringEngine([RewardSpec("bench.last_number")], kit=kit, executor="thread", workers=2) as engine:
        engine.score(batch)
        rows["engine, cached re-score"] = per_sample(lambda: engine.score(batch), len(batch))

    print(f"{'path':<36} {'us/sample':>10} {'x direct':>9}")
    for name, us in rows.items():
        print(f"{name:<36} {us:>10.1f} {us / direct:>9.1f}")
    print(json.dumps({"samples": args.samples, "us_per_sample": rows,
                      "ratio_vs_direct": {k: v / direct for k, v in rows.items()}}))


if __name__ == "__main__":
    main()
