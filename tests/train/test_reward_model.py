"""The reward_model stage: Bradley-Terry on GSM8K preference pairs (a worked solution over a bare
final number), margins from preference grades, and sft -> reward_model through ``rewardkit run``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rewardkit.stage import StageRun
from rewardkit.testing import stage_run

GRADES = ["significantly better", "better", "slightly better", "marginally better"]
COLUMNS = "{prompt: question, chosen: worked, rejected: bare}"


def gsm8k_pairs(path: Path, n: int) -> list[dict]:
    """GSM8K pairs: chosen = the gold worked solution, rejected = its bare final answer (no work shown)."""
    from rewardkit.testing import shared_data_dir

    with open(shared_data_dir() / "gsm8k" / "test.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(next(fh)) for _ in range(n)]
    pairs = [{"question": r["question"], "worked": r["answer"], "bare": r["answer"].split("####")[-1].strip(),
              "grade": GRADES[i % 4].replace(" ", "_").upper()} for i, r in enumerate(rows)]
    path.write_text("".join(json.dumps(p) + "\n" for p in pairs))
    return pairs


def rm_run(tmp_path: Path, model: Path, *, data: str, args: str, options: str = "") -> StageRun:
    recipe_file = tmp_path / "rm.yaml"
    recipe_file.write_text(f"""\
name: rm-test
model: {{name_or_path: {model}}}
data: {data}
stages:
  - type: reward_model
    args: {{{args}}}
    options: {{{options}}}
""")
    return stage_run(recipe_file, tmp_path / "stage", model=model)


def score(model, tok, question: str, answer: str) -> float:
    """The reward model's score of one chat turn, rendered as in training."""
    import torch

    turns = [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    text = tok.apply_chat_template(turns, tokenize=False)
    with torch.no_grad():
        return float(model(**tok(text, return_tensors="pt")).logits[0, 0])


def test_reward_model_learns_to_prefer_worked_solutions(tiny_model, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, set_seed

    from rewardkit.train.reward_model import run_reward_model_stage

    pairs = gsm8k_pairs(tmp_path / "pairs.jsonl", 40)
    data = f'{{path: "{tmp_path / "pairs.jsonl"}", columns: {COLUMNS}, limit: 24}}'
    run = rm_run(tmp_path, tiny_model, data=data,
                 args="max_steps: 6, per_device_train_batch_size: 4, learning_rate: 2.0e-3")
    held_out = pairs[24:]
    tok = AutoTokenizer.from_pretrained(tiny_model)
    set_seed(run.recipe.seed)  # the score head RewardTrainer starts from (it seeds the same way)
    before = AutoModelForSequenceClassification.from_pretrained(tiny_model, num_labels=1)
    before.config.pad_token_id = tok.pad_token_id
    margin_before = sum(score(before, tok, p["question"], p["worked"])
                        - score(before, tok, p["question"], p["bare"]) for p in held_out) / len(held_out)

    result = run_reward_model_stage(run)
    assert result["model"] == str(tiny_model)  # the policy goes on to the next stage
    rm_dir = Path(result["reward_model"])
    assert rm_dir == run.dir / "model" and result["steps"] == 6 and result["pairs"] == 24
    model = AutoModelForSequenceClassification.from_pretrained(rm_dir)
    tok = AutoTokenizer.from_pretrained(rm_dir)
    assert model.config.num_labels == 1 and model.config.pad_token_id == tok.pad_token_id
    margins = [score(model, tok, p["question"], p["worked"]) - score(model, tok, p["question"], p["bare"])
               for p in held_out]
    assert sum(m > 0 for m in margins) >= 14, margins  # held-out pairs, never trained on
    assert sum(margins) / len(margins) > margin_before + 0.3, (margin_before, margins)
    metrics = [json.loads(line) for line in (run.dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics if "accuracy" in m] == list(range(1, 7))


def test_grades_become_margins_in_the_bradley_terry_loss(tiny_model, tmp_path):
    import torch

    from rewardkit.train.reward_model import build_reward_trainer

    gsm8k_pairs(tmp_path / "pairs.jsonl", 4)
    data = f'{{path: "{tmp_path / "pairs.jsonl"}", columns: {COLUMNS}, chat: false}}'
    run = rm_run(tmp_path, tiny_model, data=data, args="max_steps: 1", options="grade_column: grade")
    trainer, _ = build_reward_trainer(run)
    assert trainer.train_dataset["margin"] == pytest.approx([1.0, 2 / 3, 1 / 3, 0.0])  # Llama's four grades

    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(4)])
    assert batch["margin"].tolist() == pytest.approx([1.0, 2 / 3, 1 / 3, 0.0])
    model = trainer.model.eval()
    with torch.no_grad():
        loss = trainer.compute_loss(model, dict(batch))
        rewards = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, 0]
    chosen, rejected = rewards.chunk(2)
    want = -torch.nn.functional.logsigmoid(chosen - rejected - batch["margin"]).mean()
    plain = -torch.nn.functional.logsigmoid(chosen - rejected).mean()
    assert float(loss) == pytest.approx(float(want), rel=1e-5) and float(loss) > float(plain)

    custom = rm_run(tmp_path, tiny_model, data=data, args="max_steps: 1",
                    options="grade_column: grade, grade_margins: {significantly better: 3, better: 2}")
    with pytest.raises(ValueError, match="grade 'SLIGHTLY_BETTER' in column 'grade' has no margin"):
        build_reward_trainer(custom)


def test_rewardkit_run_sft_then_reward_model(tiny_model, tmp_path, cli):
    gsm8k_pairs(tmp_path / "pairs.jsonl", 8)
    recipe = tmp_path / "rm.yaml"
    recipe.write_text(f"""\
name: tiny-rm
model: {{name_or_path: {tiny_model}}}
stages:
  - type: sft
    data: {{path: "{{shared_data}}/gsm8k/test.jsonl", limit: 4,
           columns: {{prompt: question, completion: answer}}}}
    args: {{max_steps: 1, per_device_train_batch_size: 2}}
  - type: reward_model
    data: {{path: pairs.jsonl, columns: {COLUMNS}}}
    args: {{max_steps: 2, per_device_train_batch_size: 4}}
""")
    out = cli("run", str(recipe), "--output-dir", str(tmp_path / "run"))
    assert out.returncode == 0, out.stderr[-3000:]
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    sft, rm = (stage["result"] for stage in manifest["stages"])
    assert [stage["status"] for stage in manifest["stages"]] == ["done", "done"]
    assert rm["base_model"] == sft["model"]  # the reward model starts from the SFT model
    assert rm["model"] == sft["model"]  # and the SFT model stays the model of the stages after it
    assert rm["reward_model"] == str(tmp_path / "run" / "01-reward_model" / "model") and rm["steps"] == 2
    metrics = (tmp_path / "run" / "01-reward_model" / "metrics.jsonl").read_text().splitlines()
    assert all("accuracy" in json.loads(line) for line in metrics[:2])

    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(rm["reward_model"])
    tok = AutoTokenizer.from_pretrained(rm["reward_model"])
    pair = ["#### 18", "Janet sells 16 - 3 - 4 = 9 duck eggs a day. #### 18"]
    batch = tok(pair, return_tensors="pt", padding=True)
    assert tuple(model(**batch).logits.shape) == (2, 1)
