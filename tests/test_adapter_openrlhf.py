"""The OpenRLHF adapter: OpenRLHF's own executor loads the file by path and calls ``reward_func`` as it does
after a rollout (queries are prompt + response decoded with special tokens)."""

from __future__ import annotations

import asyncio
import json

import pytest
import rewardkit.adapters.openrlhf as adapter
import torch
from rewardkit.adapters.openrlhf import QueryError, label_row, split_query

RECIPE = """\
name: openrlhf-adapter-test
data: {path: rows.jsonl, domain: math}
rewards:
  - {name: math.gsm8k, id: correct, domains: [math]}
  - {name: regex_match, id: code_fence, domains: [code], params: {pattern: "```"}}
  - {name: format.think, id: think, weight: 0.5}
"""


@pytest.fixture(scope="module")
def tokenizer():
    from rewardkit.testing import build_tiny_tokenizer

    return build_tiny_tokenizer()


def rollout(tokenizer, question: str, response: str) -> tuple[str, str]:
    """(query, prompt) exactly as OpenRLHF's SingleTurnAgentExecutor makes them."""
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": question}], tokenize=False,
                                           add_generation_prompt=True)
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ids += tokenizer(response, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    return tokenizer.decode(ids, skip_special_tokens=False), prompt


def test_split_query():
    prompt = "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n"
    assert split_query(prompt + "#### 4<|im_end|>", prompt) == "#### 4"
    # a BOS decoded first, padding after
    assert split_query("<s>" + prompt + "4</s><|endoftext|><|endoftext|>", prompt) == "4"
    assert split_query("the whole query<|im_end|>", "") == "the whole query"  # no prompt sent: all of it
    with pytest.raises(QueryError, match="does not contain its prompt"):
        split_query("something else entirely", prompt)


def test_label_row():
    assert label_row("72") == {"reference": "72", "answer": "72"}
    assert label_row('{"answer": "#### 72", "domain": "math"}') == {"answer": "#### 72", "domain": "math"}
    assert label_row({"test": "assert f() == 1", "domain": "code"})["domain"] == "code"
    assert label_row("{not json") == {"reference": "{not json", "answer": "{not json"}
    assert label_row(None) == {}


def test_openrlhf_executor_loads_the_file_and_gets_rewards(tokenizer, tmp_path, monkeypatch):
    from openrlhf.utils.agent import SingleTurnAgentExecutor

    (tmp_path / "rows.jsonl").write_text("")
    (tmp_path / "recipe.yaml").write_text(RECIPE)
    monkeypatch.setenv("REWARDKIT_RECIPE", str(tmp_path / "recipe.yaml"))
    executor = SingleTurnAgentExecutor(remote_rm_url=adapter.__file__)  # imports the file by path
    cases = [
        ("Natalia sold 48 clips... How many?", "<think>48+24</think> #### 72", "72", 1.5),
        ("Natalia sold 48 clips... How many?", "#### 70", "72", 0.0),
        # a JSON label is a row: its domain routes it to the code reward only (plus the format reward)
        ("Write f.", "```python\ndef f(): pass\n```", json.dumps({"domain": "code"}), 1.0),
    ]
    for question, response, label, want in cases:
        query, prompt = rollout(tokenizer, question, response)
        [info] = asyncio.run(executor._fetch_rewards_via_func([query], [prompt], [label]))
        assert isinstance(info["rewards"], torch.Tensor) and info["rewards"].tolist() == pytest.approx([want])
        assert info["scores"].tolist() == info["rewards"].tolist()
        assert info["extra_logs"]["rewardkit/scored"].tolist() == [1.0]
        torch.tensor([info["rewards"]])  # what OpenRLHF then does with it (samples_generator)

    # a query that does not contain its prompt is not scored as if it did: none_value, and counted
    [info] = asyncio.run(executor._fetch_rewards_via_func(["garbled"], ["<|im_start|>user\nQ"], ["72"]))
    assert info["rewards"].tolist() == [0.0] and info["extra_logs"]["rewardkit/scored"].tolist() == [0.0]
