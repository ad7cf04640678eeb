"""The sft stage: completion-only loss on prompt/completion and chat rows, packing without
cross-attention, Tulu 3's sum loss, and a run through ``rewardkit run``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rewardkit.recipe import RecipeError
from rewardkit.stage import StageRun
from rewardkit.testing import stage_run

GSM8K_SFT = '{path: "{shared_data}/gsm8k/test.jsonl", columns: {prompt: question, completion: answer}'

def gsm8k_rows(n: int, skip: int = 0) -> list[dict]:
    from rewardkit.testing import shared_data_dir

    with open(shared_data_dir() / "gsm8k" / "test.jsonl", encoding="utf-8") as fh:
        lines = [next(fh) for _ in range(skip + n)][skip:]
    return [json.loads(line) for line in lines]


def sft_run(tmp_path: Path, model: Path, *, data: str, args: str = "", options: str = "") -> StageRun:
    recipe_file = tmp_path / "sft.yaml"
    recipe_file.write_text(f"""\
name: sft-test
model: {{name_or_path: {model}}}
data: {data}
stages:
  - type: sft
    args: {{{args}}}
    options: {{{options}}}
""")
    return stage_run(recipe_file, tmp_path / "stage", model=model)


def trained_text(tokenizer, row: dict) -> str:
    """The tokens of a prepared row that carry a loss, decoded."""
    return tokenizer.decode([t for t, label in zip(row["input_ids"], row["labels"]) if label != -100])


def test_prompt_completion_rows_train_on_the_completion_only(tiny_model, tmp_path):
    from rewardkit.train.sft import build_sft_trainer

    rows = gsm8k_rows(2)
    data = GSM8K_SFT + ", limit: 2}"
    trainer, tok = build_sft_trainer(sft_run(tmp_path, tiny_model, data=data))
    for row, want in zip(trainer.train_dataset, rows):
        # chat (the default): the assistant reply and its end of turn; the question is context only
        assert trained_text(tok, row) == want["answer"] + "<|im_end|>\n"
        assert tok.decode(row["input_ids"]).startswith(f"<|im_start|>user\n{want['question']}<|im_end|>\n")

    text = GSM8K_SFT + ', limit: 2, chat: false, prompt_template: "Question: {prompt}\\nAnswer: "}'
    trainer, tok = build_sft_trainer(sft_run(tmp_path, tiny_model, data=text))
    for row, want in zip(trainer.train_dataset, rows):
        assert tok.decode(row["input_ids"]).startswith(f"Question: {want['question']}\nAnswer: ")
        assert trained_text(tok, row) == want["answer"] + tok.eos_token


def test_messages_rows_train_on_the_last_assistant_turn(tiny_model, tmp_path):
    from rewardkit.train.sft import build_sft_trainer

    first, second = gsm8k_rows(2)
    conversation = [{"role": "user", "content": first["question"]},
                    {"role": "assistant", "content": first["answer"]},
                    {"role": "user", "content": second["question"]},
                    {"role": "assistant", "content": second["answer"]}]
    path = tmp_path / "chats.jsonl"
    path.write_text(json.dumps({"messages": conversation, "source": "gsm8k"}) + "\n")
    data = f'{{path: "{path}", system_prompt: "Show your work."}}'
    trainer, tok = build_sft_trainer(sft_run(tmp_path, tiny_model, data=data))
    [row] = trainer.train_dataset
    assert trained_text(tok, row) == second["answer"] + "<|im_end|>\n"
    full = tok.decode(row["input_ids"])
    assert full.startswith("<|im_start|>system\nShow your work.<|im_end|>\n<|im_start|>user\n")
    assert first["answer"] in full  # the earlier turn is context, not a target


#: The tiny model's ChatML template with generation markers around the assistant replies.
CHATML_TRAINING = (
    "{% for m in messages %}{% if m['role'] == 'assistant' %}<|im_start|>assistant\n{% generation %}"
    "{{ m['content'] }}<|im_end|>\n{% endgeneration %}"
    "{% else %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def test_assistant_only_loss_trains_every_assistant_turn(tiny_model, tmp_path):
    from rewardkit.train.sft import build_sft_trainer

    first, second = gsm8k_rows(2)
    conversation = [{"role": "user", "content": first["question"]},
                    {"role": "assistant", "content": first["answer"]},
                    {"role": "user", "content": second["question"]},
                    {"role": "assistant", "content": second["answer"]}]
    (tmp_path / "chats.jsonl").write_text(json.dumps({"messages": conversation}) + "\n")
    (tmp_path / "chatml.jinja").write_text(CHATML_TRAINING)
    run = sft_run(tmp_path, tiny_model, data=f'{{path: "{tmp_path / "chats.jsonl"}"}}',
                  args=f'assistant_only_loss: true, chat_template_path: "{tmp_path / "chatml.jinja"}"')
    trainer, tok = build_sft_trainer(run)
    [row] = trainer.train_dataset
    assert trained_text(tok, row) == first["answer"] + "<|im_end|>\n" + second["answer"] + "<|im_end|>\n"


def test_packed_samples_do_not_attend_to_each_other(tiny_model, tmp_path):
    import torch

    from rewardkit.train.sft import build_sft_trainer

    run = sft_run(tmp_path, tiny_model, data=GSM8K_SFT + ", limit: 6}",
                  args="packing: true, max_length: 1024, per_device_train_batch_size: 2, max_steps: 1")
    trainer, _ = build_sft_trainer(run)
    # several samples share a row
    assert any(len(lengths) > 1 for lengths in trainer.train_dataset["seq_lengths"])
    batch = next(iter(trainer.get_train_dataloader()))
    positions = batch["position_ids"][0]
    starts = (positions == 0).nonzero().flatten().tolist()
    bounds = [*starts, len(positions)]
    assert len(starts) >= 3 and "attention_mask" not in batch
    for a, b in zip(bounds, bounds[1:]):  # positions restart at every packed sample
        assert positions[a:b].tolist() == list(range(b - a))
        assert batch["labels"][0, a] == -100  # no sample learns its first token from the one before
    model = trainer.model.eval()
    for attention in ("sdpa", "eager"):
        model.set_attn_implementation(attention)
        with torch.no_grad():
            packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits[0]
            for a, b in zip(bounds, bounds[1:]):
                alone = model(input_ids=batch["input_ids"][:, a:b]).logits[0]
                assert torch.allclose(packed[a:b], alone, atol=1e-5), (attention, a, b)
            # the check can fail: with no sample boundaries, the later samples see the earlier ones
            unbounded = model(input_ids=batch["input_ids"]).logits[0]
            a, b = bounds[1], bounds[2]
            assert not torch.allclose(unbounded[a:b], packed[a:b], atol=1e-3)
    trainer.train()  # and it trains on CPU
    assert trainer.state.global_step == 1


@pytest.mark.parametrize("loss", ["mean", "sum"])
def test_sum_loss_is_the_sum_over_tokens_under_gradient_accumulation(tiny_model, tmp_path, loss):
    import torch
    from transformers import AutoModelForCausalLM

    from rewardkit.train.sft import build_sft_trainer

    data = GSM8K_SFT + ", limit: 2}"
    run = sft_run(tmp_path, tiny_model, data=data, options=f"loss: {loss}",
                  args="max_steps: 1, per_device_train_batch_size: 1, gradient_accumulation_steps: 2")
    trainer, _ = build_sft_trainer(run)
    # by hand: each row's summed token loss and its number of completion tokens, before any update
    reference = AutoModelForCausalLM.from_pretrained(tiny_model)
    sums, counts = [], []
    for row in trainer.train_dataset:
        ids, labels = torch.tensor([row["input_ids"]]), torch.tensor(row["labels"][1:])
        with torch.no_grad():
            logits = reference(input_ids=ids).logits[0, :-1]
        token_losses = torch.nn.functional.cross_entropy(logits, labels.clamp(min=0), reduction="none")
        sums.append(float(token_losses[labels != -100].sum()))
        counts.append(int((labels != -100).sum()))
    trainer.train()  # one optimizer step over both rows, one per micro-batch
    logged = trainer.state.log_history[0]["loss"]
    if loss == "mean":  # TRL: the mean over every completion token of the step
        assert logged == pytest.approx(sum(sums) / sum(counts), rel=1e-4)
    else:  # Tulu 3: the sum over tokens, divided by the accumulation steps only
        assert logged == pytest.approx(sum(sums) / 2, rel=1e-4)
        assert logged > 50 * sum(sums) / sum(counts)


def test_settings_that_cannot_apply_are_recipe_errors(tiny_model, tmp_path):
    from rewardkit.train.sft import build_sft_trainer

    data = GSM8K_SFT + ", limit: 2}"
    with pytest.raises(RecipeError, match=r"stages\[0\]\.options\.loss: loss must be one of mean, sum"):
        build_sft_trainer(sft_run(tmp_path, tiny_model, data=data, options="loss: total"))
    # the tiny model's ChatML template has no {% generation %} markers for TRL's assistant masks
    with pytest.raises(RecipeError, match=r"args\.assistant_only_loss: the tokenizer's chat template has no"):
        build_sft_trainer(sft_run(tmp_path, tiny_model, data=data, args="assistant_only_loss: true"))
    with pytest.raises(ValueError, match="has no 'completion' column"):
        build_sft_trainer(sft_run(tmp_path, tiny_model, data=data.replace(", completion: answer", "")))


def test_rewardkit_run_sft_recipe(tiny_model, tmp_path, cli):
    recipe = tmp_path / "sft.yaml"
    recipe.write_text(f"""\
name: tiny-sft
model: {{name_or_path: {tiny_model}}}
data:
  path: "{{shared_data}}/gsm8k/test.jsonl"
  columns: {{prompt: question, completion: answer}}
  limit: 8
stages:
  - type: sft
    args: {{max_steps: 2, per_device_train_batch_size: 2, packing: true, max_length: 1024,
            learning_rate: 1.0e-3}}
    options: {{loss: sum}}
""")
    out = cli("run", str(recipe), "--output-dir", str(tmp_path / "run"))
    assert out.returncode == 0, out.stderr[-3000:]
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    [stage] = manifest["stages"]
    assert stage["status"] == "done" and stage["result"]["steps"] == 2
    assert stage["result"]["loss_reduction"] == "sum" and stage["result"]["packing"] is True
    assert stage["result"]["base_model"] == str(tiny_model)
    stage_dir = tmp_path / "run" / "00-sft"
    metrics = [json.loads(line) for line in (stage_dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics if "loss" in m] == [1, 2] and (stage_dir / "metrics.csv").is_file()

    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = Path(stage["result"]["model"])
    assert model_dir == stage_dir / "model"
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    prompt = tok.apply_chat_template([{"role": "user", "content": "What is 2+2?"}],
                                     add_generation_prompt=True, return_tensors="pt", return_dict=True)
    generated = model.generate(**prompt, max_new_tokens=6, do_sample=False)
    assert generated.shape[1] > prompt["input_ids"].shape[1]
    start = AutoModelForCausalLM.from_pretrained(tiny_model).state_dict()
    assert any(not (start[k] == v).all() for k, v in model.state_dict().items())  # the weights moved
