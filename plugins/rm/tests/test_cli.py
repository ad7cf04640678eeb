"""rm.score as users meet it: a recipe through ``rewardkit score`` on a JSONL, and bad models refused at
validation (``rewardkit validate`` and engine construction), before any sample is scored."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rewardkit import RewardParamsError, RewardSpec, ScoringEngine


def rewardkit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rewardkit.cli", *args], check=False, capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_rewardkit_score_with_a_recipe_end_to_end(rm_run, pairs, tmp_path):
    rows = [{"prompt": p["question"], "completion": p[k], "answer": p["answer"], "group": i}
            for i, p in enumerate(pairs[24:]) for k in ("worked", "bare")]
    inp, out = tmp_path / "rollouts.jsonl", tmp_path / "scored.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = tmp_path / "rm.yaml"
    recipe.write_text(f"""\
name: rm-score
rewards:
  - name: rm.score
    id: rm
    params: {{model: "{rm_run}", batch_size: 8}}
  - name: rm.score
    id: rm_pair
    weight: 0
    params: {{model: "{rm_run}", normalize: group}}
scoring: {{deadline: 120}}
""")
    # the pair id as the group: each pair normalised on its own (chosen and rejected: +1 and -1)
    done = rewardkit("score", "--recipe", str(recipe), "--input", str(inp), "--output", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    scored = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["group"] for r in scored] == [r["group"] for r in rows] and not any(r["errors"] for r in scored)
    rm = [r["rewards"]["rm"] for r in scored]
    assert sum(rm[2 * i] > rm[2 * i + 1] for i in range(16)) >= 14
    assert all(r["reward"] == pytest.approx(r["rewards"]["rm"]) for r in scored)  # rm_pair weighs 0
    for r in scored:
        assert r["reward_details"]["rm"]["raw"] == r["rewards"]["rm"]
        assert r["rewards"]["rm_pair"] == pytest.approx(1.0 if r["rewards"]["rm"] == max(
            x["rewards"]["rm"] for x in scored if x["group"] == r["group"]) else -1.0)


def test_a_missing_model_folder_fails_validation_not_samples(tmp_path, rm_run):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("""\
name: bad-rm
rewards:
  - name: rm.score
    params: {model: ./runs/no-such-run/00-reward_model/model}
""")
    out = rewardkit("validate", str(recipe), cwd=tmp_path)
    assert out.returncode == 2
    assert "bad.yaml:4: rewards[0].params: no reward model folder at './runs/no-such-run" in out.stderr
    assert "train one with a `reward_model` stage" in out.stderr

    from rewardkit_rm import resolve_model

    model_dir = str(rm_run / "00-reward_model" / "model")
    assert resolve_model(str(rm_run)) == resolve_model(str(rm_run / "00-reward_model")) == model_dir
    for model, message in [(str(tmp_path), "is a folder but not a model"), (None, "rm.score needs `model`")]:
        with pytest.raises(RewardParamsError, match=message):
            ScoringEngine([RewardSpec("rm.score", params={"model": model})])
    (tmp_path / "empty-run").mkdir()
    (tmp_path / "empty-run" / "manifest.json").write_text(json.dumps({"stages": [
        {"index": 0, "label": "sft", "status": "done", "result": {"model": "x"}}]}))
    with pytest.raises(RewardParamsError, match="has no finished reward_model stage"):
        ScoringEngine([RewardSpec("rm.score", params={"model": str(tmp_path / "empty-run")})])


@pytest.mark.parametrize("params, message", [
    ({"normalize": "batch"}, "normalize must be one of"),
    ({"group_size": 8}, "only applies with normalize: group"),
    ({"device": "gpu"}, "device must be"),
    ({"dtype": "fp16"}, "dtype must be one of"),
    ({"reference_template": "{prompt} only"}, "must contain {prompt} and {reference}"),
    ({"reference_required": True}, "needs reference_column"),
    ({"chat": "yes"}, "chat must be auto, true or false"),
    ({"max_length": 0}, "max_length must be"),
])
def test_bad_values_fail_when_the_engine_is_built(rm_dir, params, message):
    with pytest.raises(RewardParamsError, match=message):
        ScoringEngine([RewardSpec("rm.score", params={"model": str(rm_dir), **params})])


def test_a_hub_id_passes_validation_and_a_failed_load_is_reported_per_batch_once(tmp_path, monkeypatch):
    """The hub is unreachable here: the load fails with the reason, for the batch, and is not retried."""
    import huggingface_hub.constants
    from transformers import AutoConfig

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # fail at once, not after retries

    loads = []
    original = AutoConfig.from_pretrained

    def counting(*args, **kwargs):
        loads.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(AutoConfig, "from_pretrained", counting)
    from rewardkit.testing import make_sample

    with ScoringEngine([RewardSpec("rm.score", params={"model": "nobody/no-such-reward-model"})]) as eng:
        for _ in range(2):
            out = eng.score_reward("rm.score", [make_sample("4", "2+2?"), make_sample("5", "2+2?")])
            assert all(s.value is None and "cannot load the reward model 'nobody/no-such-reward-model'" in s.error
                       for s in out)
    assert loads == ["nobody/no-such-reward-model"]


def test_importing_the_plugin_stays_light():
    code = "import sys, rewardkit_rm; print([m for m in ('torch', 'transformers', 'trl') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]"
