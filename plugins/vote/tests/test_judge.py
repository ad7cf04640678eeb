"""vote.judge: votes of several judge samples, a real local judge, and the policy's latest checkpoint as
the judge."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rewardkit import RewardParamsError, RewardSpec, ScoringEngine
from rewardkit.testing import build_tiny_model, make_sample, real_instruct_model
from rewardkit_vote import checkpoints, judge, tally

DATA = Path(__file__).parent / "data"
QUESTION = ("Janet's ducks lay 16 eggs per day. She eats three for breakfast and bakes muffins with four. "
            "She sells the rest for $2 per egg. How much in dollars does she make every day?")


@pytest.fixture(autouse=True)
def _close_judges():
    yield
    from rewardkit_judge import clear_backends

    checkpoints.clear()
    clear_backends()


# -- the vote over one completion's judge samples ----------------------------------------------------
def test_majority_and_mean_of_pass_fail_verdicts():
    texts = ["The final answers are both 18.\nVerdict: PASS", "They differ.\nVerdict: FAIL",
             "Same number.\n**Verdict:** PASS", "I cannot tell."]
    s = tally("reference", texts)
    assert s.value == 1.0 and s.details["votes"] == {"PASS": 2, "FAIL": 1}
    assert s.details["parsed"] == 3 and s.details["judged"] == 4
    assert s.details["share"] == pytest.approx(2 / 3)
    assert s.details["verdicts"] == ["PASS", "FAIL", "PASS", None] and len(s.details["unparseable"]) == 1
    assert tally("reference", texts, aggregate="mean").value == pytest.approx(2 / 3)


def test_pointwise_votes_by_rounded_score_and_mean_by_exact_score():
    texts = ["Verdict: 7", "Good but verbose. Verdict: 7.4", "Verdict: 3", "Score: 9/10"]
    s = tally("pointwise", texts)
    assert s.value == pytest.approx(6 / 9) and s.details["votes"] == {"7": 2, "3": 1, "9": 1}
    assert tally("pointwise", texts, aggregate="mean").value == pytest.approx((6 + 6.4 + 2 + 8) / 9 / 4)


def test_ties_average_and_min_agreement_gives_none():
    tied = tally("reference", ["Verdict: PASS", "Verdict: FAIL"])
    assert tied.value == 0.5 and tied.details["tied"] == ["FAIL", "PASS"]
    split = tally("reference", ["Verdict: PASS", "Verdict: FAIL", "Verdict: PASS"], min_agreement=0.75)
    assert split.value is None and split.error is None and "below min_agreement 75%" in split.reason
    assert split.details["share"] == pytest.approx(2 / 3)


def test_no_parseable_verdict_is_an_error_not_a_zero():
    s = tally("reference", ["hmm", "I think so"])
    assert s.value is None and "no verdict could be parsed from 2 judge sample(s)" in s.error


@pytest.mark.parametrize("params, message", [
    ({}, "needs `model`"),
    ({"model": "m", "kind": "pairwise"}, "kind must be one of"),
    ({"model": "m", "n": 3, "temperature": 0.0}, "same greedy question 3 times"),
    ({"model": "latest:runs/x/01-grpo", "backend": "http", "base_url": "http://127.0.0.1:1/v1"},
     "this process"),
    ({"model": "m", "initial_model": "m0"}, "with a fixed model, remove it"),
    ({"model": "m", "aggregate": "median"}, "majority or mean"),
    ({"model": "m", "template": "no/such/template.txt"}, "is not a file"),
])
def test_bad_params_fail_before_scoring(params, message):
    with pytest.raises(RewardParamsError, match=message):
        ScoringEngine([RewardSpec("vote.judge", params=params)])


# -- a judge model in this process ------------------------------------------------------------------
def test_tiny_local_judge_through_the_engine(tiny_model):
    rows = [make_sample("16 - 3 - 4 = 9, and 9 * 2 = 18. The answer is 18.", prompt=QUESTION, answer="18"),
            make_sample("The answer is 26.", prompt=QUESTION, answer="18"),
            make_sample("The answer is 18.", prompt=QUESTION)]  # no reference: nothing to judge against
    spec = RewardSpec("vote.judge", id="self", params={"kind": "reference", "model": str(tiny_model), "n": 3,
                                                       "temperature": 1.0, "max_new_tokens": 6,
                                                       "options": {"device": "cpu"}})
    with ScoringEngine([spec]) as engine:
        first, second, third = (s.scores["self"] for s in engine.score(rows))
    for s in (first, second):
        # a random-weight model writes no verdict: the reward says so (None with the reason), never 0
        assert s.details["judge"] == str(tiny_model) and s.details["judged"] == 3
        assert len(s.details["verdicts"]) == 3 and s.details["judge_tail"]
        assert s.value is None and "no verdict could be parsed from 3 judge sample(s)" in s.error
    assert third.value is None and third.error is None
    assert third.reason == "no reference answer to judge against"
    assert engine.stats["self"].calls == 1  # one batch call: the model generated 2 x 3 judge samples at once


def test_real_instruct_judge_votes():
    import torch

    model = real_instruct_model()
    rows = [make_sample("16 - 3 - 4 = 9 eggs, 9 * 2 = 18. The answer is 18.", prompt=QUESTION, answer="18"),
            make_sample("16 - 3 = 13 eggs, 13 * 2 = 26. The answer is 26.", prompt=QUESTION, answer="18")]
    torch.manual_seed(0)
    out = judge.score(rows, {"kind": "reference", "model": str(model),
                             "template": str(DATA / "grade_terse.txt"), "n": 5, "temperature": 0.7, "max_new_tokens": 12, "options": {"device": "cpu"}})
    for s in out:
        labels = [v for v in s.details["verdicts"] if v is not None]
        assert s.details["judged"] == 5 and s.details["parsed"] == len(labels) >= 1
        assert set(labels) <= {"PASS", "FAIL"} and sum(s.details["votes"].values()) == len(labels)
        # the value is the majority verdict of what the model actually wrote (a tie scores 0.5)
        passes, fails = labels.count("PASS"), labels.count("FAIL")
        assert s.value == (1.0 if passes > fails else 0.0 if fails > passes else 0.5)


# -- the policy's own latest checkpoint as the judge -------------------------------------------------
def _checkpoint(stage: Path, step: int, *, complete: bool = True, like: Path | None = None) -> Path:
    """A TRL-style checkpoint folder: a tiny model, or the files of the model ``like`` (linked)."""
    path = stage / f"checkpoint-{step}"
    if like is None:
        build_tiny_model(path, seed=step)
    else:
        path.mkdir(parents=True)
        for f in like.iterdir():
            (path / f.name).symlink_to(f.resolve())
    if complete:
        (path / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    return path


def test_latest_checkpoint_judge_switches_when_a_newer_one_appears(tmp_path, tiny_model):
    stage = tmp_path / "01-grpo"
    rows = [make_sample("The answer is 18.", prompt=QUESTION)]
    params = {"model": f"latest:{stage}", "n": 1, "temperature": 0.0, "max_new_tokens": 8,
              "options": {"device": "cpu"}}

    def ask(**extra):
        [s] = judge.score(rows, {**params, **extra})
        return s

    early = ask()
    assert early.value is None and "no complete checkpoint-N folder" in early.error
    assert "initial_model" in early.error
    assert ask(initial_model=str(tiny_model)).details["judge"] == str(tiny_model)
    _checkpoint(stage, 1)
    one = ask(initial_model=str(tiny_model))
    assert one.details["judge"] == str(stage / "checkpoint-1")
    # Step 2 is a trained model (here: the real instruct model's files), still being written at first.
    _checkpoint(stage, 2, complete=False, like=real_instruct_model())
    assert ask(initial_model=str(tiny_model)).details["judge"] == str(stage / "checkpoint-1")
    (stage / "checkpoint-2" / "trainer_state.json").write_text("{}")
    two = ask(initial_model=str(tiny_model))
    assert two.details["judge"] == str(stage / "checkpoint-2")
    # the new weights write the verdict now (greedy: the difference is the model's, not the sampling's)
    assert two.details["judge_tail"] != one.details["judge_tail"]
    assert any(c.isalpha() for c in two.details["judge_tail"])
    # checkpoint-12 sorts after checkpoint-2 by step, not by name
    _checkpoint(stage, 12)
    assert ask(initial_model=str(tiny_model)).details["judge"] == str(stage / "checkpoint-12")


def test_without_rewardkit_judge_majority_works_and_judge_says_what_to_install():
    # sys.modules[name] = None is Python's documented way to make `import name` fail in this process.
    code = """
import sys
sys.modules["rewardkit_judge"] = None
from rewardkit import RewardParamsError, RewardSpec, ScoringEngine, Sample
with ScoringEngine([RewardSpec("vote.majority")]) as engine:
    got = [r.total for r in engine.score([Sample(prompt="q", completion="\\\\boxed{2}")] * 2)]
assert got == [1.0, 1.0], got
try:
    ScoringEngine([RewardSpec("vote.judge", params={"model": "m"})])
except RewardParamsError as exc:
    print(exc)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "rewardkit-judge, which is not installed" in out.stdout
    assert "pip install 'rewardkit-vote[judge]'" in out.stdout
