"""Fixtures: GSM8K preference pairs and a reward model trained on them by the real reward_model stage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

#: Pairs written; the run trains on the first TRAINED, the tests score the rest (never trained on).
PAIRS, TRAINED = 40, 24


def write_pairs(path: Path, n: int = PAIRS) -> list[dict]:
    """GSM8K pairs: chosen = the gold worked solution, rejected = its bare final answer (no work shown);
    a signal a tiny model learns in a few steps (as in tests/train/test_reward_model.py)."""
    from rewardkit.testing import shared_data_dir

    with open(shared_data_dir() / "gsm8k" / "test.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(next(fh)) for _ in range(n)]
    pairs = [{"question": r["question"], "worked": r["answer"], "bare": r["answer"].split("####")[-1].strip(),
              "answer": r["answer"].split("####")[-1].strip()} for r in rows]
    path.write_text("".join(json.dumps(p) + "\n" for p in pairs))
    return pairs


@pytest.fixture(scope="session")
def tiny_causal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rewardkit.testing import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def pairs_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "pairs.jsonl"
    write_pairs(path)
    return path


@pytest.fixture(scope="session")
def pairs(pairs_file: Path) -> list[dict]:
    return [json.loads(line) for line in pairs_file.read_text().splitlines()]


@pytest.fixture(scope="session")
def rm_run(tiny_causal: Path, pairs_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of ``rewardkit run`` with one reward_model stage (the real TRL RewardTrainer, 6 steps); the
    stage's data has a system prompt, so scoring must read it from the run to render as in training."""
    folder = tmp_path_factory.mktemp("rm-run")
    recipe = folder / "rm.yaml"
    recipe.write_text(f"""\
name: tiny-rm
model: {{name_or_path: {tiny_causal}}}
stages:
  - type: reward_model
    data: {{path: "{pairs_file}", columns: {{prompt: question, chosen: worked, rejected: bare}},
           limit: {TRAINED}, system_prompt: "Solve the problem."}}
    args: {{max_steps: 6, per_device_train_batch_size: 4, learning_rate: 2.0e-3}}
""")
    out = subprocess.run([sys.executable, "-m", "rewardkit.cli", "run", str(recipe), "--output-dir",
                          str(folder / "run")], check=False, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return folder / "run"


@pytest.fixture(scope="session")
def rm_dir(rm_run: Path) -> Path:
    return rm_run / "00-reward_model" / "model"


@pytest.fixture(autouse=True)
def _fresh_state():
    """Each test starts with no loaded model and no running statistics (both are per process)."""
    from rewardkit_rm import clear_cache, reset_running_stats

    clear_cache()
    reset_running_stats()
    yield
    clear_cache()


@pytest.fixture(scope="session")
def held_out(pairs: list[dict]) -> list:
    """Samples of the pairs the run never trained on: chosen and rejected of each, interleaved."""
    from rewardkit.testing import make_sample

    return [make_sample(p[k], prompt=p["question"], answer=p["answer"]) for p in pairs[TRAINED:]
            for k in ("worked", "bare")]
