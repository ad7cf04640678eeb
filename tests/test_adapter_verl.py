"""The verl adapter inside verl's own reward managers, on a DataProto batch built as verl's rollout builds it.

verl is installed by the Makefile with --no-deps (its reward code needs torch, tensordict and omegaconf,
not its vllm/ray stack); the custom reward function is loaded the way verl loads it, from a file path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rewardkit.adapters.verl as verl_adapter
import torch
from rewardkit.adapters import RoutingError

RECIPE = """\
name: verl-adapter-test
rewards:
  - {name: math.gsm8k, id: gsm8k, domains: [gsm8k]}
  - {name: math.accuracy, id: math, domains: [math], params: {timeout: 5}}
  - {name: format.think, id: think, weight: 0.5}
"""

#: (data_source, prompt, response, ground truth, extra_info): GSM8K and MATH rows as verl's
#: preprocessors write them (extra_info carries the index; GSM8K's also the question and answer).
ROWS = [
    ("openai/gsm8k", "Natalia sold 48 clips... How many?", "<think>48+24</think> #### 72", "72",
     {"index": 0, "question": "Natalia sold 48 clips... How many?", "answer": "48/2 = 24 ... #### 72"}),
    ("openai/gsm8k", "Natalia sold 48 clips... How many?", "#### 70", "72",
     {"index": 0, "question": "Natalia sold 48 clips... How many?", "answer": "48/2 = 24 ... #### 72"}),
    ("lighteval/MATH", "Simplify 2/4.", r"<think>halve</think> The answer is $\boxed{\frac{1}{2}}$",
     r"\frac{1}{2}", {"index": 1}),
    ("lighteval/MATH", "Simplify 2/4.", r"$\boxed{0.4}$", r"\frac{1}{2}", {"index": 1}),
]
#: gsm8k/math correctness + 0.5 x <think> format
EXPECTED = [1.5, 0.0, 1.5, 0.0]


@pytest.fixture(scope="module")
def tokenizer():
    from rewardkit.testing import build_tiny_tokenizer

    return build_tiny_tokenizer()


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("verl") / "recipe.yaml"
    path.write_text(RECIPE)
    return path


def rollout_batch(tokenizer, rows=ROWS):
    """A DataProto as verl's rollout hands it to the reward manager: left-padded prompts, right-padded
    responses, one attention mask over both; data_source, reward_model and extra_info per row."""
    from verl import DataProto

    prompts = [tokenizer(r[1], add_special_tokens=False)["input_ids"] for r in rows]
    responses = [tokenizer(r[2], add_special_tokens=False)["input_ids"] for r in rows]
    p_len, r_len = max(map(len, prompts)), max(map(len, responses)) + 3
    pad = tokenizer.pad_token_id or 0
    prompt_ids = torch.full((len(rows), p_len), pad)
    response_ids = torch.full((len(rows), r_len), pad)
    mask = torch.zeros((len(rows), p_len + r_len), dtype=torch.long)
    for i, (p, r) in enumerate(zip(prompts, responses)):
        prompt_ids[i, p_len - len(p):] = torch.tensor(p)
        response_ids[i, :len(r)] = torch.tensor(r)
        mask[i, p_len - len(p):p_len + len(r)] = 1
    return DataProto.from_dict(
        tensors={"prompts": prompt_ids, "responses": response_ids, "attention_mask": mask,
                 "input_ids": torch.cat([prompt_ids, response_ids], dim=1)},
        non_tensors={"data_source": np.array([r[0] for r in rows], dtype=object),
                     "reward_model": np.array([{"style": "rule", "ground_truth": r[3]} for r in rows],
                                              dtype=object),
                     "extra_info": np.array([dict(r[4]) for r in rows], dtype=object)},
    ), [len(r) for r in responses]


def verl_config(recipe: Path, name: str):
    from omegaconf import OmegaConf

    return OmegaConf.create({"reward": {"custom_reward_function": {
        "path": verl_adapter.__file__, "name": name, "reward_kwargs": {"recipe": str(recipe)}}}})


def last_token_rewards(tensor, lengths):
    assert all(tensor[i, :n - 1].eq(0).all() and tensor[i, n:].eq(0).all() for i, n in enumerate(lengths))
    return [tensor[i, n - 1].item() for i, n in enumerate(lengths)]


def test_naive_reward_manager_scores_a_rollout_batch(tokenizer, recipe):
    from verl.trainer.ppo.reward import get_custom_reward_fn
    from verl.workers.reward_manager.naive import NaiveRewardManager

    fn = get_custom_reward_fn(verl_config(recipe, "compute_score"))  # verl loads the file by path
    manager = NaiveRewardManager(tokenizer, num_examine=0, compute_score=fn)
    data, lengths = rollout_batch(tokenizer)
    out = manager(data, return_dict=True)
    assert last_token_rewards(out["reward_tensor"], lengths) == pytest.approx(EXPECTED)
    info = out["reward_extra_info"]
    assert info["gsm8k"] == [1.0, 0.0, 0.0, 0.0] and info["math"] == [0.0, 0.0, 1.0, 0.0]
    assert info["think"] == [1.0, 0.0, 1.0, 0.0] and info["rewardkit_scored"] == [1, 1, 1, 1]


def test_batch_reward_manager_and_the_async_reward_loop_agree(tokenizer, recipe):
    from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager as LoopNaive
    from verl.trainer.ppo.reward import get_custom_reward_fn
    from verl.workers.reward_manager.batch import BatchRewardManager

    data, lengths = rollout_batch(tokenizer)
    batch = BatchRewardManager(tokenizer, 0, get_custom_reward_fn(verl_config(recipe, "compute_score_batch")))
    assert last_token_rewards(batch(data), lengths) == pytest.approx(EXPECTED)

    config = verl_config(recipe, "compute_score")
    loop = LoopNaive(config, tokenizer, get_custom_reward_fn(config))
    results = [loop.loop.run_until_complete(loop.run_single(data[i:i + 1])) for i in range(len(ROWS))]
    assert [r["reward_score"] for r in results] == pytest.approx(EXPECTED)
    assert results[0]["reward_extra_info"]["gsm8k"] == 1.0


def test_unknown_data_source_fails_with_the_fix_and_a_mapping_routes_it(recipe, monkeypatch):
    with pytest.raises(RoutingError, match=r"data_source 'my/numbers'.*REWARDKIT_DOMAINS"):
        verl_adapter.compute_score("my/numbers", "#### 4", "4", {}, recipe=str(recipe))
    out = verl_adapter.compute_score("my/numbers", "#### 4", "4", {}, recipe=str(recipe),
                                     domains={"my/numbers": "gsm8k"})
    assert out["score"] == 1.0 and out["gsm8k"] == 1.0
    monkeypatch.setenv("REWARDKIT_RECIPE", str(recipe))
    monkeypatch.setenv("REWARDKIT_DOMAINS", '{"my/numbers": "gsm8k"}')
    assert verl_adapter.compute_score("my/numbers", "#### 5", "4", return_dict=False) == 0.0
    # a row's own extra_info.domain wins over the data source
    assert verl_adapter.compute_score("whatever", r"$\boxed{3}$", "3", {"domain": "math"})["math"] == 1.0
    monkeypatch.setenv("REWARDKIT_DOMAINS", "not json")
    with pytest.raises(ValueError, match="must be a JSON object"):
        verl_adapter.compute_score("my/numbers", "#### 5", "4")


def test_batch_scoring_forms_groups_from_the_prompt_index(tmp_path):
    recipe = tmp_path / "ttrl.yaml"
    recipe.write_text("name: ttrl\nrewards:\n  - {name: vote.majority, id: vote, params: "
                      "{extract: last_number, equivalence: text, executor: inline}}\n")
    answers = ["72", "72", "70", "5", "6", "6"]
    out = verl_adapter.compute_score_batch(
        ["openai/gsm8k"] * 6, [f"#### {a}" for a in answers], ["-"] * 6,
        [{"index": 0}] * 3 + [{"index": 1}] * 3, recipe=str(recipe))
    assert [r["vote"] for r in out] == [1.0, 1.0, 0.0, 0.0, 1.0, 1.0]  # each prompt's own majority
    # one response per call is a group of one: no majority, so not scored (and flagged as such)
    single = verl_adapter.compute_score("openai/gsm8k", "#### 72", "-", {"index": 0}, recipe=str(recipe))
    assert single == {"score": 0.0, "vote": 0.0, "rewardkit_scored": 0}
