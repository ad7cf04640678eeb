"""Benchmark for rewardkit-ifeval: scoring throughput, loose-mode cost, and long-response latency.

    .venv/bin/python plugins/ifeval/benchmarks/bench_ifeval.py [--repeat 1]

1. Samples per second of ``ifeval.instructions`` (strict, then loose) over the 541 IFEval prompts x
   3 built responses (follows / chatty / ignores), called directly; loose/strict cost ratio.
2. Sentence counting on long responses: Punkt (the default splitter, on the whole text as the
   reference does), and our block-wise pysbd (``sentence_splitter: pysbd``) against pysbd on the
   whole text (the baseline), with the pysbd counts compared. Goal: same pysbd counts, and a growing
   speed-up as responses get longer (pysbd's time grows faster than the text does).
3. Worst-case latency of one strict and one loose check on pathological responses (100k+ chars).
"""

from __future__ import annotations

import argparse
import json
import time

from rewardkit import RewardKit
from rewardkit.testing import make_sample, shared_data_dir
from rewardkit_ifeval import follows
from rewardkit_ifeval.filler import ENGLISH
from rewardkit_ifeval.samples import rows
from rewardkit_ifeval.text import _segmenter, sentences


def throughput(repeat: int) -> None:
    with (shared_data_dir() / "ifeval" / "input_data.jsonl").open(encoding="utf-8") as f:
        data = [json.loads(line) for line in f]
    samples = [
        make_sample(
            r["completion"], r["prompt"], instruction_id_list=r["instruction_id_list"], kwargs=r["kwargs"]
        )
        for r in rows(data)
    ]
    reward = RewardKit().registry.reward("ifeval.instructions")
    reward.score(samples[:100], {})  # warm up: langdetect loads its profiles on first use
    rates = {}
    for mode in ("strict", "loose"):
        start = time.perf_counter()
        for _ in range(repeat):
            reward.score(samples, {"mode": mode})
        elapsed = time.perf_counter() - start
        rates[mode] = len(samples) * repeat / elapsed
        print(
            f"{mode:>6}: {len(samples) * repeat} samples in {elapsed:.2f} s = {rates[mode]:.0f} samples/s "
            f"({1000 / rates[mode]:.2f} ms each)"
        )
    print(f"loose costs {rates['strict'] / rates['loose']:.2f}x strict")


def segmentation() -> None:
    base = " ".join(ENGLISH)
    cases = [(f"prose x{k}", " ".join(base for _ in range(k))) for k in (4, 16, 100)]
    cases += [(f"lines x{k}", "\n".join(ENGLISH * k)) for k in (4, 64)]
    # degenerate model output, where pysbd's time grows with the square of the length
    cases += [("a-lines", "a\n" * 3000), ("dots", ". " * 20000)]
    for name, text in cases:
        tp = time.perf_counter()
        punkt = len(sentences(text, "punkt"))
        t0 = time.perf_counter()
        ours = len(sentences(text, "pysbd"))
        t1 = time.perf_counter()
        theirs = len([p for p in _segmenter().segment(text) if p.strip()])
        t2 = time.perf_counter()
        print(
            f"{name:<10} {len(text):>7} chars: punkt {1000 * (t0 - tp):6.1f} ms ({punkt} sentences); "
            f"pysbd blocks {1000 * (t1 - t0):7.1f} ms, "
            f"whole-text pysbd (baseline) "
            f"{1000 * (t2 - t1):7.1f} ms -> {((t2 - t1) / (t1 - t0)):.1f}x; counts {ours} vs {theirs}"
            + ("" if ours == theirs else "  MISMATCH")
        )


def worst_case() -> None:
    base = " ".join(ENGLISH)
    cases = {
        "prose 140k chars": base * 100,
        "50k lines": "a\n" * 50000,
        "abbreviations 100k": "e.g. Mr. Dr. U.S.A. " * 5000,
        "dots 100k": ". " * 50000,
        "run-on 250k": "word " * 50000,
    }
    checks = [
        ("length_constraints:number_sentences", {"num_sentences": 5, "relation": "at least"}),
        ("change_case:capital_word_frequency", {"capital_frequency": 5, "capital_relation": "at least"}),
        ("language:response_language", {"language": "en"}),
        ("detectable_format:number_highlighted_sections", {"num_highlights": 3}),
    ]
    for name, text in cases.items():
        cells = []
        for mode in ("strict", "loose"):
            worst = 0.0
            for iid, kwargs in checks:
                t0 = time.perf_counter()
                follows(text, iid, kwargs, mode)  # type: ignore[arg-type]
                worst = max(worst, time.perf_counter() - t0)
            cells.append(f"{mode} {worst * 1000:7.0f} ms")
        print(f"{name:<20} slowest check: " + ", ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print("== 1. throughput over IFEval x 3 built responses")
    throughput(args.repeat)
    print("== 2. sentence counting: punkt; block-wise vs whole-text pysbd")
    segmentation()
    print("== 3. worst-case latency of one check")
    worst_case()


if __name__ == "__main__":
    main()
