"""Benchmark for rewardkit-math: GRPO-shaped throughput against plain math-verify, and worst-case latency.

    .venv/bin/python benchmarks/bench_math.py [--prompts 128] [--group 16] [--workers 0] [--timeout 5]
                                              [--style solution|boxed|minerva|answer_is|display|answer_tag|bold]

1. Checks per second on a GRPO-shaped batch (``--prompts`` x ``--group`` completions built from
   MATH-500 solutions whose final ``\\boxed{}`` holds the gold answer, an equivalent rewrite of it, or a
   wrong answer) with ``math.accuracy``, against calling math-verify's ``parse``/``verify`` directly per
   completion (gold parsed as ``$gold$``, the way that parses correctly). Prints the speed ratio and how
   many verdicts agree. Goal: >= 3x on 2 cores with identical verdicts. ``--style`` other than
   ``solution`` unboxes the solution and ends it in one of the six answer styles of
   ``plugins/math/tests/test_vs_math_verify.py`` instead (``display``: no cue at all, so every
   completion is read by math-verify's own extraction in the workers).
2. Latency of ``math.accuracy`` on pathological completions (power towers, huge factorials, a 1 MB
   completion, 10,000 nested braces...): p50 / p99 / max against the per-check deadline.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_math500() -> list[dict]:
    from rewardkit.testing import shared_data_dir

    with open(shared_data_dir() / "math500" / "test.jsonl") as f:
        return [json.loads(line) for line in f]


def _replace_last_box(solution: str, answer: str) -> str:
    from rewardkit_math.extract import _BOXED, _balanced_group

    matches = list(_BOXED.finditer(solution))
    for m in reversed(matches):
        i = m.end()
        if i < len(solution) and solution[i] == "{":
            end = _balanced_group(solution, i)
            if end is not None:
                return solution[: i + 1] + answer + solution[end - 1 :]
    return solution + f"\n\nThe final answer is $\\boxed{{{answer}}}$."


_PRE = "\n\nSimplifying, "
STYLES = {
    "boxed": _PRE + "the result is $\\boxed{%s}$.",
    "minerva": _PRE + "we are done.\nFinal Answer: The final answer is $%s$. I hope it is correct.",
    "answer_is": _PRE + "we get it. Therefore, the answer is $%s$.",
    "display": _PRE + "we obtain\n\\[ %s \\]",
    "answer_tag": _PRE + "done.\n<answer>\n$%s$\n</answer>",
    "bold": _PRE + "we are done.\n\n**Final answer:** $%s$",
}


def _unboxed(solution: str) -> str:
    """The solution with every ``\\boxed{X}`` written as plain ``X``."""
    from rewardkit_math.extract import _BOXED, _balanced_group

    out, pos = [], 0
    for m in _BOXED.finditer(solution):
        if m.start() < pos or m.end() >= len(solution) or solution[m.end()] != "{":
            continue
        end = _balanced_group(solution, m.end())
        if end is None:
            continue
        out += [solution[pos : m.start()], solution[m.end() + 1 : end - 1]]
        pos = end
    return "".join(out) + solution[pos:]


def complete(row: dict, answer: str, style: str) -> str:
    if style == "solution":
        return _replace_last_box(row["solution"], answer)
    return _unboxed(row["solution"]) + STYLES[style].replace("%s", answer)


def equivalent_forms(gold: str) -> list[str]:
    """Rewrites a model might produce for the same answer."""
    from rewardkit_math import to_number

    forms = [gold.replace("\\frac", "\\dfrac"), " ".join(gold.replace(",", ", ").split()) + " "]
    value = to_number(gold)
    if value is not None:
        if value.denominator == 1:
            forms += [f"{value.numerator}.0", f"x = {value.numerator}"]
        else:
            forms += [f"{value.numerator}/{value.denominator}"]
            if 10**6 % value.denominator == 0:
                forms.append(str(float(value)))
    return [f for f in forms if f.strip() and f.strip() != gold.strip()] or [gold]


def wrong_forms(gold: str, others: list[str], rng: random.Random) -> list[str]:
    from rewardkit_math import to_number

    value = to_number(gold)
    wrong = rng.sample(others, 3)
    if value is not None and value.denominator == 1:
        wrong += [str(value.numerator + 1), str(-value.numerator - 2)]
    return wrong


def grpo_batch(rows: list[dict], prompts: int, group: int, seed: int = 0,
               style: str = "solution") -> list[tuple[str, str]]:
    """(gold, completion) pairs: per prompt ``group`` completions, about 40% right (many identical),
    20% right in another form, 40% wrong, as a model mid-training produces."""
    rng = random.Random(seed)
    picked = rng.sample(rows, prompts)
    golds = [r["answer"] for r in rows]
    batch = []
    for row in picked:
        gold = row["answer"]
        others = [g for g in golds if g != gold]
        right, alt, wrong = [gold], equivalent_forms(gold), wrong_forms(gold, others, rng)
        for k in range(group):
            u = rng.random()
            answer = rng.choice(right) if u < 0.4 else rng.choice(alt) if u < 0.6 else rng.choice(wrong)
            batch.append((gold, complete(row, answer, style)))
    return batch


def baseline(batch: list[tuple[str, str]]) -> list[bool]:
    """math-verify called directly per completion, as most reward functions do."""
    from math_verify import parse, verify

    out = []
    for gold, completion in batch:
        g = parse(f"${gold}$")
        p = parse(completion)
        out.append(bool(verify(g, p)))
    return out


def ours(batch: list[tuple[str, str]], params: dict) -> list[float | None]:
    from rewardkit.testing import make_sample
    from rewardkit_math import accuracy

    samples = [make_sample(c, answer=g) for g, c in batch]
    return [s.value for s in accuracy.score(samples, params)]


PATHOLOGICAL = [
    "\\boxed{9^{9^{9^{9}}}}",
    "\\boxed{10**10**10**10}",
    "\\boxed{100000!}",
    "\\boxed{(10^{10})!}",
    "\\boxed{\\binom{10^{9}}{10^{8}}}",
    "\\boxed{\\Gamma(10^{8})}",
    "\\boxed{2^{99999} - 3^{88888}}",
    "\\boxed{\\sqrt[1000000]{2}}",
    "x" * 1_000_000 + " so the answer is \\boxed{5}",
    ("\\frac{1}{2} " * 100_000) + "\\boxed{3}",
    "\\boxed{" + "{" * 10_000 + "1" + "}" * 10_000 + "}",
    "\\boxed{" + "(" * 500 + "1" + ")" * 500 + "}",
    "\\boxed{" + "1" * 5000 + "}",
    "\\boxed{" * 3000 + "1" + "}" * 3000,
    "<answer>" + "9" * 100_000 + "</answer>",
    "The answer is " + "1+" * 400 + "1",
    "\\boxed{x^{x^{x^{x^{x}}}}}",
    "\\boxed{\\sum_{k=1}^{10^{12}} k^{3}}",
    "\\boxed{\\int_0^{\\infty} e^{-x^{2}} \\sin(x^{5}) dx}",
    "\\boxed{\\lim_{n \\to \\infty} (1 + 1/n)^{n^{2}}}",
    "\\boxed{1e100000000}",
    "\\boxed{10^{10^{10^{10}}}}",
]


def pathological(params: dict, rounds: int) -> list[float]:
    from rewardkit.testing import make_sample
    from rewardkit_math import accuracy

    latencies = []
    for r in range(rounds):
        for k, completion in enumerate(PATHOLOGICAL):
            # a fresh gold per round, so no cache hides the cost
            sample = make_sample(completion, answer=f"{r * 100 + k + 7}")
            start = time.perf_counter()
            accuracy.score([sample], params)
            latencies.append(time.perf_counter() - start)
    return latencies


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompts", type=int, default=128)
    ap.add_argument("--group", type=int, default=16)
    ap.add_argument("--workers", type=int, default=0, help="0: one per CPU core")
    ap.add_argument("--timeout", type=float, default=5.0, help="per-check deadline (s)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds over the pathological set")
    ap.add_argument("--repeat", type=int, default=3, help="baseline/ours runs on fresh batches")
    ap.add_argument("--style", default="solution", choices=["solution", *STYLES],
                    help="how completions state their answer (default: the MATH solution's own final box)")
    args = ap.parse_args()
    import logging

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    from rewardkit_math import close_executors, stats
    from rewardkit_math.checker import default_workers

    rows = load_math500()
    params = {"timeout": args.timeout, "workers": args.workers}
    workers = args.workers or default_workers()
    print(f"# rewardkit-math benchmark: {args.prompts} prompts x {args.group} completions, {workers} workers, "
          f"style {args.style}")

    # Warm the worker pool (once per training run) on a different batch, then time steady state.
    start = time.perf_counter()
    ours(grpo_batch(rows, 8, args.group, seed=1, style=args.style), params)
    print(f"pool start + first small batch: {time.perf_counter() - start:.2f} s")

    # Alternate baseline and ours on fresh batches (new golds each time, so no cache carries over),
    # and report the median ratio: the machine may be shared, and load drifts between runs.
    ratios, total_agree, total_n = [], 0, 0
    for rep in range(args.repeat):
        batch = grpo_batch(rows, args.prompts, args.group, seed=100 + rep, style=args.style)
        start = time.perf_counter()
        want = baseline(batch)
        t_base = time.perf_counter() - start
        start = time.perf_counter()
        got = ours(batch, params)
        t_ours = time.perf_counter() - start
        n = len(batch)
        agree = sum((g == 1.0) == w for g, w in zip(got, want))
        total_agree, total_n = total_agree + agree, total_n + n
        ratios.append(t_base / t_ours)
        print(f"run {rep + 1}: baseline math-verify per completion {n / t_base:7.1f} checks/s ({t_base:.2f} s) | "
              f"math.accuracy batch {n / t_ours:7.1f} checks/s ({t_ours:.2f} s) | ratio {t_base / t_ours:.2f}x | "
              f"identical verdicts {agree}/{n} | right: ours {sum(g == 1.0 for g in got)}, baseline {sum(want)}")
        for (gold, completion), g, w in zip(batch, got, want):
            if (g == 1.0) != w:
                tail = re.sub(r"\s+", " ", completion[-80:])
                print(f"  differs: gold {gold!r}: ours {g}, math-verify {w}: ...{tail}")
    print(f"speed ratio (median of {len(ratios)}): {statistics.median(ratios):.2f}x "
          f"[min {min(ratios):.2f}x, max {max(ratios):.2f}x]   identical verdicts: {total_agree}/{total_n}")

    lat = sorted(pathological(params, args.rounds))
    p99 = lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))]
    print(f"pathological set ({len(PATHOLOGICAL)} inputs x {args.rounds} rounds, deadline {args.timeout:g} s): "
          f"p50 {statistics.median(lat) * 1000:.1f} ms  p99 {p99 * 1000:.1f} ms  max {lat[-1] * 1000:.1f} ms")
    print(f"checks by path: {json.dumps(stats(), sort_keys=True)}")
    close_executors()
    return 0


if __name__ == "__main__":
    sys.exit(main())
