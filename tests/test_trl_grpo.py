"""A real trl.GRPOTrainer, a few steps on a tiny local model, with two of our rewards."""

import json

import pytest

from rewardkit import RewardSpec, ScoringEngine


def test_tiny_model_kit(tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    text = tok.apply_chat_template([{"role": "user", "content": "What is 2+2? Ünïcode ok"}], tokenize=False,
                                   add_generation_prompt=True)
    assert text.endswith("<|im_start|>assistant\n")
    ids = tok(text, return_tensors="pt")
    assert tok.decode(ids["input_ids"][0]) == text  # byte-level: lossless, no unknown tokens
    out = model.generate(**ids, max_new_tokens=4, do_sample=False)
    assert out.shape[1] == ids["input_ids"].shape[1] + 4


def test_grpo_trainer_logs_both_rewards(tiny_model, tmp_path):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    engine = ScoringEngine([RewardSpec("regex_match", id="has_digit", params={"pattern": r"\d"}),
                            RewardSpec("exact_match", weight=0.5)])
    ds = Dataset.from_list([{"prompt": [{"role": "user", "content": f"What is {i}+{i}?"}], "answer": str(2 * i)}
                            for i in range(8)])
    config = GRPOConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, max_steps=2, per_device_train_batch_size=4,
                        num_generations=4, max_completion_length=12, logging_steps=1, report_to="none",
                        save_strategy="no", reward_weights=engine.weights, seed=0)
    trainer = GRPOTrainer(model=str(tiny_model), reward_funcs=engine.trl_reward_funcs(), args=config, train_dataset=ds)
    trainer.train()
    logged = [e for e in trainer.state.log_history if "rewards/has_digit/mean" in e]
    assert len(logged) == 2
    for entry in logged:
        assert "rewards/exact_match/mean" in entry and 0.0 <= entry["rewards/has_digit/mean"] <= 1.0
    # the engine saw every completion TRL generated: 2 steps x 4 completions
    assert engine.stats["has_digit"].scored == 8 and engine.stats["exact_match"].scored == 8


def test_rewardkit_run_grpo_recipe(tiny_model, tmp_path, cli):
    recipe = tmp_path / "grpo.yaml"
    recipe.write_text(f"""\
name: tiny-grpo
model: {{name_or_path: {tiny_model}}}
data:
  path: "{{shared_data}}/gsm8k/test.jsonl"
  columns: {{prompt: question}}
  limit: 8
  prompt_template: "{{prompt}} Put the final answer after ####."
rewards:
  - name: regex_match
    id: has_hashes
    params: {{pattern: "####"}}
  - name: regex_match
    id: has_digit
    params: {{pattern: '\\d'}}
stages:
  - type: grpo
    args: {{max_steps: 2, per_device_train_batch_size: 4, num_generations: 4, max_completion_length: 8}}
""")
    out = cli("run", str(recipe), "--output-dir", str(tmp_path / "run"))
    assert out.returncode == 0, out.stderr[-3000:]
    [result] = json.loads((tmp_path / "run" / "results.json").read_text())
    assert result["steps"] == 2 and set(result["last_rewards"]) >= {"rewards/has_hashes/mean", "rewards/has_digit/mean"}
    assert (tmp_path / "run" / "00-grpo" / "model" / "config.json").is_file()


def test_run_reports_bad_trainer_args(tiny_model, tmp_path, cli):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(f"""\
name: bad-args
model: {{name_or_path: {tiny_model}}}
data: {{path: "{{shared_data}}/gsm8k/test.jsonl", columns: {{prompt: question}}, limit: 4}}
rewards: [{{name: exact_match}}]
stages:
  - type: grpo
    args: {{max_step: 2}}
""")
    out = cli("run", str(recipe), "--output-dir", str(tmp_path / "run"))
    assert out.returncode == 2, out.stderr[-2000:]
    assert "stages[0].args.max_step: GRPOConfig has no field 'max_step'" in out.stderr
    assert "did you mean 'max_steps'?" in out.stderr and "Traceback" not in out.stderr


def test_tiny_reward_model_twin(tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from rewardkit.testing import build_tiny_model

    path = build_tiny_model(tmp_path / "rm", kind="classifier")
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path)
    batch = tok(["a good answer", "a bad one, longer"], return_tensors="pt", padding=True)
    logits = model(**batch).logits
    assert tuple(logits.shape) == (2, 1) and model.config.pad_token_id == tok.pad_token_id
