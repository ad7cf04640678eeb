"""rewardkit.trl: the README's GRPOTrainer script runs, and forgetting the weights cannot pass unnoticed."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from rewardkit.trl import RewardWeightsWarning, grpo_rewards, reward_funcs

ROOT = Path(__file__).resolve().parents[1]


def readme_script() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    marker = "<!-- tested: tests/test_trl_adapter.py runs this script -->"
    found = re.search(re.escape(marker) + r"\n```python\n(.*?)```", text, re.DOTALL)
    assert found, "README.md lost its tested GRPOTrainer script (or its marker comment)"
    return found.group(1)


def test_readme_grpo_script_runs(tmp_path):
    (tmp_path / "recipes").symlink_to(ROOT / "recipes")  # the script names recipes/quickstart.yaml
    script = tmp_path / "train.py"
    script.write_text(readme_script(), encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    last = out.stdout.strip().splitlines()[-1]  # the script prints the last step's reward metrics
    for key in ("rewards/correct/mean", "rewards/format.think/mean", "rewards/format.overlong/mean"):
        assert f"'{key}'" in last
    assert "RewardWeightsWarning" not in out.stderr


def _trainer(tiny_model, tmp_path, funcs, **config):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    ds = Dataset.from_list([{"prompt": "What is 2+2?", "answer": "#### 4", "domain": "math"}] * 4)
    args = GRPOConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, max_steps=1,
                      per_device_train_batch_size=4, num_generations=4, max_completion_length=8,
                      report_to="none", save_strategy="no", **config)
    return GRPOTrainer(model=str(tiny_model), reward_funcs=funcs, args=args, train_dataset=ds)


BATCH = dict(
    inputs=[{"prompt": "What is 2+2?", "answer": "#### 4", "domain": "math"}] * 2,
    prompts=["What is 2+2?"] * 2,
    completions=["<think>2+2</think> #### 4", "#### 5"],
    completion_ids_list=[[1, 2, 3], [4, 5]],
)


def test_forgotten_weights_warn_and_passed_weights_do_not(tiny_model, tmp_path):
    rewards = grpo_rewards(ROOT / "recipes" / "quickstart.yaml")
    funcs, weights = rewards
    assert weights == [1.0, 0.2, 0.5] and rewards.config == {"reward_weights": weights}

    forgot = _trainer(tiny_model, tmp_path / "a", funcs)  # TRL's default: every weight 1
    with pytest.warns(RewardWeightsWarning, match=r"format\.think: 1 \(recipe: 0\.2\).*format\.overlong: 1"):
        per_func = forgot._calculate_rewards(**BATCH)
    assert per_func[:, 0].tolist() == [1.0, 0.0]  # correct: "#### 4" is right, "#### 5" is not

    funcs, weights = grpo_rewards(ROOT / "recipes" / "quickstart.yaml")
    passed = _trainer(tiny_model, tmp_path / "b", funcs, reward_weights=weights)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RewardWeightsWarning)
        passed._calculate_rewards(**BATCH)


def test_single_function_carries_the_weights_and_logs_each_reward(tiny_model, tmp_path):
    funcs = reward_funcs(ROOT / "recipes" / "quickstart.yaml")
    assert [f.__name__ for f in funcs] == ["rewardkit"]
    trainer = _trainer(tiny_model, tmp_path, funcs)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RewardWeightsWarning)
        totals = trainer._calculate_rewards(**BATCH)[:, 0].tolist()
    # first: correct 1 + think 0.2 x 1 + overlong 0.5 x 0; second: wrong and no <think>
    assert totals == pytest.approx([1.2, 0.0])
    assert trainer._pending_metrics["rewards/correct/mean"] == [0.5]
    assert trainer._pending_metrics["rewards/format.think/mean"] == [0.5]
