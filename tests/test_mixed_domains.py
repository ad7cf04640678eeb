"""DeepSeek-V3's reward mix in one recipe: math and code checked by rules, open-ended prompts by a
reward model and a chain-of-thought judge, routed by each row's domain. The recipe scores a JSONL end
to end, and the same recipe runs a few GRPO steps with all four rewards."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from rewardkit.testing import build_tiny_model, real_instruct_model, shared_data_dir


def mixed_rows() -> list[dict]:
    gsm = [json.loads(line) for line in (shared_data_dir() / "gsm8k" / "test.jsonl").read_text().splitlines()[:2]]
    with gzip.open(shared_data_dir() / "humaneval" / "HumanEval.jsonl.gz", "rt", encoding="utf-8") as fh:
        he = [json.loads(fh.readline()) for _ in range(2)]
    ifeval = [json.loads(line) for line in (shared_data_dir() / "ifeval" / "input_data.jsonl").read_text().splitlines()[:2]]
    rows = []
    for i, r in enumerate(gsm):
        gold = r["answer"].split("####")[-1].strip()
        rows.append({"prompt": r["question"], "completion": f"The answer is {gold if i == 0 else gold + '1'}.",
                     "answer": r["answer"], "domain": "math"})
    for i, r in enumerate(he):
        rows.append({"prompt": r["prompt"], "completion": r["canonical_solution"] if i == 0 else "    return None\n",
                     "test": r["test"], "entry_point": r["entry_point"], "domain": "code"})
    for r in ifeval:
        rows.append({"prompt": r["prompt"], "completion": "Here is a short, careful answer to your request.",
                     "domain": "open"})
    return rows


@pytest.fixture(scope="module")
def mixed_recipe(tmp_path_factory, tiny_model, sandbox_ready) -> Path:
    # code.unit_tests validates only where an isolating sandbox exists (a fresh machine installs it here)
    folder = tmp_path_factory.mktemp("mixed")
    data = folder / "mixed.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in mixed_rows()))
    rm = build_tiny_model(folder / "rm", kind="classifier")
    judge = real_instruct_model()
    recipe = folder / "deepseek_v3_rewards.yaml"
    recipe.write_text(f"""\
name: deepseek-v3-rewards
model: {{name_or_path: {tiny_model}}}
data: {{path: {data}}}
scoring: {{executor: thread, deadline: 300}}
rewards:
  - {{name: math.gsm8k, id: math, domains: [math]}}
  - {{name: code.unit_tests, id: code, domains: [code]}}
  - {{name: rm.score, id: rm, domains: [open], params: {{model: {rm}}}}}
  - {{name: judge.pointwise, id: judge, domains: [open], weight: 0.5, params: {{model: {judge}, max_new_tokens: 48}}}}
stages:
  - type: grpo
    args: {{max_steps: 2, per_device_train_batch_size: 4, num_generations: 2, max_completion_length: 8}}
""")
    return recipe


def test_the_recipe_scores_each_domain_with_its_rewards(mixed_recipe, tmp_path, cli):
    src = mixed_recipe.parent / "mixed.jsonl"
    out = tmp_path / "scored.jsonl"
    # The small judge may give no verdict (an error, checked below): tolerate any share of failed calls.
    done = cli("score", "--recipe", str(mixed_recipe), "--input", str(src), "--output", str(out), "--quiet",
               "--max-error-rate", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    by_domain = {d: [r["rewards"] for r in rows if r["domain"] == d] for d in ("math", "code", "open")}
    assert [r["math"] for r in by_domain["math"]] == [1.0, 0.0]
    assert by_domain["code"][0]["code"] == 1.0 and by_domain["code"][1]["code"] == 0.0
    for rewards in by_domain["open"]:
        assert isinstance(rewards["rm"], float) and rewards["math"] is None and rewards["code"] is None
    # a rule never scores an open-ended row, a model never scores math or code: routing by domain
    assert all(r["rm"] is None and r["judge"] is None for d in ("math", "code") for r in by_domain[d])
    judged = [r for r in rows if r["domain"] == "open"]
    for row in judged:  # the judge either gave a verdict in [0, 1] or says why not
        value = row["rewards"]["judge"]
        assert (value is not None and 0.0 <= value <= 1.0) or "judge" in row["errors"]


def test_the_same_recipe_trains_with_all_four_rewards(mixed_recipe, tmp_path, cli):
    done = cli("run", str(mixed_recipe), "--output-dir", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = [json.loads(line) for line in (tmp_path / "run" / "00-grpo" / "metrics.jsonl").read_text().splitlines()]
    logged = set().union(*metrics)
    assert {"rewards/math/mean", "rewards/code/mean", "rewards/rm/mean", "rewards/judge/mean"} <= logged
    stats = json.loads((tmp_path / "run" / "00-grpo" / "reward_stats.json").read_text())
    # every completion (2 steps x 2 prompts x 2 generations) went to its domain's reward(s)
    assert stats["math"]["scored"] + stats["code"]["scored"] + stats["rm"]["scored"] >= 2 * 2 * 2
    assert stats["rm"]["scored"] == stats["judge"]["scored"]  # both open-ended rewards saw the same rows
