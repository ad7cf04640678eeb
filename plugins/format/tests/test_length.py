"""format.kimi_length, format.overlong, format.cosine, format.thinking_budget: formulas checked by hand."""

import math

import pytest
from rewardkit import RewardParamsError, Score
from rewardkit.testing import make_sample, score_one
from rewardkit_format import cosine_length, kimi_length, soft_overlong, thinking_budget


def judged(n_tokens, correct, *, dep="math.accuracy", group="q1", value=None):
    """A completion of ``n_tokens`` ids whose accuracy reward already gave its verdict."""
    score = Score(value if value is not None else float(correct))
    s = make_sample("x " * n_tokens, prompt="2+3?", group=group, completion_ids=list(range(n_tokens)))
    return s.with_scores({dep: score})


def values(scores):
    return [s.value for s in scores]


def test_kimi_formula_on_a_group():
    # min 10, max 50: lambda = 0.5 - (L - 10) / 40 = 0.5, 0.25, 0.0, -0.5
    group = [judged(10, True), judged(20, True), judged(30, False), judged(50, False)]
    out = kimi_length.score(group, {})
    assert values(out) == pytest.approx([0.5, 0.25, 0.0, -0.5])
    assert out[0].details["length_method"] == "completion_ids"
    assert out[0].details["group_min"] == 10 and out[0].details["group_max"] == 50


def test_kimi_wrong_answers_never_gain_from_being_short():
    group = [judged(10, False), judged(30, True), judged(50, True)]
    assert values(kimi_length.score(group, {})) == pytest.approx([0.0, 0.0, -0.5])
    # the shortest wrong answer gets at most 0, less than the shortest correct one
    mixed = [judged(10, False), judged(11, True), judged(100, False)]
    v = values(kimi_length.score(mixed, {}))
    assert v[0] == 0.0 and v[1] > 0.48 and v[2] == pytest.approx(-0.5)


def test_kimi_equal_lengths_give_zero():
    assert values(kimi_length.score([judged(7, True), judged(7, False)], {})) == [0.0, 0.0]


def test_kimi_splits_a_mixed_batch_by_group():
    batch = [
        judged(10, True, group="a"),
        judged(100, True, group="b"),
        judged(30, True, group="a"),
        judged(200, True, group="b"),
    ]
    assert values(kimi_length.score(batch, {})) == pytest.approx([0.5, 0.5, -0.5, -0.5])


def test_kimi_threshold_and_dependency_id():
    group = [judged(10, None, dep="acc", value=0.6), judged(20, None, dep="acc", value=0.4)]
    strict = values(kimi_length.score(group, {"correctness": "acc"}))
    assert strict == pytest.approx([0.0, -0.5])  # 0.6 < 1.0: both wrong, min(0, lambda)
    half = values(kimi_length.score(group, {"correctness": "acc", "threshold": 0.5}))
    assert half == pytest.approx([0.5, -0.5])


def test_failed_verification_is_unknown_not_wrong():
    failed = make_sample("x", prompt="2+3?", group="q1", completion_ids=[1]).with_scores(
        {"math.accuracy": Score(0.0, reason="error", error="TimeoutError: sympy took too long")}
    )
    out = kimi_length.score([failed, judged(10, True)], {})
    assert out[0].value is None and "TimeoutError" in out[0].reason
    assert cosine_length.score([failed], {})[0].value is None


def test_kimi_missing_dependency_says_what_to_add():
    s = make_sample("x", prompt="p", completion_ids=[1])
    out = kimi_length.score([s], {})[0]
    assert out.value is None and "add 'math.accuracy' to the recipe" in out.error


def test_kimi_unknown_correctness_is_not_applicable_but_length_still_counts():
    unknown = make_sample("x " * 50, prompt="2+3?", group="q1", completion_ids=list(range(50))).with_scores(
        {"math.accuracy": Score.not_applicable("no gold answer")}
    )
    out = kimi_length.score([judged(10, True), unknown, judged(30, True)], {})
    assert out[1].value is None and "no gold answer" in out[1].reason
    assert values([out[0], out[2]]) == pytest.approx([0.5, 0.5 - 20 / 40])  # max is the unknown one's 50


@pytest.mark.parametrize(
    "length, value",
    [
        (0, 0.0),
        (100, 0.0),
        (120, 0.0),  # up to max - cache = 120: no penalty
        (121, -1 / 40),
        (140, -0.5),
        (160, -1.0),  # linear inside the cache
        (161, -1.0),
        (10_000, -1.0),  # beyond max
    ],
)
def test_overlong_dapo_formula(length, value):
    s = score_one(
        soft_overlong, "x", params={"max_length": 160, "cache_length": 40}, completion_ids=list(range(length))
    )
    assert s.value == pytest.approx(value)
    assert s.details["soft_start"] == 120


def test_overlong_params():
    with pytest.raises(RewardParamsError, match="must not exceed max_length"):
        score_one(soft_overlong, "x", params={"max_length": 100, "cache_length": 200})
    with pytest.raises(RewardParamsError, match="cache_length must be a whole number"):
        score_one(soft_overlong, "x", params={"cache_length": 0})


def cos_expected(length, T, at_zero, at_max):
    return at_max + 0.5 * (at_zero - at_max) * (1 + math.cos(math.pi * length / T))


@pytest.mark.parametrize("length", [0, 100, 500, 999])
def test_cosine_paper_formula(length):
    correct = cosine_length.score([judged(length, True)], {"max_length": 1000})[0]
    wrong = cosine_length.score([judged(length, False)], {"max_length": 1000})[0]
    assert correct.value == pytest.approx(cos_expected(length, 1000, 2.0, 1.0))
    assert wrong.value == pytest.approx(cos_expected(length, 1000, -10.0, 0.0))


def test_cosine_shape():
    p = {"max_length": 1000}
    c = [cosine_length.score([judged(n, True)], p)[0].value for n in (0, 500, 999)]
    w = [cosine_length.score([judged(n, False)], p)[0].value for n in (0, 500, 999)]
    assert c[0] == pytest.approx(2.0) and c[1] == pytest.approx(1.5) and c[0] > c[1] > c[2] > 1.0
    assert w[0] == pytest.approx(-10.0) and w[1] == pytest.approx(-5.0) and w[0] < w[1] < w[2] < 0.0
    assert cosine_length.score([judged(1000, True)], p)[0].value == -10.0  # exceed value
    small = {
        "max_length": 1000,
        "min_value_correct": 0.5,
        "max_value_correct": 1.0,
        "min_value_wrong": -1.0,
        "max_value_wrong": -0.5,
        "exceed_value": -1.0,
    }
    assert cosine_length.score([judged(0, True)], small)[0].value == pytest.approx(1.0)
    assert cosine_length.score([judged(0, False)], small)[0].value == pytest.approx(-1.0)


def test_cosine_params_and_dependency():
    with pytest.raises(RewardParamsError, match="swap them"):
        cosine_length.check_params({"min_value_correct": 3.0})
    with pytest.raises(RewardParamsError, match="must be float"):  # the annotation's type, checked first
        cosine_length.check_params({"exceed_value": "low"})
    missing = cosine_length.score([make_sample("x")], {"correctness": "acc"})[0]
    assert missing.value is None and "'acc'" in missing.error


THINK = "<think>\n" + "step " * 100 + "\n</think>\nThe answer is 5."


def test_thinking_budget_max():
    within = score_one(thinking_budget, THINK, params={"budget": 100})
    assert within.value == 0.0 and within.details["length"] == 100 and within.details["closed"] is True
    over = score_one(thinking_budget, THINK, params={"budget": 40, "alpha": 0.01})
    assert over.value == pytest.approx(-0.6) and over.reason == "60 tokens over budget"
    floor = score_one(thinking_budget, THINK, params={"budget": 0, "alpha": 0.5})
    assert floor.value == -1.0


def test_thinking_budget_exact_and_row_budget():
    under = score_one(thinking_budget, THINK, params={"target": "exact", "alpha": 0.01}, thinking_budget=150)
    assert under.value == pytest.approx(-0.5) and under.details["budget"] == 150
    assert score_one(thinking_budget, THINK, params={"budget": 10}, thinking_budget=100).value == 0.0


def test_thinking_budget_unclosed_thinking_counts_everything():
    s = score_one(thinking_budget, "step " * 300, params={"budget": 100, "alpha": 0.001})
    assert s.details["closed"] is False and s.value == pytest.approx(-0.2)


def test_thinking_budget_shares_completion_ids():
    # approximate pieces: "<think>" 3 + 100 words + "</think>" 4 + "The answer is 5." 5 = 112, of
    # which 100 are thinking; the 224 ids are shared out pro rata: 224 * 100 / 112 = 200
    s = score_one(thinking_budget, THINK, params={"budget": 1000}, completion_ids=list(range(224)))
    assert s.details["length_method"] == "completion_ids~share" and s.details["length"] == 200


def test_thinking_budget_params():
    assert score_one(thinking_budget, THINK).value is None  # no budget anywhere: not applicable
    with pytest.raises(RewardParamsError, match="'max' .* or 'exact'"):
        score_one(thinking_budget, THINK, params={"budget": 1, "target": "min"})
    with pytest.raises(RewardParamsError, match="a penalty"):
        score_one(thinking_budget, THINK, params={"budget": 1, "alpha": -1.0})
