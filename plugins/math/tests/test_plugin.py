"""Registration through the rewardkit hook, the shared parsers, and math.multiple_choice."""

import json

import pytest
from rewardkit import RewardParamsError
from rewardkit.testing import score_one, shared_data_dir

from rewardkit_math import gsm8k, multiple_choice


def test_plugin_registers_rewards_and_parsers():
    from rewardkit.plugins import default_kit

    registry = default_kit().registry
    for name in ("math.accuracy", "math.gsm8k", "math.multiple_choice"):
        assert registry.reward(name).plugin == "math"
    assert registry.reward("math.accuracy").mode == "batch"
    assert registry.parser("math.boxed")("so \\boxed{\\frac{1}{2}}") == "\\frac{1}{2}"
    assert registry.parser("math.gsm8k_hashes")("work\n#### 1,234") == "1,234"
    assert registry.parser("math.number")("$1,234.50") == 1234.5
    assert registry.parser("math.last_letter")("I pick (B), no wait, (D).") == "D"


@pytest.mark.parametrize("completion, gold, value", [
    ("The answer is (C).", "C", 1.0),
    ("\\boxed{B}", "(B)", 1.0),
    ("<answer>D</answer>", "\\text{(D)}", 1.0),
    ("Answer: A", "C", 0.0),
    ("Between (A) and (E), I choose (E)", "E", 1.0),
    ("\\boxed{\\text{(B)}}", 1, 1.0),  # gold as a 0-based index
    ("I cannot decide.", "A", 0.0),
])
def test_multiple_choice(completion, gold, value):
    assert score_one(multiple_choice, completion, answer=gold).value == value


def test_multiple_choice_not_scorable_and_params():
    assert score_one(multiple_choice, "(A)", answer="42").value is None
    assert score_one(multiple_choice, "(F)", answer="F", params={"choices": "ABCDEF"}).value == 1.0
    with pytest.raises(RewardParamsError, match="choices"):
        score_one(multiple_choice, "(A)", answer="A", params={"choices": "12"})
    with pytest.raises(RewardParamsError, match="extract"):
        score_one(multiple_choice, "(A)", answer="A", params={"extract": "auto"})


def test_gsm8k_edge_cases():
    assert score_one(gsm8k, "The answer is -3.", answer="#### -3").value == 1.0
    assert score_one(gsm8k, "It is $1,000.00", answer="#### 1000").value == 1.0
    assert score_one(gsm8k, "\\boxed{\\text{five}} so 5", answer="#### 5").value == 1.0  # next extractor
    assert score_one(gsm8k, "about 3.3", answer="#### 3.33", params={"rel_tol": 0.01}).value == 1.0
    assert score_one(gsm8k, "about 3.3", answer="#### 3.33").value == 0.0
    assert score_one(gsm8k, "no number", answer="#### 3").value == 0.0
    assert score_one(gsm8k, "5", answer="no number here").value is None


def test_tulu3_rlvr_rows_score_with_their_ground_truth():
    """The Tulu 3 RLVR mixture stores golds in `ground_truth`: MATH rows use math.accuracy, GSM8K rows gsm8k."""
    from rewardkit.testing import make_sample
    from rewardkit_math import accuracy

    with open(shared_data_dir() / "tulu3_rlvr" / "sample.jsonl") as f:
        rows = [json.loads(line) for line in f]
    math_rows = [r for r in rows if "math" in r["dataset"].lower() and "gsm" not in r["dataset"].lower()]
    gsm_rows = [r for r in rows if "gsm" in r["dataset"].lower()]
    assert math_rows and gsm_rows
    samples = [make_sample(f"Thus the answer is $\\boxed{{{r['ground_truth']}}}$", ground_truth=r["ground_truth"])
               for r in math_rows]
    for fast_path in (True, False):
        params = {"answer_column": "ground_truth", "fast_path": fast_path}
        assert [s.value for s in accuracy.score(samples, params)] == [1.0] * len(math_rows)
    for r in gsm_rows:
        sample = make_sample(f"So the answer is {r['ground_truth']}.", ground_truth=r["ground_truth"])
        assert gsm8k.score([sample], {"answer_column": "ground_truth"})[0].value == 1.0
