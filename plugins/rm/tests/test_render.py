"""Scoring inputs are rendered exactly as the reward_model stage trains on them: the token ids of a pair
rendered by the real training path (rewardkit's preference data + TRL's RewardTrainer) and by
rm.score's renderer are identical; reference conditioning changes the text and only when asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rewardkit_rm import DEFAULT_REFERENCE_TEMPLATE, Renderer, RenderError, condition_prompt, render_ids

COLUMNS = "{prompt: question, chosen: worked, rejected: bare}"


def trainer_and_tokenizer(tmp_path: Path, model: Path, data: str):
    """The reward_model stage's RewardTrainer (not trained), and its tokenizer as the stage saves it."""
    from rewardkit.testing import stage_run
    from rewardkit.train.reward_model import build_reward_trainer
    from transformers import AutoTokenizer

    recipe = tmp_path / "rm.yaml"
    recipe.write_text(f"name: parity\nmodel: {{name_or_path: {model}}}\nstages:\n"
                      f"  - type: reward_model\n    data: {data}\n    args: {{max_steps: 1}}\n")
    trainer, tokenizer = build_reward_trainer(stage_run(recipe, tmp_path / "stage", model=model))
    tokenizer.save_pretrained(tmp_path / "tok")
    return trainer, AutoTokenizer.from_pretrained(tmp_path / "tok")


@pytest.mark.parametrize("options, expect", [
    ('system_prompt: "Solve it.", prompt_template: "Q: {prompt}"', "chat"),
    ("chat: false", "text"),
])
def test_token_ids_equal_the_reward_trainers(tiny_causal, pairs_file, pairs, tmp_path, options, expect):
    data = f'{{path: "{pairs_file}", columns: {COLUMNS}, limit: 6, {options}}}'
    trainer, tok = trainer_and_tokenizer(tmp_path, tiny_causal, data)
    chat = expect == "chat"
    renderer = Renderer(tok, chat="auto" if chat else False,
                        system_prompt="Solve it." if chat else None, prompt_template="Q: {prompt}" if chat else None)
    for row, pair in zip(trainer.train_dataset, pairs):
        assert renderer.ids(pair["question"], pair["worked"]) == row["chosen_ids"]
        assert renderer.ids(pair["question"], pair["bare"]) == row["rejected_ids"]
    text = tok.decode(trainer.train_dataset[0]["chosen_ids"])
    if chat:  # the chat template, the system prompt and the template are all in what the model read
        assert text.startswith("<|im_start|>system\nSolve it.<|im_end|>\n<|im_start|>user\nQ: Janet")
    else:  # text: prompt + completion + EOS, no template
        assert text.startswith("Janet") and text.endswith(pairs[0]["worked"] + tok.eos_token)


def test_chat_rows_as_grpo_passes_them_render_as_trained(tiny_causal, pairs, tmp_path):
    """Chat prompts and assistant-message completions (GRPO's conversational shape)."""
    rows = [{"prompt": [{"role": "user", "content": p["question"]}],
             "chosen": [{"role": "assistant", "content": p["worked"]}],
             "rejected": [{"role": "assistant", "content": p["bare"]}]} for p in pairs[:4]]
    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    trainer, tok = trainer_and_tokenizer(tmp_path, tiny_causal, f'{{path: "{path}"}}')
    for row, raw in zip(trainer.train_dataset, rows):
        assert render_ids(tok, raw["prompt"], raw["chosen"]) == row["chosen_ids"]
        assert render_ids(tok, raw["prompt"], raw["rejected"][0]["content"]) == row["rejected_ids"]


def test_reference_conditioning_rewrites_the_prompt():
    text = condition_prompt("What is 2+2?", 4)
    assert text == "What is 2+2?\n\nReference answer: 4"
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"}]
    out = condition_prompt(chat, "4", "{prompt}\nGold: {reference} {not a field}")
    assert out[1]["content"] == "What is 2+2?\nGold: 4 {not a field}" and out[0] == chat[0]
    assert chat[1]["content"] == "What is 2+2?"  # a copy; the sample's prompt is untouched
    with pytest.raises(RenderError, match="needs a user message"):
        condition_prompt([{"role": "system", "content": "x"}], "4")
    assert "{prompt}" in DEFAULT_REFERENCE_TEMPLATE


def test_chat_without_a_template_is_refused_clearly(tiny_causal, tmp_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_causal)
    tok.chat_template = None
    with pytest.raises(RenderError, match="no chat template"):
        Renderer(tok, chat=True)
    renderer = Renderer(tok)  # auto: text, as a stage with chat: false trained it
    assert tok.decode(renderer.ids("Q ", "A")) == "Q A" + tok.eos_token
    with pytest.raises(RenderError, match="prompt is chat messages"):
        renderer.ids([{"role": "user", "content": "Q"}], "A")
