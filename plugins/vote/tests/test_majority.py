"""vote.majority: TTRL's majority vote over GSM8K/MATH-style groups, its None semantics and its bounds."""

import json

import pytest
from rewardkit import RewardParamsError, RewardSpec, ScoringEngine
from rewardkit.testing import make_sample, shared_data_dir
from rewardkit_vote import cluster, majority, normalise


def group(completions, prompt="q", **columns):
    return [make_sample(c, prompt=prompt, **columns) for c in completions]


def values(scores):
    return [s.value for s in scores]


@pytest.fixture(scope="module")
def janet():
    """The first GSM8K test question (gold 18) and completions a policy might write for it."""
    with open(shared_data_dir() / "gsm8k" / "test.jsonl") as f:
        row = json.loads(f.readline())
    assert row["answer"].endswith("#### 18")
    return row["question"], [
        "Janet has 16 - 3 - 4 = 9 eggs left, and 9 * 2 = 18. So she makes \\boxed{18} dollars.",
        "She uses 3 + 4 = 7 eggs, so 16 - 7 = 9 are sold at $2 each: 9 * 2 = 18. The answer is 18.",
        "16 - 3 = 13 eggs are left, and 13 * 2 = 26. The answer is 26.",
        "She sells 9 eggs at 2 dollars each, so she makes 18.0",
        "I am not sure how to solve this.",
        "9 eggs * $2 = $18\n#### 18",
        "She keeps 3 for breakfast, so 13 eggs at $2 make \\boxed{26}.",
    ]


def test_equivalent_answers_written_differently_vote_together(janet):
    question, completions = janet
    out = majority.score(group(completions, prompt=question), {})
    assert values(out) == [1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    d = out[0].details
    assert d["extractor"] == "math" and d["equivalence"] == "math"
    assert d["majority"] == "18" and d["share"] == pytest.approx(4 / 7)
    assert d["clusters"] == [4, 2] and d["no_answer"] == 1
    assert out[3].details["answer"] == "18.0" and out[2].details["answer"] == "26"
    assert out[4].reason == "no answer found" and out[4].details["answer"] is None


def test_no_answer_score_can_be_none(janet):
    question, completions = janet
    out = majority.score(group(completions, prompt=question), {"no_answer": None})
    assert values(out) == [1.0, 1.0, 0.0, 1.0, None, 1.0, 0.0]


def test_below_min_agreement_the_whole_group_is_not_applicable(janet):
    question, completions = janet
    out = majority.score(group(completions, prompt=question), {"min_agreement": 0.6})
    assert values(out) == [None] * 7
    assert "below min_agreement 60%" in out[0].reason and out[0].error is None
    assert out[0].details["share"] == pytest.approx(4 / 7)  # the vote is still reported
    # at 4/7 = 57% a threshold of one half is met
    half = majority.score(group(completions, prompt=question), {"min_agreement": 0.5})
    assert values(half)[:2] == [1.0, 1.0]


def test_symbolic_equivalence_goes_through_sympy_and_text_cannot_see_it():
    completions = ["So the side is \\boxed{2\\sqrt{2}}.", "The answer is $\\sqrt{8}$.",
                   "Rounded, \\boxed{2.83}.", "Hence \\boxed{\\sqrt{8}}"]
    math = majority.score(group(completions), {})
    assert values(math) == [1.0, 1.0, 0.0, 1.0]
    assert math[0].details["majority"] == "\\sqrt{8}" and math[0].details["clusters"] == [3, 1]
    # Normalised strings (what is used without rewardkit-math): 2\sqrt{2} is another answer.
    text = majority.score(group(completions), {"equivalence": "text"})
    assert values(text) == [0.0, 1.0, 0.0, 1.0]
    assert text[0].details["equivalence"] == "text" and text[0].details["clusters"] == [2, 1, 1]
    assert "checks" not in text[0].details


def test_text_equivalence_still_reads_numbers_and_casing():
    completions = ["The total is 1,000.50 dollars", "so 1000.5", "maybe 999", "1000.50"]
    out = majority.score(group(completions), {"extract": "last_number", "equivalence": "text"})
    assert values(out) == [1.0, 1.0, 0.0, 1.0]
    short = ["Paris", "**Paris**.", "paris", "London", "New  York", "new york"]
    out = majority.score(group(short), {"extract": "text", "equivalence": "text"})
    assert values(out) == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0] and out[0].details["clusters"] == [3, 2, 1]


def test_regex_extraction():
    completions = ["Reasoning... Answer: B", "Answer: b.", "Answer: C", "no final line"]
    out = majority.score(group(completions), {"extract": "regex", "pattern": r"Answer:\s*(\w+)",
                                              "equivalence": "text"})
    assert values(out) == [1.0, 1.0, 0.0, 0.0] and out[0].details["majority"] == "B"


def test_ties_first_seen_wins_or_no_label():
    completions = ["\\boxed{3}", "\\boxed{5}", "\\boxed{5}", "\\boxed{3.0}"]
    out = majority.score(group(completions), {})
    # 3 and 5 hold two each: the cluster holding the earliest completion (3) wins, and it says so
    assert values(out) == [1.0, 0.0, 0.0, 1.0] and out[0].details["tied"] is True
    assert values(majority.score(group(completions), {"ties": "none"})) == [None] * 4
    assert "tied" not in majority.score(group(completions[:3]), {})[0].details


def test_groups_without_a_vote_are_not_applicable():
    assert values(majority.score(group(["\\boxed{3}"]), {})) == [None]  # a group of one
    out = majority.score(group(["no idea", "none at all"]), {})
    assert values(out) == [None, None] and out[0].reason == "no completion in the group has an answer"


def test_a_direct_call_with_several_groups_votes_per_group():
    batch = [make_sample("\\boxed{1}", prompt="a"), make_sample("\\boxed{7}", prompt="b"),
             make_sample("\\boxed{1}", prompt="a"), make_sample("\\boxed{2}", prompt="a"),
             make_sample("\\boxed{7}", prompt="b"), make_sample("\\boxed{8}", prompt="b")]
    assert values(majority.score(batch, {})) == [1.0, 1.0, 1.0, 0.0, 1.0, 0.0]


def test_rounds_stop_once_the_rest_cannot_win_and_checks_are_budgeted():
    answers = ["18", "18", "18.0", "\\frac{36}{2}", "19", "20"]
    c = cluster(answers, equivalence="math")
    # the four 18s share one exact-number key; 19 and 20 are checked against it, then cannot outvote it
    assert [len(m) for m in c.members] == [4, 1, 1] and c.checks == 2 and c.stopped_early
    spent = cluster(["\\sqrt{8}", "2\\sqrt{2}", "\\sqrt{8}"], equivalence="math", max_checks=0)
    assert spent.budget_spent and spent.checks == 0 and [len(m) for m in spent.members] == [2, 1]
    out = majority.score(group(["\\boxed{\\sqrt{8}}", "\\boxed{2\\sqrt{2}}", "\\boxed{\\sqrt{8}}"]),
                         {"max_checks": 0})
    assert values(out) == [1.0, 0.0, 1.0] and out[0].details["budget_spent"] is True


def test_normalise():
    assert normalise("$18.0$") == normalise("\\$18") == normalise("18") == "18"
    assert normalise("-0.0") == "0" and normalise("\u22123") == "-3"
    assert normalise("x = 3") == "x=3" and normalise("(1, 2)") == "(1,2)"
    assert normalise("3/4") != normalise("3-4") and normalise("\\text{Evelyn}.") == "evelyn"


@pytest.mark.parametrize("params, message", [
    ({"extract": "boxed"}, "extract must be one of"),
    ({"extract": "regex"}, "needs a pattern"),
    ({"extract": "regex", "pattern": "("}, "not a valid regular expression"),
    ({"pattern": "x"}, "only read with extract: regex"),
    ({"equivalence": "fuzzy"}, "equivalence must be one of"),
    ({"min_agreement": 1.5}, "between 0 and 1"),
    ({"ties": "random"}, "ties must be"),
    ({"timeout": 0}, "positive number of seconds"),
])
def test_bad_params_fail_before_scoring(params, message):
    with pytest.raises(RewardParamsError, match=message):
        ScoringEngine([RewardSpec("vote.majority", params=params)])


def test_through_the_engine_groups_are_prompts(janet):
    question, completions = janet
    other = ["\\boxed{5}", "The answer is 5.", "\\boxed{4}"]
    # interleaved, as a batch of several GRPO groups may arrive
    samples = [make_sample(c, prompt=question) for c in completions]
    samples += [make_sample(c, prompt="2+3?") for c in other]
    order = [0, 7, 1, 8, 2, 9, 3, 4, 5, 6]
    batch = [samples[i] for i in order]
    with ScoringEngine([RewardSpec("vote.majority", id="ttrl", params={"min_agreement": 0.5})]) as engine:
        scored = engine.score(batch)
        got = {i: s.scores["ttrl"].value for i, s in zip(order, scored)}
        assert [got[i] for i in range(7)] == [1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
        assert [got[i] for i in range(7, 10)] == [1.0, 1.0, 0.0]
        assert scored[1].scores["ttrl"].details["majority"] == "5"
        # the same groups again come from the cache: one call per group, not per completion
        engine.score(batch)
        assert engine.stats["ttrl"].calls == 2 and engine.stats["ttrl"].cache_hits == 10
