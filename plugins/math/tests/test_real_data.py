"""Real data: every MATH-500 gold scores 1.0 against itself, 0 against another problem's gold; every
GSM8K gold scores 1.0 in several natural phrasings."""

import json

import pytest
from rewardkit.testing import make_sample, shared_data_dir

from rewardkit_math import accuracy, gsm8k, to_number
from rewardkit_math.checker import normalise


def _rows(name):
    with open(shared_data_dir() / name / "test.jsonl") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def math500():
    rows = _rows("math500")
    assert len(rows) == 500
    return rows


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "math-verify-only"])
def test_every_math500_gold_scores_one_against_itself(math500, fast_path):
    samples = [make_sample(f"Putting it together, the answer is $\\boxed{{{r['answer']}}}$.", r["problem"],
                           answer=r["answer"]) for r in math500]
    scores = accuracy.score(samples, {"fast_path": fast_path})
    failed = [(r["answer"], s.reason, s.details.get("gold_parsed")) for r, s in zip(math500, scores) if s.value != 1.0]
    assert failed == [], f"{len(failed)} of 500 golds did not match themselves: {failed[:10]}"
    if not fast_path:
        assert all(s.details["method"] == "sympy" for s in scores)


def _other_gold(rows, i):
    """The next problem's gold that is plainly a different answer (not the same string or number,
    and not one containing the other, which rules out pairs like "5" and "x=5")."""
    mine = normalise(rows[i]["answer"])
    for k in range(1, len(rows)):
        other = rows[(i + k) % len(rows)]["answer"]
        theirs = normalise(other)
        a, b = to_number(rows[i]["answer"]), to_number(other)
        if mine not in theirs and theirs not in mine and (a is None or b is None or a != b):
            return other
    raise AssertionError("no different gold")


def test_another_problems_gold_scores_zero(math500):
    pairs = [(r["answer"], _other_gold(math500, i)) for i, r in enumerate(math500)]
    samples = [make_sample(f"So the answer is \\boxed{{{wrong}}}.", answer=gold) for gold, wrong in pairs]
    scores = accuracy.score(samples, {})
    wrongly_equal = [(g, w, s.reason) for (g, w), s in zip(pairs, scores) if s.value != 0.0]
    assert wrongly_equal == []
    assert sum(s.details["method"] == "sympy" for s in scores) > 150  # the real check did run


GSM8K_PHRASINGS = [
    "{work}\n#### {n}",
    "{work}\nThe answer is {n}.",
    "{work}\nSo the final answer is $\\boxed{{{n}}}$.",
    "<think>{work}</think>\n<answer>{n}</answer>",
    "{work}\nTherefore, she has ${n} in total.",
    "{work}\nFinal Answer: {n} dollars",
    "{work}\nIn all, 2 + 3 = 5 steps later the result is {n}",
]


def test_gsm8k_golds_in_natural_phrasings_score_one():
    rows = _rows("gsm8k")
    assert len(rows) == 1319
    failed = []
    for row in rows:
        work, gold = row["answer"].split("####")
        gold = gold.strip()
        value = to_number(gold)
        writings = {gold, gold.replace(",", "")}
        if value.denominator == 1 and abs(value) >= 1000:
            writings.add(f"{value.numerator:,}")
        work = work.strip().replace("####", "")
        for n in writings:
            for phrasing in GSM8K_PHRASINGS:
                completion = phrasing.format(work=work, n=n)
                score = gsm8k.score([make_sample(completion, row["question"], answer=row["answer"])], {})[0]
                if score.value != 1.0:
                    failed.append((gold, completion[-60:], score.reason))
    assert failed == [], f"{len(failed)} failures, e.g. {failed[:5]}"


def test_gsm8k_wrong_numbers_score_zero():
    rows = _rows("gsm8k")[:200]
    for row in rows:
        gold = to_number(row["answer"].split("####")[1], lenient=True)
        for wrong in (gold + 1, -gold if gold else 7, gold * 10):
            completion = f"The answer is {wrong}." if wrong.denominator == 1 else f"The answer is {float(wrong)}."
            assert gsm8k.score([make_sample(completion, answer=row["answer"])], {})[0].value == 0.0


def test_fast_paths_agree_with_math_verify_alone(math500):
    """Audit: on pairs of MATH-500 golds and near misses, every shortcut (string, number, guard,
    distinct-constant reject) gives math-verify's own verdict."""
    import random

    from rewardkit_math import CheckerConfig, check_pairs

    rng = random.Random(7)
    golds = [r["answer"] for r in math500]
    pairs = [(rng.choice(golds), rng.choice(golds)) for _ in range(150)]
    pairs += [(g, g.replace("2", "3", 1)) for g in rng.sample(golds, 60)]
    pairs += [(g, g.replace("\\frac", "\\dfrac") + " ") for g in rng.sample(golds, 40)]
    fast = check_pairs(pairs, CheckerConfig(fast_path=True))
    slow = check_pairs(pairs, CheckerConfig(fast_path=False))
    assert [v.equal for v in fast] == [v.equal for v in slow]
    assert sum(v.how != "sympy" or v.details.get("by") == "numeric" for v in fast) > 100  # shortcuts were taken
