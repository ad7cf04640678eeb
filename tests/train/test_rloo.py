"""The rloo stage: TRL's RLOOTrainer with the recipe's rewards, a few steps on the tiny model."""

from __future__ import annotations

import json


def test_rloo_recipe_trains_logs_and_saves(tiny_model, tmp_path, cli):
    recipe = tmp_path / "rloo.yaml"
    recipe.write_text(f"""\
name: tiny-rloo
model: {{name_or_path: {tiny_model}}}
data:
  path: "{{shared_data}}/gsm8k/test.jsonl"
  columns: {{prompt: question}}
  limit: 8
rewards:
  - {{name: regex_match, id: has_digit, params: {{pattern: '\\d'}}}}
  - {{name: math.gsm8k, weight: 2.0}}
stages:
  - type: rloo
    args: {{max_steps: 2, per_device_train_batch_size: 4, num_generations: 2, max_completion_length: 8,
            beta: 0.0}}
""")
    out = cli("run", str(recipe), "--output-dir", str(tmp_path / "run"))
    assert out.returncode == 0, out.stderr[-3000:]
    stage = tmp_path / "run" / "00-rloo"
    [result] = json.loads((tmp_path / "run" / "results.json").read_text())
    assert result["steps"] == 2 and result["model"] == str(stage / "model")
    assert set(result["last_rewards"]) >= {"rewards/has_digit/mean", "rewards/math.gsm8k/mean"}
    steps = [json.loads(line) for line in (stage / "metrics.jsonl").read_text().splitlines()]
    logged = [s for s in steps if "rewards/has_digit/mean" in s]
    assert [s["step"] for s in logged] == [1, 2] and all(0.0 <= s["rewards/has_digit/mean"] <= 1.0 for s in logged)
    assert (stage / "metrics.csv").is_file() and (stage / "reward_curves.png").stat().st_size > 0
    # the engine scored every completion RLOO sampled: 2 steps x 4 completions, both rewards
    stats = json.loads((stage / "reward_stats.json").read_text())
    assert stats["has_digit"]["scored"] == stats["math.gsm8k"]["scored"] == 8
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    args = torch.load(stage / "model" / "training_args.bin", weights_only=False)
    assert type(args).__name__ == "RLOOConfig" and args.reward_weights == [1.0, 2.0]
    model = AutoModelForCausalLM.from_pretrained(stage / "model")
    tok = AutoTokenizer.from_pretrained(stage / "model")
    ids = tok.apply_chat_template([{"role": "user", "content": "2+2?"}], add_generation_prompt=True,
                                  return_tensors="pt", return_dict=True)
    assert model.generate(**ids, max_new_tokens=3, do_sample=False).shape[1] == ids["input_ids"].shape[1] + 3
