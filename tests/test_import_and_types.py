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
