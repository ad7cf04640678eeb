"""The judge rewards' arithmetic and bookkeeping: means over judge samples, swap averaging against
position bias, group credits, None-with-reason, stats, params checks, the engine.

The judge here is a *scripted* backend (registered like a third-party backend plugin would be): its
verdicts are chosen by the test, so the reward arithmetic can be checked exactly. Real judges are in
test_real_judge.py (SmolLM2, local) and test_http.py (a real server).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest
from rewardkit import RewardParamsError, Score
from rewardkit.plugins import default_kit
from rewardkit.testing import make_sample
from rewardkit_judge import Completion, JudgeBackend, pairwise, pairwise_group, pointwise, reference, stats

QUESTION = "A pen costs $4. How much do 3 pens cost?"
RIGHT, WRONG = "3 * 4 = 12. The answer is 12.", "3 + 4 = 7. The answer is 7."


class ScriptedJudge(JudgeBackend):
    """A judge whose behaviour is its model name: ``says:TEXT``; ``cycle:4,7,10`` (pointwise scores,
    one per judge sample); ``always-A`` (position bias); ``prefers-12`` (the response saying 12 wins,
    a tie otherwise); ``fails`` (every conversation errors, timed out)."""

    name = "scripted"
    asked: ClassVar[list[list[dict[str, Any]]]] = []

    def complete(self, conversations: Sequence[Any], *, n: int = 1, temperature: float = 0.0,
                 max_new_tokens: int = 256, timeout: float | None = None) -> list[Completion]:
        ScriptedJudge.asked.extend(conversations)
        return [self._answer(conv, n) for conv in conversations]

    def _answer(self, conv: Any, n: int) -> Completion:
        model, text = self.model, conv[-1]["content"]
        if model == "fails":
            return Completion(error="no answer within 1s", timed_out=True)
        if model.startswith("says:"):
            out = [model[5:]] * n
        elif model.startswith("cycle:"):
            out = [f"Reasoning.\nScore: {s}" for s in model[6:].split(",")][:n]
        elif model == "always-A":
            out = ["Both fine.\n[[A]]"] * n
        elif model == "prefers-12":
            a = re.search(r"\[Response A\]\n(.*?)\n\n\[Response B\]\n(.*?)\n\n", text, re.DOTALL)
            assert a, text
            wins = ["12" in a.group(1), "12" in a.group(2)]
            out = ["[[A]]" if wins == [True, False] else "[[B]]" if wins == [False, True] else "[[C]]"] * n
        else:
            raise AssertionError(model)
        return Completion(texts=out, finish_reasons=["stop"] * len(out))


@pytest.fixture(autouse=True, scope="module")
def _registered():
    default_kit().registry.add_judge_backend("scripted", ScriptedJudge)
    yield


def judge(**params: Any) -> dict[str, Any]:
    return {"backend": "scripted", **params}


def test_pointwise_value_details_and_stats() -> None:
    [score] = pointwise([make_sample(RIGHT, QUESTION)], **judge(model="says:Correct and clear.\nScore: 7"))
    assert score.value == pytest.approx(6 / 9)
    assert score.reason == "judge score 7/10"
    assert score.details["verdicts"] == ["7"] and score.details["parsed"] == 1 and score.details["judged"] == 1
    assert score.details["judge_tail"].endswith("Score: 7")
    assert score.details["backend"] == "scripted"
    assert stats()["pointwise"] == {"judged": 1, "parsed": 1, "unparseable": 0, "failed": 0, "parse_rate": 1.0}


def test_samples_are_averaged() -> None:
    [score] = pointwise([make_sample(RIGHT, QUESTION)], **judge(model="cycle:4,7,10", samples=3, temperature=0.7))
    assert score.value == pytest.approx(((4 - 1) + (7 - 1) + (10 - 1)) / 27)
    assert score.details["verdicts"] == ["4", "7", "10"]
    assert "mean of 3" in score.reason


def test_unparseable_verdict_is_none_with_the_reason_and_counted() -> None:
    samples = [make_sample(RIGHT, QUESTION), make_sample(WRONG, QUESTION)]
    scores = pointwise(samples, **judge(model="says:I think it is quite good."))
    for score in scores:
        assert score.value is None and not score.ok
        assert score.reason == "unparseable verdict"
        assert "no 1-10 score found" in score.error
        assert score.details["verdicts"] == [None] and score.details["parsed"] == 0
        assert score.details["unparseable"] == ["no 1-10 score found (expected a last line like 'Score: 7')"]
    assert stats()["pointwise"]["unparseable"] == 2 and stats()["pointwise"]["parse_rate"] == 0.0


def test_out_of_range_is_not_clipped() -> None:
    [score] = pointwise([make_sample(RIGHT, QUESTION)], **judge(model="says:Score: 12"))
    assert score.value is None and "outside 1-10" in score.error


def test_judge_failure_is_none_not_zero() -> None:
    [score] = pointwise([make_sample(RIGHT, QUESTION)], **judge(model="fails"))
    assert score.value is None and score.timed_out and score.reason == "timeout"
    assert "no answer within 1s" in score.error
    assert stats()["pointwise"]["failed"] == 1 and stats()["pointwise"]["judged"] == 0


def test_reference_pass_fail_and_not_applicable() -> None:
    rows = [make_sample(RIGHT, QUESTION, answer="12"), make_sample(RIGHT, QUESTION)]
    passed, missing = reference(rows, **judge(model="says:Both say 12.\nVerdict: PASS"))
    assert passed.value == 1.0 and passed.reason.startswith("PASS")
    assert missing.value is None and missing.ok and "no reference answer" in missing.reason
    [failed] = reference(rows[:1], **judge(model="says:12 vs 7.\nVerdict: FAIL"))
    assert failed.value == 0.0


def test_reference_column_param() -> None:
    ScriptedJudge.asked.clear()
    [score] = reference([make_sample(RIGHT, QUESTION, answer="12", gold_number="12.0")],
                        **judge(model="says:Verdict: PASS", reference_column="gold_number"))
    assert score.value == 1.0
    assert "12.0" in ScriptedJudge.asked[-1][-1]["content"]
    [none] = reference([make_sample(RIGHT, QUESTION, answer="12")],
                       **judge(model="says:Verdict: PASS", reference_column="gold_number"))
    assert none.value is None and "column 'gold_number'" in none.reason


def test_swap_cancels_position_bias() -> None:
    """A judge that always picks the first response: 1.0 without swap, 0.5 with it, flagged inconsistent."""
    row = make_sample(WRONG, QUESTION, baseline=RIGHT)
    [biased] = pairwise([row], **judge(model="always-A", swap=False))
    assert biased.value == 1.0 and biased.details["orders"] == ["completion=A"]
    [fair] = pairwise([row], **judge(model="always-A", swap=True))
    assert fair.value == 0.5
    assert fair.details["orders"] == ["completion=A", "completion=B"]
    assert fair.details["verdicts"] == ["A", "A"] and fair.details["consistent"] is False


def test_pairwise_against_baseline_or_reference() -> None:
    ScriptedJudge.asked.clear()
    better, worse, from_ref, none = pairwise(
        [make_sample(RIGHT, QUESTION, baseline=WRONG), make_sample(WRONG, QUESTION, baseline=RIGHT),
         make_sample(WRONG, QUESTION, answer="The answer is 12."), make_sample(WRONG, QUESTION)],
        **judge(model="prefers-12"))
    assert better.value == 1.0 and better.details["consistent"] is True and better.details["baseline"] == "baseline"
    assert worse.value == 0.0 and "worse than" in worse.reason
    assert from_ref.value == 0.0 and from_ref.details["baseline"] == "reference"
    assert none.value is None and none.ok and "no 'baseline' column nor reference" in none.reason
    # 3 rows judged in both orders; the reference that is the opponent is not also shown as the answer key
    assert len(ScriptedJudge.asked) == 6
    assert not any("[Reference answer" in conv[-1]["content"] for conv in ScriptedJudge.asked[4:6])
    [no_fallback] = pairwise([make_sample(WRONG, QUESTION, answer="12")],
                             **judge(model="prefers-12", fallback_to_reference=False))
    assert no_fallback.value is None


def test_pairwise_group_ring() -> None:
    """Each completion meets the next one (the last the first): c0 beats both, c1 and c2 tie each other."""
    group = [make_sample(RIGHT, QUESTION), make_sample(WRONG, QUESTION), make_sample("The answer is 9.", QUESTION)]
    ScriptedJudge.asked.clear()
    scores = pairwise_group(group, **judge(model="prefers-12"))
    assert [s.value for s in scores] == [1.0, 0.25, 0.25]
    assert [s.details["opponents"] for s in scores] == [[1, 2], [0, 2], [0, 1]]
    assert len(ScriptedJudge.asked) == 6  # 3 pairs, both orders
    pair = pairwise_group(group[:2], **judge(model="prefers-12", swap=False))
    assert [s.value for s in pair] == [1.0, 0.0] and len(ScriptedJudge.asked) == 7
    [alone] = pairwise_group(group[:1], **judge(model="prefers-12"))
    assert alone.value is None and "nothing to compare" in alone.reason


@pytest.mark.parametrize("params, message", [
    ({"backend": "http", "model": "m"}, "needs `base_url`"),
    ({"backend": "transformers", "model": "m", "base_url": "http://x/v1"}, "drop `base_url`"),
    ({"model": ""}, "need `model`"),
    ({"model": "m", "samples": 3}, "temperature: 0"),
    ({"model": "m", "temperature": -1.0}, "temperature must be >= 0"),
    ({"model": "m", "timeout": 0}, "timeout must be a positive"),
    ({"model": "m", "template": "nope.txt"}, "is not a file"),
    ({"model": "m", "options": {"api_key": "sk-123"}}, "must not hold secrets"),
    ({"model": "m", "retries": -1}, "retries >= 0"),
])
def test_params_are_checked_up_front(params: dict, message: str) -> None:
    for r in (pointwise, reference, pairwise, pairwise_group):
        with pytest.raises(RewardParamsError, match=re.escape(message)):
            r.check_params(params)


def test_engine_scores_rows_with_json_details() -> None:
    from rewardkit import RewardSpec, ScoringEngine

    rows = [make_sample(c, QUESTION, answer="12", baseline=b) for c, b in [(RIGHT, WRONG), (WRONG, RIGHT), (WRONG, WRONG)]]
    specs = [RewardSpec("judge.pointwise", params=judge(model="says:Score: 9")),
             RewardSpec("judge.reference", params=judge(model="says:Verdict: FAIL")),
             RewardSpec("judge.pairwise", params=judge(model="prefers-12"))]
    with ScoringEngine(specs, deadline=10) as engine:
        scored = engine.score(rows)
    assert [s.scores["judge.pairwise"].value for s in scored] == [1.0, 0.0, 0.5]
    assert all(s.scores["judge.pointwise"].value == pytest.approx(8 / 9) for s in scored)
    for s in scored:
        json.dumps({k: v.to_dict() for k, v in s.scores.items()})
    assert isinstance(scored[0].scores["judge.reference"], Score)
