"""Benchmarks for rewardkit-format, on the shared public data (run from the repository root).

    .venv/bin/python plugins/format/benchmarks/bench_format.py

1. Language consistency: our detector (py3langid) against the same pipeline with langdetect (the
   common choice) as the baseline: how often a completion in its prompt's language gets the full
   1.0 (GSM8K reference answers, MATH-500 reference solutions), how often a completion in another
   language is caught (hand-written translations), and time per completion (ratio).
2. Throughput of every reward on GSM8K-shaped R1 completions, called directly and through the
   ScoringEngine (thread executor): the engine's overhead as a ratio.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import rewardkit_format.language as lang_mod
from rewardkit import RewardSpec, Score, ScoringEngine
from rewardkit.testing import make_sample, shared_data_dir
from rewardkit_format import language_consistency
from rewardkit_format.plugin import REWARDS

FOREIGN = [  # (prompt language, completion in another language)
    ("en", "Elle a vendu 48 pinces en avril et la moitié en mai, donc elle en a vendu 72 au total."),
    ("en", "Sie hat im April 48 Klammern verkauft und im Mai halb so viele, also insgesamt 72."),
    ("en", "Vendió 48 pinzas en abril y la mitad en mayo, así que vendió 72 en total."),
    ("en", "Ha venduto 48 fermagli ad aprile e la metà a maggio, quindi 72 in tutto."),
    ("en", "她四月卖了48个夹子，五月卖了一半，所以一共卖了72个。"),
    ("en", "Она продала 48 заколок в апреле и вдвое меньше в мае, всего 72."),
    ("fr", "She sold 48 clips in April and half as many in May, so she sold 72 clips altogether."),
    ("de", "She sold 48 clips in April and half as many in May, so 72 in total."),
    ("es", "Elle a vendu 48 pinces en avril et la moitié en mai, donc 72 au total."),
    ("zh", "She sold 48 clips in April and half as many in May, so 72 altogether."),
]


def _langdetect_probs() -> Callable[[str], dict[str, float]]:
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
    from langdetect.lang_detect_exception import LangDetectException

    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(0)

    def probs(text: str) -> dict[str, float]:
        d = factory.create()
        d.append(text)
        try:
            return {lang_mod.normalise_language(p.lang): p.prob for p in d.get_probabilities()}
        except LangDetectException:
            return {}

    return probs


def _rows(path: str) -> list[dict[str, Any]]:
    with open(shared_data_dir() / path) as f:
        return [json.loads(line) for line in f]


def language_benchmark() -> None:
    gsm = [(r["question"], r["answer"]) for r in _rows("gsm8k/test.jsonl")]
    math = [(r["problem"], r["solution"]) for r in _rows("math500/test.jsonl")]
    ours = lang_mod.detect_language
    baseline = _langdetect_probs()
    results = {}
    for name, detector in (("py3langid", ours), ("langdetect", baseline)):
        lang_mod.detect_language = detector
        detector("warm up the model")
        row = {}
        start = time.perf_counter()
        for label, pairs in (("gsm8k", gsm), ("math500", math)):
            scores = [language_consistency(make_sample(c, prompt=p)).value for p, c in pairs]
            known = [v for v in scores if v is not None]
            row[label] = sum(v == 1.0 for v in known) / len(known)
        row["seconds"] = time.perf_counter() - start
        caught = [language_consistency(make_sample(c, prompt="x"), language=t).value for t, c in FOREIGN]
        row["foreign_caught"] = sum(v is not None and v < 0.5 for v in caught) / len(caught)
        results[name] = row
    lang_mod.detect_language = ours
    n = len(gsm) + len(math)
    print(f"language consistency ({n} same-language reference answers, {len(FOREIGN)} foreign ones)")
    for name, row in results.items():
        print(
            f"  {name:10s} full score: gsm8k {row['gsm8k']:.1%}, math500 {row['math500']:.1%}; "
            f"foreign caught {row['foreign_caught']:.0%}; {1000 * row['seconds'] / n:.2f} ms/completion"
        )
    ratio = results["langdetect"]["seconds"] / results["py3langid"]["seconds"]
    print(f"  speed ratio py3langid vs langdetect: {ratio:.1f}x")


def throughput_benchmark() -> None:
    rows = _rows("gsm8k/test.jsonl")[:400]
    samples = []
    for i, r in enumerate(rows):
        reasoning, _, final = r["answer"].rpartition("####")
        completion = f"<think>\n{reasoning.strip()}\n</think>\n<answer>\n{final.strip()}\n</answer>"
        sample = make_sample(completion, prompt=r["question"], group=str(i // 4), thinking_budget=64)
        samples.append(sample.with_scores({"math.accuracy": Score(float(i % 3 != 0))}))
    print(f"throughput on {len(samples)} GSM8K-shaped R1 completions (samples/s)")
    direct_total = 0.0
    for reward in REWARDS:
        params = {"language": "en"} if reward.name == "format.language" else {}
        start = time.perf_counter()
        reward.score(samples, params) if reward.mode == "group" else [
            reward.score([s], params) for s in samples
        ]
        elapsed = time.perf_counter() - start
        direct_total += elapsed
        print(f"  {reward.name:24s} {len(samples) / elapsed:10.0f}")
    # the engine adds routing, caching keys, dependency wiring and a thread executor with deadlines
    # correctness from core's real regex_match reward (even final answers "correct"): cheap, so the
    # timing is the format rewards' and the engine's
    even = r"<answer>\n\d*[02468]\n</answer>"
    specs = [RewardSpec("regex_match", id="math.accuracy", params={"pattern": even})]
    specs += [
        RewardSpec(r.name, params={"language": "en"} if r.name == "format.language" else {}) for r in REWARDS
    ]
    times = []
    for _ in range(2):
        with ScoringEngine(specs, cache_size=0) as engine:
            start = time.perf_counter()
            engine.score([s.with_scores({}) for s in samples])
            times.append(time.perf_counter() - start)
    engine_time = statistics.median(times)
    print(
        f"  all 11 direct: {direct_total:.2f} s; through ScoringEngine (threads, no cache): {engine_time:.2f} s "
        f"(ratio {engine_time / direct_total:.2f}x, plus regex_match for correctness)"
    )


if __name__ == "__main__":
    language_benchmark()
    throughput_benchmark()
