"""GRPO's options and TRL variants: prompt selection by reward variance (Qwen 2.5), dynamic sampling
(DAPO) and a non-default loss with clip-higher, on the tiny model."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import _rk_rewards as rk


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_agreeing_groups():
    import torch
    from rewardkit.train.grpo import agreeing_groups

    nan = float("nan")
    # NaN is "not applicable": one scored sample, or none, leaves nothing to compare (zero advantage)
    rewards = torch.tensor([1.0, 1.0, 0.0, 1.0, nan, 0.5, nan, nan, 0.2, 0.2])
    assert agreeing_groups(rewards, 2).tolist() == [True, False, True, True, True]
    rewards = torch.tensor([1.0, 0.0, 1.0, 0.3, nan, 0.3, 0.3, nan, 0.4])
    assert agreeing_groups(rewards, 3).tolist() == [False, True, False]
    # several reward columns: a group agrees when every column does (NaN: not applicable)
    per_func = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, nan], [0.0, nan]])
    assert agreeing_groups(per_func, 2).tolist() == [False, True]


def test_variance_selection_drops_prompts_whose_rewards_agree(tiny_model, tmp_path, cli):
    recipe = tmp_path / "select.yaml"
    recipe.write_text(f"""\
name: select
model: {{name_or_path: {tiny_model}}}
data: {{path: {rk.write_prompts(tmp_path / "prompts.jsonl", 7)}}}
rewards:
  - {{name: python, id: parity, params: {{function: "_rk_rewards:prompt_parity"}}}}
stages:
  - type: grpo
    args: {{max_steps: 1, per_device_train_batch_size: 4, num_generations: 2, max_completion_length: 6}}
    options: {{select_by_variance: true, selection_samples: 3, min_reward_std: 0.0, max_prompts: 3}}
""")
    out = cli("run", str(recipe), "--output-dir", str(tmp_path / "run"), env=rk.cli_env())
    assert out.returncode == 0, out.stderr[-3000:]
    stage = tmp_path / "run" / "00-grpo"
    report = json.loads((stage / "selection.json").read_text())
    per_prompt = {int(p["prompt"].split()[-1]): p for p in report["per_prompt"]}
    # even-numbered prompts score 1.0 whatever the model says: std 0, dropped
    for n in (2, 4, 6):
        assert per_prompt[n]["std"] == 0.0 and per_prompt[n]["mean"] == 1.0 and not per_prompt[n]["kept"]
    # the odd ones vary; max_prompts keeps the 3 with the highest std (of 4)
    odd = sorted((1, 3, 5, 7), key=lambda n: -per_prompt[n]["std"])
    assert all(per_prompt[n]["std"] > 0 for n in odd)
    assert [n for n in odd if per_prompt[n]["kept"]] == odd[:3]
    assert (report["prompts"], report["kept"], report["dropped"]) == (7, 3, 4)
    # the std is that of the scored samples written beside it
    samples = read_jsonl(stage / "selection_samples.jsonl")
    assert len(samples) == 21
    values = [r["reward"] for r in samples if r["prompt"][-1]["content"].endswith(" 1")]
    mean = sum(values) / 3
    assert math.isclose(per_prompt[1]["std"], math.sqrt(sum((v - mean) ** 2 for v in values) / 3))
    [result] = json.loads((tmp_path / "run" / "results.json").read_text())
    assert result["selection"]["kept"] == 3 and result["steps"] == 1
    # GRPO trained on the kept prompts only: an even one would make a group whose rewards agree
    [step] = [r for r in read_jsonl(stage / "metrics.jsonl") if "frac_reward_zero_std" in r]
    assert step["frac_reward_zero_std"] == 0.0 and step["rewards/parity/mean"] < 1.0
    # reward_stats.json is training's: 1 step x 4 completions (the selection pass scored on its own)
    assert json.loads((stage / "reward_stats.json").read_text())["parity"]["scored"] == 4


def test_variance_selection_with_nothing_left_says_what_to_do(tiny_model, tmp_path):
    from rewardkit.recipe import RecipeError
    from rewardkit.train.grpo import run_grpo_stage

    recipe = tmp_path / "select.yaml"
    recipe.write_text(f"""\
name: select-none
model: {{name_or_path: {tiny_model}}}
data: {{path: {rk.write_prompts(tmp_path / "prompts.jsonl", 2)}}}
rewards: [{{name: exact_match}}]
stages:
  - type: grpo
    args: {{max_steps: 1, per_device_train_batch_size: 2, num_generations: 2, max_completion_length: 4}}
    options: {{select_by_variance: true, selection_samples: 2}}
""")
    with pytest.raises(RecipeError) as error:
        run_grpo_stage(rk.stage_run(recipe, tmp_path / "stage"))
    assert "stages[0].options.min_reward_std: no prompt's reward std is above 0.0" in str(error.value)
    assert "lower min_reward_std" in str(error.value)
    assert json.loads((tmp_path / "stage" / "selection.json").read_text())["kept"] == 0


def test_dynamic_sampling_masks_agreeing_groups(tiny_model, tmp_path):
    """Straight on the trainer: the rows of groups whose rewards agree leave the loss mask and the
    token count; the others are untouched."""
    from datasets import Dataset
    from rewardkit import RewardSpec, ScoringEngine
    from rewardkit.train.grpo import DROPPED_GROUPS, dynamic_sampling_trainer
    from trl import GRPOConfig

    sys.path.insert(0, str(rk.HERE))
    engine = ScoringEngine([RewardSpec("python", params={"function": "_rk_rewards:prompt_parity"})])
    prompts = [f"Say something about number {i}" for i in (1, 2, 3, 4)]
    config = GRPOConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, per_device_train_batch_size=8,
                        num_generations=2, max_completion_length=6, report_to="none", save_strategy="no", seed=0)
    trainer = dynamic_sampling_trainer()(model=str(tiny_model), reward_funcs=engine.trl_reward_funcs(), args=config,
                                         train_dataset=Dataset.from_list([{"prompt": p} for p in prompts]))
    trainer.model.train()
    inputs = [{"prompt": p} for p in prompts for _ in range(2)]
    batch = trainer._generate_and_score_completions(inputs)
    mask = batch["completion_mask"]
    kept = mask.sum(dim=1) > 0
    # numbers 2 and 4 (rows 2, 3, 6, 7) always score 1.0: dropped; 1 and 3 vary: kept
    assert kept.tolist() == [True, True, False, False, True, True, False, False]
    assert int(batch["num_items_in_batch"]) == int(mask.sum())
    assert trainer._metrics["train"][DROPPED_GROUPS] == [2.0]
    assert (trainer.dropped_groups, trainer.seen_groups) == (2, 4)


def test_dapo_style_grpo_recipe(tiny_model, tmp_path, cli):
    """A non-default loss (dr_grpo) with DAPO's clip-higher and dynamic sampling, through a recipe."""
    recipe = tmp_path / "dapo.yaml"
    recipe.write_text(f"""\
name: dapo
model: {{name_or_path: {tiny_model}}}
data: {{path: {rk.write_prompts(tmp_path / "prompts.jsonl", 4)}}}
rewards:
  - {{name: python, id: parity, params: {{function: "_rk_rewards:prompt_parity"}}}}
stages:
  - type: grpo
    args: {{max_steps: 2, per_device_train_batch_size: 4, num_generations: 2, max_completion_length: 6,
            loss_type: dr_grpo, epsilon: 0.2, epsilon_high: 0.28}}
    options: {{dynamic_sampling: true}}
""")
    out = cli("run", str(recipe), "--output-dir", str(tmp_path / "run"), env=rk.cli_env())
    assert out.returncode == 0, out.stderr[-3000:]
    stage = tmp_path / "run" / "00-grpo"
    [result] = json.loads((tmp_path / "run" / "results.json").read_text())
    # 2 steps x 2 prompts = the 4 prompts once each; the 2 even ones agree
    assert result["steps"] == 2 and result["dynamic_sampling"] == {"dropped_groups": 2, "groups": 4}
    steps = [r for r in read_jsonl(stage / "metrics.jsonl") if "dynamic_sampling/dropped_groups" in r]
    assert len(steps) == 2 and sum(r["dynamic_sampling/dropped_groups"] for r in steps) == 2
    assert all("clip_ratio/high_mean" in r for r in steps)
    assert (stage / "reward_curves.png").stat().st_size > 0
    import torch

    args = torch.load(stage / "model" / "training_args.bin", weights_only=False)
    assert (args.loss_type, args.epsilon, args.epsilon_high) == ("dr_grpo", 0.2, 0.28)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(stage / "model")
    tok = AutoTokenizer.from_pretrained(stage / "model")
    ids = tok("Say something", return_tensors="pt")
    assert model.generate(**ids, max_new_tokens=3, do_sample=False).shape[1] == ids["input_ids"].shape[1] + 3


def test_selection_needs_two_samples(tiny_model, tmp_path):
    from rewardkit.recipe import RecipeError
    from rewardkit.train.grpo import run_grpo_stage

    recipe = tmp_path / "bad.yaml"
    recipe.write_text(f"""\
name: bad
model: {{name_or_path: {tiny_model}}}
data: {{path: {rk.write_prompts(tmp_path / "prompts.jsonl", 2)}}}
rewards: [{{name: exact_match}}]
stages:
  - type: grpo
    args: {{max_steps: 1, per_device_train_batch_size: 2, num_generations: 2}}
    options: {{select_by_variance: true, selection_samples: 1}}
""")
    with pytest.raises(RecipeError, match=r"stages\[0\]\.options\.selection_samples: the selection pass needs at "
                       "least 2 samples"):
        run_grpo_stage(rk.stage_run(recipe, tmp_path / "stage"))
