import subprocess
import sys

import pytest

from rewardkit import Reward, RewardParamsError, Sample, Score, reward


def test_import_rewardkit_is_light():
    code = ("import sys, rewardkit, rewardkit.engine, rewardkit.recipe, rewardkit.cli, rewardkit.batch;"
            "heavy=[m for m in ('torch','transformers','trl','datasets','ray') if m in sys.modules];"
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import rewardkit pulled in {out.stdout.strip()}"


def test_sample_from_row_text_and_messages():
    s = Sample.from_row({"prompt": [{"role": "user", "content": "2+2?"}],
                         "completion": [{"role": "assistant", "content": "4"}],
                         "answer": "4", "domain": "math", "extra": 1})
    assert s.prompt_text == "2+2?" and s.completion_text == "4"
    assert s.reference == "4" and s.domain == "math" and s.column("extra") == 1
    assert s.column("missing", "extra") == 1
    assert s.group_key == Sample(prompt=s.prompt).group_key  # same prompt -> same group
    assert Sample.from_row({"completion": "x", "group": 7}).group_key == "7"


def test_score_coercion():
    assert Score.coerce(True).value == 1.0
    assert Score.coerce(None).value is None
    assert Score.coerce(float("nan")).value is None
    assert Score.coerce(Score(0.5, reason="r")).reason == "r"
    with pytest.raises(TypeError, match="must return a float"):
        Score.coerce("1.0")


def test_reward_decorator_params_and_modes():
    @reward("t.len")
    def length(sample, *, scale: float = 1.0):
        """Length of the completion."""
        return len(sample.completion_text) * scale

    assert isinstance(length, Reward) and length.defaults == {"scale": 1.0}
    assert length.description == "Length of the completion."
    length.check_params({"scale": 2})
    with pytest.raises(RewardParamsError, match="no parameter 'scal'.*accepts: scale"):
        length.check_params({"scal": 2})
    assert [s.value for s in length.score([Sample(completion="abc")], {"scale": 2})] == [6.0]

    @reward("t.group", mode="group")
    def centred(samples):
        vals = [len(s.completion_text) for s in samples]
        return [v - sum(vals) / len(vals) for v in vals]

    assert [s.value for s in centred.score([Sample(completion="a"), Sample(completion="abc")], {})] == [-1.0, 1.0]

    @reward("t.bad", mode="batch")
    def wrong_count(samples):
        return [1.0]

    with pytest.raises(ValueError, match="returned 1 scores for 2 samples"):
        wrong_count.score([Sample(), Sample()], {})


def _positive(*, scale: float = 1.0) -> None:
    if scale <= 0:
        raise RewardParamsError(f"scale must be > 0, not {scale}; write e.g. scale: 0.5")


@reward("t.validated", validate=_positive)
def validated(sample, *, scale: float = 1.0):
    return scale


def test_validate_runs_on_params_and_direct_calls_not_per_engine_call(tmp_path):
    import pickle

    from rewardkit import RewardKit, ScoringEngine, RewardSpec, hookimpl
    from rewardkit.recipe import RecipeError, check_recipe, Recipe, RewardConfig

    validated.check_params({"scale": 2.0})
    with pytest.raises(RewardParamsError, match="scale must be > 0"):
        validated.check_params({"scale": -1})
    with pytest.raises(RewardParamsError, match="scale must be > 0"):
        validated(Sample(), scale=0)

    class P:
        __name__ = "validated-plugin"

        @hookimpl
        def rewardkit_register(self, registry):
            registry.add_reward(validated)

    kit = RewardKit([P()], entry_points=False)
    with pytest.raises(RewardParamsError, match="scale must be > 0"):
        ScoringEngine([RewardSpec("t.validated", params={"scale": -1})], kit=kit)
    problems = check_recipe(Recipe(name="r", rewards=[RewardConfig(name="t.validated", params={"scale": -1})]), kit=kit)
    assert [p.path for p in problems] == ["rewards[0].params"] and "write e.g. scale: 0.5" in problems[0].message
    assert problems[0].fix == ""  # no misleading "accepted params" hint for a bad value
    registered = kit.registry.reward("t.validated")
    copy = pickle.loads(pickle.dumps(registered))  # registry copies pickle by reference, plugin kept
    assert copy.plugin == "validated-plugin" and copy.fn is validated.fn and copy.validate is _positive
