"""The two registered rewards, through rewardkit's own plugin loading and reward call shape."""

from __future__ import annotations

import json

import pytest

from rewardkit import RewardKit, RewardParamsError
from rewardkit.testing import score_one

IDS = ["punctuation:no_comma", "length_constraints:number_words", "startend:quotation"]
KWARGS = [{}, {"num_words": 4, "relation": "at least"}, {}]


@pytest.fixture(scope="module")
def kit() -> RewardKit:
    return RewardKit()


def test_plugin_registers_both_rewards(kit: RewardKit) -> None:
    names = kit.registry.names()
    assert "ifeval.instructions" in names and "ifeval.tulu3" in names
    assert kit.registry.reward("ifeval.instructions").plugin == "ifeval"


def test_fraction_and_all(kit: RewardKit) -> None:
    r = kit.registry.reward("ifeval.instructions")
    completion = "one two three, four"  # has a comma and no quotes, but enough words
    s = score_one(r, completion, instruction_id_list=IDS, kwargs=KWARGS)
    assert s.value == pytest.approx(1 / 3)
    assert s.details["instructions"] == {
        "punctuation:no_comma": False,
        "length_constraints:number_words": True,
        "startend:quotation": False,
    }
    assert s.details["mode"] == "strict" and s.details["followed"] == 1 and s.details["total"] == 3
    json.dumps(s.details)  # `rewardkit score` writes details out
    assert (
        score_one(r, completion, params={"aggregate": "all"}, instruction_id_list=IDS, kwargs=KWARGS).value
        == 0.0
    )
    good = '"one two three four"'
    assert (
        score_one(r, good, params={"aggregate": "all"}, instruction_id_list=IDS, kwargs=KWARGS).value == 1.0
    )


def test_loose_mode_param(kit: RewardKit) -> None:
    r = kit.registry.reward("ifeval.instructions")
    completion = [{"role": "assistant", "content": 'Here you go:\n"one two three four"'}]
    assert score_one(r, completion, instruction_id_list=IDS, kwargs=KWARGS).value == pytest.approx(2 / 3)
    loose = score_one(r, completion, params={"mode": "loose"}, instruction_id_list=IDS, kwargs=KWARGS)
    assert loose.value == 1.0 and loose.details["mode"] == "loose"


def test_thinking_is_not_judged(kit: RewardKit) -> None:
    r = kit.registry.reward("ifeval.instructions")
    completion = "<think>Hmm, commas, commas.</think>\nno commas in the answer"
    assert score_one(r, completion, instruction_id_list=["punctuation:no_comma"], kwargs=[{}]).value == 1.0
    kept = score_one(
        r,
        completion,
        params={"strip_think": False},
        instruction_id_list=["punctuation:no_comma"],
        kwargs=[{}],
    )
    assert kept.value == 0.0


def test_tulu3_rows_through_both_rewards(kit: RewardKit) -> None:
    truth = json.dumps({"func_name": "validate_lowercase", "N": None, "quantifier": None})
    row = {"ground_truth": truth, "dataset": "ifeval", "constraint_type": "Change Cases"}
    text_ok = "this answer is written in english and only uses lowercase letters throughout."
    for name in ("ifeval.instructions", "ifeval.tulu3"):
        r = kit.registry.reward(name)
        ok = score_one(r, text_ok, **row)
        assert ok.value == 1.0 and ok.details["instructions"] == {"change_case:english_lowercase": True}
        assert ok.details["format"] == "tulu3"
        assert score_one(r, text_ok.capitalize(), **row).value == 0.0


def test_rows_without_instructions_are_not_applicable(kit: RewardKit) -> None:
    # A math row of a mixed RLVR dataset: its ground truth is an answer, not a constraint.
    for name in ("ifeval.instructions", "ifeval.tulu3"):
        s = score_one(kit.registry.reward(name), "The answer is 8.", ground_truth="8", dataset="MATH")
        assert s.value is None and s.ok


def test_bad_rows_fail_with_a_reason(kit: RewardKit) -> None:
    r = kit.registry.reward("ifeval.instructions")
    s = score_one(r, "text", instruction_id_list=["punctuation:no_commas"], kwargs=[{}])
    assert s.value is None and "did you mean 'punctuation:no_comma'" in (s.error or "")
    s = score_one(kit.registry.reward("ifeval.tulu3"), "text", ground_truth='{"func_name": "nope"}')
    assert s.value is None and "unknown Tulu 3 func_name" in (s.error or "")


def test_kwargs_as_json_string_column(kit: RewardKit) -> None:
    r = kit.registry.reward("ifeval.instructions")
    s = score_one(r, "a b c d", instruction_id_list=IDS[:2], kwargs=json.dumps(KWARGS[:2]))
    assert s.value == 1.0


@pytest.mark.parametrize(
    ("params", "message"), [({"mode": "lenient"}, "strict"), ({"aggregate": "mean"}, "fraction")]
)
def test_bad_params(kit: RewardKit, params: dict, message: str) -> None:
    r = kit.registry.reward("ifeval.instructions")
    with pytest.raises(RewardParamsError, match=message):
        score_one(r, "x", params=params, instruction_id_list=IDS, kwargs=KWARGS)
    with pytest.raises(RewardParamsError, match="has no parameter"):
        r.check_params({"strictness": "high"})
