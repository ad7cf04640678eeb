"""GRPO step time with rewardkit's bridge against the same reward functions handed to TRL directly.

Both runs train the same tiny local model (random init, built here) on the same GSM8K prompts with
the same seed and the same two rewards: ``math.gsm8k`` and ``format.think``. Through rewardkit they
reach TRL as ``engine.trl_reward_funcs()`` (routing, cache, hard per-call deadlines, stats); directly
they are the plugins' plain functions called per completion, as a TRL user would write them. The
runs alternate, best of ``--repeat``; the ratio is the bridge's overhead per step (goal <= 1.05x).

    .venv/bin/python benchmarks/bench_train.py [--steps 8] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from rewardkit import RewardSpec, ScoringEngine
from rewardkit.testing import build_tiny_model, make_sample, shared_data_dir


def dataset(n: int):  # type: ignore[no-untyped-def]
    from datasets import Dataset

    rows = [json.loads(line) for line in (shared_data_dir() / "gsm8k" / "test.jsonl").read_text().splitlines()[:n]]
    return Dataset.from_list([{"prompt": [{"role": "user", "content": r["question"]}], "answer": r["answer"]}
                              for r in rows])


def direct_reward_funcs() -> list:
    """The plugins' functions as plain TRL reward functions: ``(prompts, completions, answer, **kw)``."""
    from rewardkit_format import think_format as think
    from rewardkit_math import gsm8k

    def correct(prompts, completions, answer, **kwargs):  # type: ignore[no-untyped-def]
        return [gsm8k.fn(make_sample(c, p, answer=a)).value for p, c, a in zip(prompts, completions, answer)]

    def formatted(prompts, completions, **kwargs):  # type: ignore[no-untyped-def]
        return [float(think.fn(make_sample(c, p)).value) for p, c in zip(prompts, completions)]

    return [correct, formatted]


def train_seconds(model: Path, reward_funcs: list, weights: list[float], steps: int, out: Path) -> float:
    from trl import GRPOConfig, GRPOTrainer

    config = GRPOConfig(output_dir=str(out), use_cpu=True, bf16=False, max_steps=steps, per_device_train_batch_size=8,
                        num_generations=4, max_completion_length=32, logging_steps=steps, report_to="none",
                        save_strategy="no", reward_weights=weights, seed=0, disable_tqdm=True)
    trainer = GRPOTrainer(model=str(model), reward_funcs=reward_funcs, args=config, train_dataset=dataset(64))
    started = time.perf_counter()
    trainer.train()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_model(Path(tmp) / "tiny")
        specs = [RewardSpec("math.gsm8k", id="correct"), RewardSpec("format.think", weight=0.2)]
        bridge, direct = [], []
        for i in range(args.repeat):
            with ScoringEngine(specs, executor="thread") as engine:
                bridge.append(train_seconds(model, engine.trl_reward_funcs(), engine.weights, args.steps,
                                            Path(tmp) / f"b{i}"))
            direct.append(train_seconds(model, direct_reward_funcs(), [1.0, 0.2], args.steps, Path(tmp) / f"d{i}"))
            print(f"run {i + 1}: rewardkit bridge {bridge[-1] / args.steps * 1000:.1f} ms/step, "
                  f"direct {direct[-1] / args.steps * 1000:.1f} ms/step")
    b, d = min(bridge), min(direct)
    print(f"GRPO step, best of {args.repeat}: bridge {b / args.steps * 1000:.1f} ms, direct {d / args.steps * 1000:.1f} ms "
          f"-> ratio {b / d:.3f}x (goal <= 1.05)")


if __name__ == "__main__":
    main()
