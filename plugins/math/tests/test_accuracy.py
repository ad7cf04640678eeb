"""math.accuracy: equivalence, bare gold answers parsed right, unscorable golds, details, params."""

import json

import pytest
from rewardkit import RewardParamsError
from rewardkit.testing import make_sample, score_one

from rewardkit_math import accuracy, reset_stats, stats


def acc(completion, gold, **params):
    return score_one(accuracy, completion, answer=gold, params=params)


@pytest.mark.parametrize("gold, wrong, right", [
    # math-verify alone reads these bare golds as 2 and 9/2; we must not
    ("2\\sqrt{2}", "\\boxed{2}", "\\boxed{\\sqrt{8}}"),
    ("(1,\\frac{9}{2})", "\\boxed{\\frac{9}{2}}", "\\boxed{(1, 4.5)}"),
    ("\\frac{\\sqrt{3}}{3}", "\\boxed{3}", "\\boxed{\\frac{1}{\\sqrt{3}}}"),
    ("p - q", "\\boxed{p}", "\\boxed{-q + p}"),
])
def test_bare_gold_answers_are_parsed_whole(gold, wrong, right):
    assert acc(wrong, gold).value == 0.0
    assert acc(right, gold).value == 1.0
    assert acc(right, gold, fast_path=False).value == 1.0


@pytest.mark.parametrize("completion, gold", [
    ("so \\boxed{\\dfrac{1}{2}}", "0.5"),
    ("The answer is $x^2+2x+1$.", "(x+1)^2"),
    ("<answer>\\{3, 5, 7\\}</answer>", "3, 5, 7"),
    ("the final answer is $\\boxed{\\$32,\\!348}$", "\\$32,\\!348"),
    ("\\boxed{x \\in [-2, 7]}", "[-2,7]"),
    ("\\boxed{1,234}", "1234"),
])
def test_equivalent_answers_score_one(completion, gold):
    assert acc(completion, gold).value == 1.0


@pytest.mark.parametrize("completion, gold", [
    ("\\boxed{\\frac{1}{3}}", "\\frac{1}{2}"), ("\\boxed{x+1}", "x-1"), ("\\boxed{[-2, 7)}", "[-2,7]"),
])
def test_different_answers_score_zero(completion, gold):
    assert acc(completion, gold).value == 0.0


def test_no_answer_found_is_zero_but_no_gold_is_none():
    assert acc("I do not know.", "5").value == 0.0
    score = score_one(accuracy, "\\boxed{5}")
    assert score.value is None and "gold" in score.reason


def test_unparseable_gold_is_not_scorable_and_counted():
    reset_stats()
    score = acc("\\boxed{5}", "\\begin{tikzpicture}\\end{tikzpicture}")
    assert score.value is None
    assert "gold" in score.reason
    assert stats().get("unscorable_gold") == 1


def test_gold_given_as_full_solution():
    solution = "We add them: $2+3=5$. So the answer is $\\boxed{5}$."
    assert score_one(accuracy, "\\boxed{5}", solution=solution, params={"answer_column": "solution"}).value == 1.0
    assert acc("\\boxed{5}", "Janet has 2+3 = 5 eggs.\n#### 5").value == 1.0


def test_details_are_json_and_say_how():
    score = acc("Thus \\boxed{\\frac{2}{4}}", "\\frac{1}{2}")
    details = json.loads(json.dumps(score.details))
    assert details["extracted"] == "\\frac{2}{4}" and details["extractor"] == "boxed"
    assert details["method"] in ("number", "sympy") and details["gold"] == "\\frac{1}{2}"


def test_extraction_is_configurable():
    text = "The answer is 3.\nLater I boxed \\boxed{4}."
    assert acc(text, "3").value == 0.0  # auto: boxed first
    assert acc(text, "3", extract="answer_is").value == 1.0
    assert acc("the result: 12 apples", "12").value == 1.0  # last number
    assert acc("the result: 12 apples", "12", extract="boxed").value == 0.0


def test_group_of_identical_completions_is_checked_once():
    reset_stats()
    samples = [make_sample("\\boxed{\\sqrt{8}}", answer="2\\sqrt{2}") for _ in range(16)]
    samples += [make_sample("\\boxed{3}", answer="2\\sqrt{2}") for _ in range(16)]
    scores = accuracy.score(samples, {})
    assert [s.value for s in scores] == [1.0] * 16 + [0.0] * 16
    assert sum(v for k, v in stats().items() if k.startswith("check:")) == 2


def test_bad_params_say_what_to_write():
    with pytest.raises(RewardParamsError, match="extract"):
        acc("\\boxed{1}", "1", extract="box")
    with pytest.raises(RewardParamsError, match="executor"):
        acc("\\boxed{1}", "1", executor="gpu")
    with pytest.raises(RewardParamsError, match="timeout"):
        acc("\\boxed{x}", "y", timeout=0)
    with pytest.raises(RewardParamsError, match="accepts"):
        accuracy.check_params({"extractor": "boxed"})


@pytest.mark.parametrize("completion, gold, value", [
    ("Combining the terms we get $\\frac{x}{7}+\\frac{2}{7}$", "\\frac{x+2}{7}", 1.0),  # not the last number, 7
    ("Hence $D = (0, 1)$.", "(0,1)", 1.0),
    ("Both clocks show $12:00$", "12:00", 1.0),
    ("Substituting back:\n$$f(y) = y$$", "f(y) = y", 1.0),
    ("we obtain\n\\[ \\frac{1}{7} \\]", "\\frac{1}{8}", 0.0),
    ("Adding 2 and 3 gives 5", "5", 1.0),
])
def test_without_cue_or_box_math_verify_reads_the_completion(completion, gold, value):
    score = acc(completion, gold)
    assert score.value == value
    assert score.details["extractor"] == "math_verify"


def test_a_last_formula_that_does_not_parse_falls_back_to_math_verify_reading_it_whole():
    completion = "We get $\\frac{1}{2}$.\n\\[ ))(( \\]"  # math-verify moves on to the formula before
    assert acc(completion, "\\frac{1}{2}").value == 1.0
    assert acc(completion, "\\frac{1}{3}").value == 0.0
    assert acc(completion, "\\frac{1}{2}", executor="inline").value == 1.0


def test_identical_last_formulas_are_checked_once():
    reset_stats()
    samples = [make_sample(f"Step {i}: we simplify.\n\\[ \\sqrt{{8}} \\]", answer="2\\sqrt{2}") for i in range(8)]
    assert [s.value for s in accuracy.score(samples, {})] == [1.0] * 8
    assert sum(v for k, v in stats().items() if k.startswith("check:")) == 1
