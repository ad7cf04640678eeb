"""format.repetition: n-gram repetition penalty."""

import pytest
from rewardkit import RewardParamsError
from rewardkit.testing import score_one
from rewardkit_format import repetition_penalty


def test_no_repetition_is_zero():
    s = score_one(repetition_penalty, "We add two and three to get five, so the answer is five.")
    assert s.value == 0.0 and s.details["unique_ngrams"] == s.details["ngrams"]
    assert str(s.value) == "0.0"  # not -0.0


def test_loop_is_penalised_by_the_formula():
    # 8 words, 3-grams: 6 in all, 3 unique -> -1 * (1 - 3/6) = -0.5
    s = score_one(repetition_penalty, "wait let me wait let me wait let")
    assert s.details == {"ngrams": 6, "unique_ngrams": 3}
    assert s.value == pytest.approx(-0.5)
    # case and punctuation do not hide a loop
    assert score_one(repetition_penalty, "Wait, let me... WAIT let me; wait let").value == pytest.approx(-0.5)


def test_degenerate_loop_approaches_max_penalty():
    s = score_one(repetition_penalty, "let me check again " * 200, params={"max_penalty": -0.5})
    assert -0.5 <= s.value < -0.49


def test_ngram_size_and_short_text():
    text = "a b a b a b"
    assert score_one(repetition_penalty, text, params={"ngram_size": 1}).value == pytest.approx(-(1 - 2 / 6))
    assert score_one(repetition_penalty, text, params={"ngram_size": 6}).value == 0.0
    assert score_one(repetition_penalty, "too short", params={"ngram_size": 3}).value == 0.0


def test_cjk_text_is_measured_by_character():
    assert score_one(repetition_penalty, "我们再算一次。" * 10).value < -0.7
    assert score_one(repetition_penalty, "二加三等于五，所以答案是五。").value == 0.0


def test_positive_max_penalty_is_a_config_error():
    with pytest.raises(RewardParamsError, match="write max_penalty: -0.5 instead of 0.5"):
        score_one(repetition_penalty, "x", params={"max_penalty": 0.5})
    with pytest.raises(RewardParamsError, match="ngram_size"):
        score_one(repetition_penalty, "x", params={"ngram_size": 0})
