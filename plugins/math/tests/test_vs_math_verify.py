"""Never worse than math-verify itself: the same completions scored by the rewards and by plain
math-verify (``verify(parse("$gold$"), parse(completion))``, library defaults) in the same run.

1. ``data/cases.jsonl``: hand-written grading cases (gold, completion, expected verdict, why), in the
   classes that used to score a right answer 0 (no cue, ``\\text{}``, named golds, intervals and
   inequalities, box lists, symbolic rewrites, MATH/Minerva normalisations, answer styles) plus
   adversarial ones that must stay 0.
2. MATH-500's 500 golds written into six completion styles, and into the same styles holding another
   problem's gold (wrong-answer controls, which must all score 0).
3. GSM8K golds in several phrasings (``math.gsm8k``) and choice letters (``math.multiple_choice``).

Plain math-verify runs in the reward's own worker pool (its parse is slow), chunked.
"""

import json
from pathlib import Path

import pytest
from rewardkit.testing import make_sample, shared_data_dir

from rewardkit_math import accuracy, gsm8k, multiple_choice, to_number
from rewardkit_math.checker import default_workers, get_executor, normalise
from rewardkit_math.equivalence import plain_math_verify

CASES = Path(__file__).parent / "data" / "cases.jsonl"


def math_verify_alone(pairs, choices=None):
    """``plain_math_verify`` over (gold, completion) pairs, spread over the worker pool."""
    pool = get_executor("process", default_workers(), 1024)
    chunk = 50
    calls = [(plain_math_verify, (pairs[i : i + chunk], choices), {}) for i in range(0, len(pairs), chunk)]
    out = []
    for outcome in pool.run_calls(calls, timeout=600):
        assert outcome.ok, outcome.error
        out.extend(outcome.value)
    return out


def _rows(name):
    with open(shared_data_dir() / name / "test.jsonl") as f:
        return [json.loads(line) for line in f]


# -- 1. the case table ------------------------------------------------------------------------------

def test_case_table_agrees_with_expected_and_never_below_math_verify():
    cases = [json.loads(line) for line in CASES.read_text().splitlines() if line.strip()]
    assert len(cases) >= 150
    assert all(c["why"] for c in cases)
    scores = accuracy.score([make_sample(c["completion"], answer=c["gold"]) for c in cases], {})
    ours = [s.value == 1.0 for s in scores]
    theirs = math_verify_alone([(c["gold"], c["completion"]) for c in cases])
    ours_right = sum(o == c["expected"] for o, c in zip(ours, cases))
    theirs_right = sum(t == c["expected"] for t, c in zip(theirs, cases))
    print(f"\ncase table: rewardkit {ours_right}/{len(cases)}, plain math-verify {theirs_right}/{len(cases)} "
          f"agree with the expected verdict")
    for name in dict.fromkeys(c["class"] for c in cases):
        idx = [k for k, c in enumerate(cases) if c["class"] == name]
        print(f"  {name:18s} {len(idx):3d} cases: rewardkit {sum(ours[k] == cases[k]['expected'] for k in idx):3d}, "
              f"math-verify {sum(theirs[k] == cases[k]['expected'] for k in idx):3d}")
    wrong = [(c["class"], c["gold"], c["completion"][-60:], c["expected"], s.details.get("extracted"))
             for o, c, s in zip(ours, cases, scores) if o != c["expected"]]
    assert wrong == []
    worse = [(c["gold"], c["completion"]) for o, t, c in zip(ours, theirs, cases)
             if t == c["expected"] and o != c["expected"]]
    assert worse == []
    # the table is worth something: plain math-verify misses some of it, in both directions
    assert theirs_right < len(cases)
    assert any(t and not c["expected"] for t, c in zip(theirs, cases))  # a false positive we avoid


def test_case_table_covers_every_class():
    cases = [json.loads(line) for line in CASES.read_text().splitlines() if line.strip()]
    by_class = {}
    for c in cases:
        by_class.setdefault(c["class"], []).append(c["expected"])
    for name in ("no_cue", "text", "named_gold", "interval_relation", "box_list", "symbolic", "normalisation",
                 "style", "adversarial"):
        assert True in by_class[name] or name == "adversarial", name
        assert False in by_class[name], name  # each class has cases that must stay 0


# -- 2. MATH-500 in six styles, plus wrong-answer controls -----------------------------------------

_PRE = "Let me work through this step by step. Simplifying, "
STYLES = {
    "boxed": _PRE + "the result is $\\boxed{%s}$.",
    "minerva": _PRE + "we are done.\nFinal Answer: The final answer is $%s$. I hope it is correct.",
    "answer_is": _PRE + "we get it. Therefore, the answer is $%s$.",
    "display": _PRE + "we obtain\n\\[ %s \\]",
    "answer_tag": "<think>" + _PRE + "done.</think>\n<answer>\n$%s$\n</answer>",
    "bold": _PRE + "we are done.\n\n**Final answer:** $%s$",
}


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


def test_math500_styles_never_worse_than_math_verify():
    rows = _rows("math500")
    assert len(rows) == 500
    pairs, labels = [], []  # (gold, completion), (style, is the right answer)
    for name, template in STYLES.items():
        for i, row in enumerate(rows):
            pairs.append((row["answer"], template.replace("%s", row["answer"])))
            labels.append((name, True))
            pairs.append((row["answer"], template.replace("%s", _other_gold(rows, i))))
            labels.append((name, False))
    scores = accuracy.score([make_sample(c, answer=g) for g, c in pairs], {})
    ours = [s.value == 1.0 for s in scores]
    theirs = math_verify_alone(pairs)
    print("\nMATH-500 golds | rewardkit right / plain math-verify right | wrong-answer controls scored 1")
    worse, false_positives = [], []
    for name in STYLES:
        idx = [k for k, (s, _) in enumerate(labels) if s == name]
        right = [k for k in idx if labels[k][1]]
        wrong = [k for k in idx if not labels[k][1]]
        print(f"  {name:10s}  {sum(ours[k] for k in right):3d} / {sum(theirs[k] for k in right):3d}"
              f"   controls: rewardkit {sum(ours[k] for k in wrong)}, math-verify {sum(theirs[k] for k in wrong)}")
        worse += [(name, pairs[k][0], scores[k].details.get("extracted")) for k in right if theirs[k] and not ours[k]]
        false_positives += [(name, pairs[k][0], pairs[k][1][-40:]) for k in wrong if ours[k]]
    assert worse == []
    assert false_positives == []
    missed = [(labels[k][0], pairs[k][0]) for k, (_, good) in enumerate(labels) if good and not ours[k]]
    assert missed == []  # every gold, in every style


# -- 3. GSM8K phrasings and choice letters ---------------------------------------------------------

GSM8K_PHRASINGS = [
    "{work}\n#### {n}",
    "{work}\nThe answer is {n}.",
    "{work}\nSo the final answer is $\\boxed{{{n}}}$.",
    "<think>{work}</think>\n<answer>{n}</answer>",
    "{work}\nTherefore, she has ${n} in total.",
    "{work}\nFinal Answer: The final answer is ${n}$. I hope it is correct.",
    "{work}\n**Final answer:** {n}",
]


def test_gsm8k_phrasings_never_worse_than_math_verify():
    rows = _rows("gsm8k")[::5]  # every fifth row: 264 golds x 7 phrasings, right and wrong
    samples, pairs, right = [], [], []
    for row in rows:
        work, gold = row["answer"].split("####")
        work, gold = work.strip(), gold.strip()
        value = to_number(gold)
        wrong = str(value.numerator + 1) if value.denominator == 1 else str(float(value) + 1)
        n = f"{value.numerator:,}" if value.denominator == 1 and abs(value) >= 1000 else gold
        for phrasing in GSM8K_PHRASINGS:
            for answer, good in ((n, True), (wrong, False)):
                completion = phrasing.format(work=work, n=answer)
                samples.append(make_sample(completion, row["question"], answer=row["answer"]))
                pairs.append((gold.replace(",", ""), completion))
                right.append(good)
    ours = [s.value == 1.0 for s in gsm8k.score(samples, {})]
    theirs = math_verify_alone(pairs)
    print(f"\nGSM8K: right answers: rewardkit {sum(o for o, g in zip(ours, right) if g)}, "
          f"plain math-verify {sum(t for t, g in zip(theirs, right) if g)} of {sum(right)}; wrong answers "
          f"scored 1: rewardkit {sum(o for o, g in zip(ours, right) if not g)}, "
          f"math-verify {sum(t for t, g in zip(theirs, right) if not g)}")
    assert all(o for o, g in zip(ours, right) if g)
    assert not any(o for o, g in zip(ours, right) if not g)


CHOICE_STYLES = ["(C)", "C)", "**C**", "\\boxed{C}", "The answer is C", "Answer: C", "The correct option is (C).",
                 "$\\boxed{\\text{(C)}}$"]


def test_choice_letters_never_worse_than_math_verify():
    rows = _rows("gsm8k")[:100]
    letters = "ABCDE"
    samples, pairs, right = [], [], []
    for i, row in enumerate(rows):
        work = row["answer"].split("####")[0].strip()  # reasoning text: words, numbers, the odd capital "I"
        gold = letters[i % 5]
        for style in CHOICE_STYLES:
            for letter, good in ((gold, True), (letters[(i + 2) % 5], False)):
                completion = f"{work}\nSo I pick:\n{style.replace('C', letter)}"
                samples.append(make_sample(completion, answer=gold))
                pairs.append((gold, completion))
                right.append(good)
    ours = [s.value == 1.0 for s in multiple_choice.score(samples, {})]
    theirs = math_verify_alone(pairs, choices=letters)
    print(f"\nchoice letters: right answers: rewardkit {sum(o for o, g in zip(ours, right) if g)}, "
          f"plain math-verify {sum(t for t, g in zip(theirs, right) if g)} of {sum(right)}; wrong answers "
          f"scored 1: rewardkit {sum(o for o, g in zip(ours, right) if not g)}, "
          f"math-verify {sum(t for t, g in zip(theirs, right) if not g)}")
    assert all(o for o, g in zip(ours, right) if g)
    assert not any(o for o, g in zip(ours, right) if not g)


def test_a_wrong_antlr_runtime_is_named_with_its_fix():
    """omegaconf/hydra pin antlr4 4.9.3, under which math-verify misreads LaTeX (25\\% != 0.25) silently."""
    import importlib.metadata

    from rewardkit_math.equivalence import antlr_problem

    assert antlr_problem(importlib.metadata.version("antlr4-python3-runtime")) is None  # this environment is right
    assert antlr_problem("4.13.2") is None
    message = antlr_problem("4.9.3")
    assert "4.9.3 is installed" in message and "pip install 'antlr4-python3-runtime==4.13.2'" in message
    assert "not installed" in antlr_problem(None)
