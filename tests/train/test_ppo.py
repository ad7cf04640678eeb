"""The ppo stage: GAE by hand, the value model learning and saved in checkpoints, resuming, and a
recipe run end to end (a policy that generates, a value model that loads, metrics, reward curves)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

GSM8K = '"{shared_data}/gsm8k/test.jsonl"'


def ppo_recipe(tmp_path: Path, model: Path, args: str, options: str = "{}", name: str = "tiny-ppo") -> Path:
    recipe = tmp_path / f"{name}.yaml"
    recipe.write_text(f"""\
name: {name}
model: {{name_or_path: {model}}}
data:
  path: {GSM8K}
  columns: {{prompt: question}}
  limit: 8
  prompt_template: "{{prompt}} Put the final answer after ####."
rewards:
  - {{name: math.gsm8k, id: correct}}
  - {{name: regex_match, id: has_e, weight: 0.5, params: {{pattern: e}}}}
stages:
  - type: ppo
    args: {{{args}}}
    options: {options}
""")
    return recipe


def stage_run(recipe_path: Path, stage_dir: Path, model: Path, resume_from: str | None = None) -> Any:
    """The StageRun `rewardkit run` would hand the stage (in this process, to look inside it)."""
    from rewardkit.plugins import default_kit
    from rewardkit.recipe import load_recipe
    from rewardkit.stage import StageRun

    kit = default_kit()
    recipe = load_recipe(recipe_path, kit=kit)
    stage_dir.mkdir(parents=True, exist_ok=True)
    return StageRun(stage=recipe.stages[0], index=0, recipe=recipe, dir=stage_dir, model=str(model), kit=kit,
                    resume_from=resume_from)


# -- the arithmetic ----------------------------------------------------------------------------------
def test_gae_matches_a_hand_computed_example_and_ignores_padding():
    from rewardkit.train.ppo_gae import gae, token_rewards

    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    kl = torch.tensor([[0.5, -1.0, 7.0], [0.0, 0.0, 1.0]])  # 7.0 sits on padding: ignored
    rewards = token_rewards(torch.tensor([1.0, 2.0]), mask, kl, kl_coef=0.1)
    # row 0: -0.1*0.5, score 1 - 0.1*(-1) on its last token; row 1: the score 2 - 0.1 on the last token
    assert torch.allclose(rewards, torch.tensor([[-0.05, 1.1, 0.0], [0.0, 0.0, 1.9]]))

    values = torch.tensor([[0.5, 0.2, 9.0], [1.0, 0.5, 0.25]])  # 9.0 is padding: ignored
    advantages, returns = gae(rewards, values, mask, gamma=0.9, lam=0.5)
    # row 0: t=1: delta = 1.1 + 0.9*0 - 0.2 = 0.9           -> A1 = 0.9
    #        t=0: delta = -0.05 + 0.9*0.2 - 0.5 = -0.37     -> A0 = -0.37 + 0.9*0.5*0.9 = 0.035
    # row 1: t=2: delta = 1.9 - 0.25 = 1.65                 -> A2 = 1.65
    #        t=1: delta = 0 + 0.9*0.25 - 0.5 = -0.275       -> A1 = -0.275 + 0.45*1.65 = 0.4675
    #        t=0: delta = 0 + 0.9*0.5 - 1.0 = -0.55         -> A0 = -0.55 + 0.45*0.4675 = -0.339625
    assert torch.allclose(advantages, torch.tensor([[0.035, 0.9, 0.0], [-0.339625, 0.4675, 1.65]]), atol=1e-6)
    assert torch.allclose(returns, torch.tensor([[0.535, 1.1, 0.0], [0.660375, 0.9675, 1.9]]), atol=1e-6)
    # gamma = lam = 1: every advantage is the rest of the episode's reward minus the value
    adv1, ret1 = gae(rewards, values, mask, gamma=1.0, lam=1.0)
    assert torch.allclose(ret1, torch.tensor([[1.05, 1.1, 0.0], [1.9, 1.9, 1.9]]))
    assert torch.allclose(adv1, ret1 - values * mask)


def test_whitening_kl_estimators_and_the_clipped_value_loss():
    from rewardkit.train.ppo_gae import kl_estimate, last_token_index, masked_whiten
    from rewardkit.train.ppo_trainer import clipped_value_loss

    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert last_token_index(mask).tolist() == [1, 0, -1]
    white = masked_whiten(torch.tensor([[1.0, 2.0, 50.0], [3.0, 50.0, 50.0], [50.0] * 3]), mask)
    assert white[mask.bool()].mean().abs() < 1e-6 and abs(white[mask.bool()].std().item() - 1) < 1e-4
    assert white[~mask.bool()].abs().sum() == 0
    logps, ref = torch.tensor([-1.0, -2.0]), torch.tensor([-1.5, -1.0])
    assert torch.allclose(kl_estimate(logps, ref, "k1"), torch.tensor([0.5, -1.0]))
    k3 = kl_estimate(logps, ref, "k3")
    assert (k3 >= 0).all() and torch.allclose(k3, torch.exp(-(logps - ref)) - 1 + (logps - ref))
    with pytest.raises(ValueError, match="k1, k3"):
        kl_estimate(logps, ref, "k2")

    old, returns, m = torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 1.0]]), torch.tensor([[1.0, 1.0]])
    # V = 0.5 moved more than 0.2 from 0: clipped to 0.2, whose error (0.8^2) exceeds the unclipped (0.5^2)
    loss, clipfrac = clipped_value_loss(torch.tensor([[0.5, 0.1]]), old, returns, m, cliprange=0.2)
    assert torch.isclose(loss, torch.tensor(0.5 * (0.8**2 + 0.9**2) / 2)) and clipfrac.item() == 0.5


def test_ppo_config_takes_one_sample_per_prompt_where_grpo_config_refuses():
    from rewardkit.train.ppo_trainer import PPOConfig
    from trl import GRPOConfig

    common = {"output_dir": "unused", "use_cpu": True, "bf16": False, "report_to": "none",
              "per_device_train_batch_size": 3}
    with pytest.raises(ValueError, match="at least 2 generations"):
        GRPOConfig(num_generations=1, **common)
    config = PPOConfig(**common)
    assert type(config.num_generations) is int and config.num_generations == 1
    assert (config.beta, config.num_iterations, config.loss_type, config.epsilon) == (0.05, 4, "bnpo", 0.2)
    assert config.generation_batch_size == 3
    with pytest.raises(ValueError, match="divisible by num_generations"):  # GRPOConfig's other checks run
        PPOConfig(num_generations=2, **common)


def test_value_model_from_a_causal_lm_starts_at_zero_from_a_reward_model_keeps_its_head(tiny_model, tmp_path):
    from rewardkit.testing import build_tiny_model
    from rewardkit.train.ppo_value import load_value_model, token_values

    ids = torch.tensor([[5, 6, 7, 8, 9]])
    fresh = load_value_model(str(tiny_model), pad_token_id=0)
    assert token_values(fresh, ids, torch.ones_like(ids), 3).abs().sum() == 0
    reward_model = build_tiny_model(tmp_path / "rm", kind="classifier")
    from_rm = load_value_model(str(reward_model), pad_token_id=0)
    values = token_values(from_rm, ids, torch.ones_like(ids), 3)
    assert values.shape == (1, 3) and values.abs().sum() > 0


# -- the trainer ---------------------------------------------------------------------------------------
def ppo_trainer(model: Path, out: Path, pattern: str, prompts: list[str], options: Any, **config: Any) -> Any:
    """A PPOTrainer on the tiny model, rewarded by ``regex_match(pattern)``."""
    from datasets import Dataset
    from rewardkit import RewardSpec, ScoringEngine
    from rewardkit.train.ppo_trainer import PPOConfig, PPOTrainer
    from rewardkit.train.ppo_value import load_value_model
    from transformers import AutoTokenizer

    engine = ScoringEngine([RewardSpec("regex_match", id="regex", params={"pattern": pattern})])
    tokenizer = AutoTokenizer.from_pretrained(model)
    args = PPOConfig(output_dir=str(out), use_cpu=True, bf16=False, per_device_train_batch_size=4,
                     logging_steps=1, report_to="none", save_strategy="no", seed=0,
                     reward_weights=engine.weights, disable_tqdm=True, **config)
    trainer = PPOTrainer(model=str(model), value_model=load_value_model(str(model), tokenizer.pad_token_id),
                         args=args, reward_funcs=engine.trl_reward_funcs(), processing_class=tokenizer,
                         train_dataset=Dataset.from_list([{"prompt": [{"role": "user", "content": p}]}
                                                          for p in prompts]), ppo=options)
    trainer.engine = engine
    return trainer


def test_value_model_learns_on_a_fixed_batch(tiny_model, tmp_path):
    from rewardkit.train.ppo import PPOOptions

    # 4 PPO epochs over one batch of 4 samples: the value targets stay fixed while the value model fits them
    trainer = ppo_trainer(tiny_model, tmp_path, "e", [f"What is {i}+{i}?" for i in range(8)],
                          PPOOptions(value_learning_rate=3e-3), max_steps=4, num_iterations=4,
                          max_completion_length=8)
    value_model = trainer.value_model
    before = {n: p.detach().clone() for n, p in value_model.named_parameters()}
    trainer.train()
    logs = [e for e in trainer.state.log_history if "ppo/value_loss" in e]
    losses = [e["ppo/value_loss"] for e in logs]
    assert len(losses) == 4 and losses[-1] < 0.8 * losses[0], losses
    assert 0.0 < logs[0]["reward"] < 1.0  # some completions have an "e": the targets are not all equal
    assert logs[0]["ppo/values/mean"] == 0.0  # a new head estimates 0 ...
    changed = [n for n, p in value_model.named_parameters() if not torch.equal(p, before[n])]
    # ... and both its head and its backbone train
    assert "score.weight" in changed and any(n.startswith("model.layers.") for n in changed)
    assert trainer.engine.stats["regex"].scored == 4  # one generation, reused by the 4 epochs


def test_non_stop_penalty_scores_completions_that_ran_out_of_tokens(tiny_model, tmp_path):
    from rewardkit.train.ppo import PPOOptions

    trainer = ppo_trainer(tiny_model, tmp_path, ".", [f"Count to {i}." for i in range(4)],
                          PPOOptions(non_stop_penalty=-3.0), max_steps=1, num_iterations=1,
                          max_completion_length=6)
    trainer.train()
    [logged] = [e for e in trainer.state.log_history if "ppo/score/mean" in e]
    # the random tiny model never says end-of-turn in 6 tokens: every completion gets the penalty
    # instead of the regex's 1.0, which GRPO's own reward metric still shows
    assert logged["completions/clipped_ratio"] == 1.0 and logged["reward"] == 1.0
    assert logged["ppo/score/mean"] == -3.0 and logged["ppo/returns/mean"] < -2.0


def test_rewardkit_run_ppo_writes_policy_value_model_metrics_and_curves(tiny_model, tmp_path, cli):
    from rewardkit.train.ppo_value import token_values
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    recipe = ppo_recipe(tmp_path, tiny_model, "max_steps: 2, per_device_train_batch_size: 4, "
                        "max_completion_length: 8, num_iterations: 1, save_steps: 1",
                        "{value_learning_rate: 0.001, kl_estimator: k3}")
    out = cli("run", str(recipe), "--output-dir", str(tmp_path / "run"))
    assert out.returncode == 0, out.stderr[-3000:]
    [result] = json.loads((tmp_path / "run" / "results.json").read_text())
    stage = tmp_path / "run" / "00-ppo"
    assert result["steps"] == 2 and result["value_model"] == str(stage / "value_model")
    assert set(result["last_rewards"]) >= {"rewards/correct/mean", "rewards/has_e/mean"}

    tokenizer = AutoTokenizer.from_pretrained(result["model"])
    policy = AutoModelForCausalLM.from_pretrained(result["model"])
    ids = tokenizer("What is 2+2?", return_tensors="pt")
    assert policy.generate(**ids, max_new_tokens=4, do_sample=False).shape[1] == ids["input_ids"].shape[1] + 4
    value_model = AutoModelForSequenceClassification.from_pretrained(result["value_model"])
    values = token_values(value_model, ids["input_ids"], ids["attention_mask"], 2)
    assert values.shape == (1, 2) and torch.isfinite(values).all()
    assert (stage / "checkpoint-2" / "value_model" / "model.safetensors").is_file()

    rows = [json.loads(line) for line in (stage / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in rows if "ppo/value_loss" in r]
    assert [r["step"] for r in steps] == [1, 2]
    for key in ("rewards/correct/mean", "rewards/has_e/mean", "reward", "kl", "ppo/explained_variance",
                "ppo/advantages/mean", "ppo/advantages/std", "ppo/returns/mean", "ppo/value_clipfrac"):
        assert key in steps[0], key
    assert steps[0]["ppo/value_loss"] > 0 and steps[0]["kl"] >= 0  # k3 is never negative
    assert (stage / "metrics.csv").is_file()
    assert (stage / "reward_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ppo_stage_resumes_from_its_checkpoint_value_model_included(tiny_model, tmp_path, monkeypatch):
    from rewardkit.run import latest_checkpoint
    from rewardkit.train.ppo import run_ppo_stage
    from rewardkit.train.ppo_trainer import PPOTrainer
    from safetensors.torch import load_file

    stage_dir = tmp_path / "00-ppo"
    args = "per_device_train_batch_size: 4, max_completion_length: 8, num_iterations: 1, save_steps: 1"
    options = "{value_learning_rate: 0.01}"
    first = run_ppo_stage(stage_run(ppo_recipe(tmp_path, tiny_model, f"max_steps: 2, {args}", options),
                                    stage_dir, tiny_model))
    assert first["steps"] == 2
    checkpoint = latest_checkpoint(stage_dir)
    assert checkpoint is not None and checkpoint.endswith("checkpoint-2")
    saved = load_file(str(Path(checkpoint) / "value_model" / "model.safetensors"))
    assert saved["score.weight"].abs().sum() > 0  # trained away from its zero start

    restored: list[str] = []
    original = PPOTrainer.load_value_model

    def spy(self, path):  # type: ignore[no-untyped-def]
        original(self, path)
        restored.append(str(path))
        assert all(torch.equal(p, saved[n]) for n, p in self.value_model.state_dict().items())

    monkeypatch.setattr(PPOTrainer, "load_value_model", spy)
    again = stage_run(ppo_recipe(tmp_path, tiny_model, f"max_steps: 3, {args}", options, name="longer"),
                      stage_dir, tiny_model, resume_from=checkpoint)
    second = run_ppo_stage(again)
    assert restored == [checkpoint] and second["steps"] == 3
    trained = [json.loads(line)["step"] for line in (stage_dir / "metrics.jsonl").read_text().splitlines()
               if "ppo/value_loss" in line]
    assert trained == [1, 2, 3]  # steps 1-2 from the first run, only step 3 from the resumed one


def test_bad_ppo_options_are_reported_before_any_model_loads(tiny_model, tmp_path):
    from rewardkit.recipe import RecipeError
    from rewardkit.train.ppo import run_ppo_stage

    recipe = ppo_recipe(tmp_path, tiny_model, "max_steps: 1", "{kl_estimator: k2}")
    expected = r"(?s)stages\[0\]\.options\.kl_estimator: unknown KL estimator 'k2'.*fix: use one of k1, k3"
    with pytest.raises(RecipeError, match=expected):
        run_ppo_stage(stage_run(recipe, tmp_path / "00-ppo", tiny_model))
