"""The rejection_sampling stage: best-of-K by the recipe's rewards or by a reward model, written as
an SFT set that the sft stage trains on."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import _rk_rewards as rk


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_best_of_k_by_rewards_then_sft(tiny_model, tmp_path, cli):
    recipe = tmp_path / "rs.yaml"
    recipe.write_text(f"""\
name: rs
model: {{name_or_path: {tiny_model}}}
data: {{path: {rk.write_prompts(tmp_path / "prompts.jsonl", 6)}}}
rewards:
  - {{name: python, id: odd, weight: 2.0, params: {{function: "_rk_rewards:odd_prompts_win"}}}}
  - {{name: regex_match, id: has_digit, weight: 0.25, params: {{pattern: '\\d'}}}}
stages:
  - type: rejection_sampling
    options: {{samples: 3, max_new_tokens: 6, threshold: 1.0}}
""")
    out = cli("run", str(recipe), "--output-dir", str(tmp_path / "run"), env=rk.cli_env())
    assert out.returncode == 0, out.stderr[-3000:]
    stage = tmp_path / "run" / "00-rejection_sampling"
    [result] = json.loads((tmp_path / "run" / "results.json").read_text())
    samples = read_jsonl(stage / "samples.jsonl")
    assert len(samples) == 18
    for row in samples:  # scored: the weighted total of both rewards
        assert row["reward"] == 2.0 * row["rewards"]["odd"] + 0.25 * row["rewards"]["has_digit"]
    # even-numbered prompts score at most 0.25, below the threshold; odd ones keep their best sample
    expected = []
    for i in range(0, 18, 6):
        best = max(samples[i:i + 3], key=lambda r: r["reward"])
        assert best["prompt"][-1]["content"].endswith(str(i // 3 + 1)) and best["reward"] >= 2.0
        expected.append({"messages": [*best["prompt"], {"role": "assistant", "content": best["completion"]}]})
    assert read_jsonl(stage / "sft.jsonl") == expected
    assert result == {**result, "data": str(stage / "sft.jsonl"), "kept": 3, "prompts": 6,
                      "scorer": "rewards"}
    assert "model" not in result

    # a later sft stage trains on the new set
    sft_recipe = tmp_path / "sft.yaml"
    sft_recipe.write_text(f"""\
name: rs-sft
model: {{name_or_path: {tiny_model}}}
stages:
  - type: sft
    data: {{path: {stage / "sft.jsonl"}}}
    args: {{max_steps: 2, per_device_train_batch_size: 2}}
""")
    out = cli("run", str(sft_recipe), "--output-dir", str(tmp_path / "sft-run"))
    assert out.returncode == 0, out.stderr[-3000:]
    [trained] = json.loads((tmp_path / "sft-run" / "results.json").read_text())
    assert trained["steps"] == 2 and Path(trained["model"], "config.json").is_file()


def test_best_of_k_by_a_reward_model(tiny_model, tmp_path, cli):
    import torch
    from rewardkit.testing import build_tiny_model
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    rm = build_tiny_model(tmp_path / "rm", kind="classifier", seed=3)
    recipe = tmp_path / "rs.yaml"
    recipe.write_text(f"""\
name: rs-rm
model: {{name_or_path: {tiny_model}}}
data: {{path: {rk.write_prompts(tmp_path / "prompts.jsonl", 4)}, chat: false}}
stages:
  - type: rejection_sampling
    options: {{samples: 3, max_new_tokens: 6, reward_model: {rm}, reward_model_batch_size: 5,
               output_format: prompt_completion}}
""")
    out = cli("run", str(recipe), "--output-dir", str(tmp_path / "run"))
    assert out.returncode == 0, out.stderr[-3000:]
    stage = tmp_path / "run" / "00-rejection_sampling"
    samples = read_jsonl(stage / "samples.jsonl")
    # the scores are the reward model's logits for prompt + completion rendered as the reward_model
    # stage trains (rewardkit.train.rm_input), computed one at a time here, unpadded
    from rewardkit.train.rm_input import Renderer

    tok = AutoTokenizer.from_pretrained(rm)
    model = AutoModelForSequenceClassification.from_pretrained(rm).eval()
    renderer = Renderer(tok)
    with torch.no_grad():
        logits = [model(input_ids=torch.tensor([renderer.ids(r["prompt"], r["completion"])])).logits[0, 0].item()
                  for r in samples]
    assert all(abs(r["reward"] - v) < 1e-4 for r, v in zip(samples, logits))
    assert len({round(v, 6) for v in logits}) > 1  # the reward model tells completions apart
    # no threshold: every prompt keeps its best completion, as prompt/completion text rows
    best = [max(samples[i:i + 3], key=lambda r: r["reward"]) for i in range(0, 12, 3)]
    assert read_jsonl(stage / "sft.jsonl") == [{"prompt": b["prompt"], "completion": b["completion"]} for b in best]
    [result] = json.loads((tmp_path / "run" / "results.json").read_text())
    assert (result["kept"], result["prompts"], result["scorer"]) == (4, 4, "reward_model")
