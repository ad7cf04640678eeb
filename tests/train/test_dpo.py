"""The dpo stage on GSM8K preference pairs: Llama 3's NLL term and special-token mask, Tulu 3's
length-normalised DPO with a chosen reference model, SimPO, and a run through ``rewardkit run``.

The loss checks use the first logged step: the policy has not moved yet, so each logged loss is a
function of quantities computed here by hand (or logged beside it)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from rewardkit.recipe import RecipeError
from rewardkit.stage import StageRun
from rewardkit.testing import stage_run

PAIRS = "{path: pairs.jsonl, columns: {prompt: question, chosen: worked, rejected: bare}"


def gsm8k_pairs(path: Path, n: int) -> list[dict]:
    """GSM8K pairs: chosen = the gold worked solution, rejected = its bare final answer."""
    from rewardkit.testing import shared_data_dir

    with open(shared_data_dir() / "gsm8k" / "test.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(next(fh)) for _ in range(n)]
    pairs = [{"question": r["question"], "worked": r["answer"], "bare": r["answer"].split("####")[-1].strip()}
             for r in rows]
    path.write_text("".join(json.dumps(p) + "\n" for p in pairs))
    return pairs


def dpo_run(tmp_path: Path, model: Path, *, args: str, options: str = "",
            data: str = PAIRS + ", limit: 1}") -> StageRun:
    gsm8k_pairs(tmp_path / "pairs.jsonl", 8)
    recipe_file = tmp_path / "dpo.yaml"
    recipe_file.write_text(f"""\
name: dpo-test
model: {{name_or_path: {model}}}
data: {data}
stages:
  - type: dpo
    args: {{{args}}}
    options: {{{options}}}
""")
    return stage_run(recipe_file, tmp_path / "stage", model=model)


def completion_logps(model_dir: Path, prompt_ids: list[int], completion_ids: list[int]) -> "torch.Tensor":
    """Per-token log-probabilities of a completion after its prompt."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    ids = torch.tensor([prompt_ids + completion_ids])
    with torch.no_grad():
        logps = torch.log_softmax(model(input_ids=ids).logits[0, :-1], dim=-1)
    return logps.gather(1, ids[0, 1:, None])[:, 0][len(prompt_ids) - 1:]


def test_llama3_nll_term_and_special_token_mask(tiny_model, tmp_path):
    import torch

    from rewardkit.train.dpo import build_dpo_trainer, special_token_ids

    run = dpo_run(tmp_path, tiny_model, args="max_steps: 1, per_device_train_batch_size: 1",
                  options="nll_weight: 0.2, mask_special_tokens: true")
    trainer, tok = build_dpo_trainer(run)
    assert trainer.args.loss_type == ["sigmoid", "sft"] and trainer.args.loss_weights == [1.0, 0.2]
    special = special_token_ids(tok)
    assert tok.convert_tokens_to_ids("<|im_end|>") in special and tok.pad_token_id in special

    [row] = trainer.train_dataset
    batch = trainer.data_collator([row])
    scored = batch["input_ids"][batch["completion_mask"].bool()]
    assert not torch.isin(scored, torch.tensor(special)).any()  # no special token is scored...
    chosen = torch.tensor(row["chosen_ids"])
    is_special = torch.isin(chosen, torch.tensor(special))
    assert is_special.sum() == 1  # ...the rest is
    assert int(batch["completion_mask"][0].sum()) == len(chosen) - 1

    logps = completion_logps(tiny_model, row["prompt_ids"], row["chosen_ids"])
    trainer.train()
    [logged] = [e for e in trainer.state.log_history if "loss" in e]
    assert logged["logps/chosen"] == pytest.approx(float(logps[~is_special].sum()), rel=1e-4)
    assert abs(logged["logps/chosen"] - float(logps.sum())) > 1e-3  # the end-of-turn token was left out
    # step 1: the policy is its reference, so DPO's term is log 2; the NLL term is the chosen mean NLL
    assert logged["loss"] == pytest.approx(math.log(2) + 0.2 * float(-logps[~is_special].mean()), rel=1e-4)


def test_length_normalised_dpo_against_another_reference(tiny_model, tmp_path):
    from rewardkit.testing import build_tiny_model
    from rewardkit.train.dpo import build_dpo_trainer

    other = build_tiny_model(tmp_path / "reference", seed=1)
    run = dpo_run(tmp_path, tiny_model, args="max_steps: 1, per_device_train_batch_size: 1, beta: 0.5, "
                  "loss_type: sigmoid_norm", options=f"ref_model: {other}")
    trainer, _ = build_dpo_trainer(run)
    [row] = trainer.train_dataset
    chosen = completion_logps(tiny_model, row["prompt_ids"], row["chosen_ids"]).sum()
    chosen_ref = completion_logps(other, row["prompt_ids"], row["chosen_ids"]).sum()
    rejected = completion_logps(tiny_model, row["prompt_ids"], row["rejected_ids"]).sum()
    rejected_ref = completion_logps(other, row["prompt_ids"], row["rejected_ids"]).sum()
    trainer.train()
    [logged] = [e for e in trainer.state.log_history if "loss" in e]
    assert logged["rewards/chosen"] == pytest.approx(0.5 * float(chosen - chosen_ref), rel=1e-4)
    # Tulu 3: each log-ratio divided by its response's length before the sigmoid
    delta = ((chosen - chosen_ref) / len(row["chosen_ids"])
             - (rejected - rejected_ref) / len(row["rejected_ids"]))
    want = -math.log(1 / (1 + math.exp(-0.5 * float(delta))))
    assert logged["loss"] == pytest.approx(want, rel=1e-4)
    unnormalised = -math.log(1 / (1 + math.exp(-0.5 * float(chosen - chosen_ref - rejected + rejected_ref))))
    assert abs(want - unnormalised) > 1e-3


def test_simpo_trains_reference_free_with_its_margin(tiny_model, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rewardkit.train.dpo import build_dpo_trainer, run_dpo_stage, special_token_ids

    data = PAIRS + ', limit: 4, chat: false, prompt_template: "Question: {prompt}\\nAnswer: "}'
    run = dpo_run(tmp_path, tiny_model, data=data,
                  args="max_steps: 2, per_device_train_batch_size: 1, beta: 2.0",
                  options="method: simpo, simpo_gamma: 0.5, nll_weight: 0.2, mask_special_tokens: true")
    trainer, tok = build_dpo_trainer(run)
    batch = trainer.data_collator([trainer.train_dataset[0]])
    for side in ("chosen", "rejected"):  # the end-of-sequence token is in the input, not in the loss
        assert (batch[f"{side}_input_ids"] == tok.eos_token_id).any()
        assert not torch.isin(batch[f"{side}_labels"], torch.tensor(special_token_ids(tok))).any()
    result = run_dpo_stage(run)
    assert result["method"] == "simpo" and result["loss_type"] == ["simpo"] and result["steps"] == 2
    metrics = [json.loads(line) for line in (run.dir / "metrics.jsonl").read_text().splitlines()]
    first = next(m for m in metrics if "loss" in m and m["step"] == 1)
    # SimPO: beta x the gap of the length-averaged log-probs, less gamma; plus the NLL term (CPO's alpha)
    gap = 2.0 * (first["logps/chosen"] - first["logps/rejected"])
    assert first["rewards/margins"] == pytest.approx(gap, rel=1e-4)
    simpo = math.log1p(math.exp(-(gap - 0.5)))
    assert first["loss"] == pytest.approx(simpo + 0.2 * first["nll_loss"], rel=1e-4)
    assert -first["logps/chosen"] == pytest.approx(first["nll_loss"], rel=1e-4)  # both per-token means

    model = AutoModelForCausalLM.from_pretrained(result["model"])
    tok = AutoTokenizer.from_pretrained(result["model"])
    prompt = tok("Question: What is 2+2?\nAnswer: ", return_tensors="pt")
    assert model.generate(**prompt, max_new_tokens=4, do_sample=False).shape[1] > prompt["input_ids"].shape[1]


def test_options_that_cannot_apply_are_recipe_errors(tiny_model, tmp_path):
    from rewardkit.train.dpo import build_dpo_trainer

    for args, options, message in [
        ("precompute_ref_log_probs: true", "method: simpo",
         r"args\.precompute_ref_log_probs: with method simpo"),
        ("loss_type: sft", "nll_weight: 0.2", r"options\.nll_weight: args\.loss_type already has"),
        ("max_steps: 1", "method: ipo", r"options\.method: method must be one of dpo, simpo"),
    ]:
        with pytest.raises(RecipeError, match=message):
            build_dpo_trainer(dpo_run(tmp_path, tiny_model, args=args, options=options))


def test_rewardkit_run_dpo_recipe(tiny_model, tmp_path, cli):
    gsm8k_pairs(tmp_path / "pairs.jsonl", 8)
    recipe = tmp_path / "dpo.yaml"
    recipe.write_text(f"""\
name: tiny-dpo
model: {{name_or_path: {tiny_model}}}
data: {PAIRS}, limit: 8}}
stages:
  - type: dpo
    args: {{max_steps: 2, per_device_train_batch_size: 2, learning_rate: 1.0e-4, loss_type: sigmoid_norm}}
    options: {{nll_weight: 0.2, mask_special_tokens: true}}
""")
    out = cli("run", str(recipe), "--output-dir", str(tmp_path / "run"))
    assert out.returncode == 0, out.stderr[-3000:]
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    [stage] = manifest["stages"]
    result = stage["result"]
    assert stage["status"] == "done" and result["steps"] == 2 and result["pairs"] == 8
    assert result["loss_type"] == ["sigmoid_norm", "sft"] and result["base_model"] == str(tiny_model)
    stage_dir = tmp_path / "run" / "00-dpo"
    metrics = [json.loads(line) for line in (stage_dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics if "rewards/accuracies" in m] == [1, 2]

    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(result["model"])
    tok = AutoTokenizer.from_pretrained(result["model"])
    prompt = tok.apply_chat_template([{"role": "user", "content": "What is 2+2?"}],
                                     add_generation_prompt=True, return_tensors="pt", return_dict=True)
    assert model.generate(**prompt, max_new_tokens=4, do_sample=False).shape[1] > prompt["input_ids"].shape[1]
    start = AutoModelForCausalLM.from_pretrained(tiny_model).state_dict()
    assert any(not (start[k] == v).all() for k, v in model.state_dict().items())  # the weights moved
