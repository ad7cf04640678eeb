"""The ppo stage's step time against GRPO's on the same batch, measured in the same run.

Both train the same random-init Llama-config model (built here; ``--hidden``/``--layers`` set its
size) on the same GSM8K prompts with the same reward, the same batch (``--batch`` completions per
step, ``--generations`` per prompt, so both see the same prompts) and the same completion length
(every completion is forced to ``--length`` tokens). PPO does more per step than GRPO: a forward of
the policy for the sampling log-probabilities (GRPO reuses the loss pass when samples are used
once), a forward of the reference model (its KL penalty; GRPO's default ``beta=0`` loads none),
and the value model's forward at sampling time and forward plus backward in the loss. GRPO is timed
twice: as it ships (``beta=0``) and with the same KL coefficient as PPO (``beta=0.05``: the same
reference forward, leaving the value model and the sampling log-probabilities as the difference).
One PPO epoch per batch for both (``num_iterations=1``). The runs alternate; each figure is the
best of ``--repeat`` runs of ``--steps`` steps after one warm-up step, in CPU seconds of this
process (``--threads`` 1 by default): other processes' load does not stretch it as it does wall time.

Measured 2026-12-01 on 2 shared CPU cores, defaults: grpo 671 ms, grpo+kl 776 ms, ppo 1388 ms per step:
ppo / grpo = 2.07x, ppo / grpo with the same KL = 1.79x.

    .venv/bin/python benchmarks/bench_ppo.py [--steps 6] [--repeat 2] [--hidden 256] [--layers 4]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from rewardkit import RewardSpec, ScoringEngine
from rewardkit.testing import build_tiny_model, shared_data_dir


def dataset(n: int) -> Any:
    from datasets import Dataset

    lines = (shared_data_dir() / "gsm8k" / "test.jsonl").read_text().splitlines()[:n]
    rows = [json.loads(line) for line in lines]
    return Dataset.from_list([{"prompt": [{"role": "user", "content": r["question"]}], "answer": r["answer"]}
                              for r in rows])


class _StepClock:
    """CPU seconds of each optimizer step after the first (the first pays for lazy set-up). CPU time,
    not wall time: on a shared machine other processes' load stretches the wall clock, not this."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._last: float | None = None

    def callback(self) -> Any:
        from transformers import TrainerCallback

        clock = self

        class Clock(TrainerCallback):
            def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                now = time.process_time()
                if clock._last is not None:
                    clock.times.append(now - clock._last)
                clock._last = now

        return Clock()


def step_seconds(kind: str, model: Path, args: argparse.Namespace, out: Path) -> float:
    from rewardkit.train.common import cpu_defaults
    from rewardkit.train.ppo import PPOOptions
    from rewardkit.train.ppo_trainer import PPOConfig, PPOTrainer
    from rewardkit.train.ppo_value import load_value_model
    from transformers import AutoTokenizer, PrinterCallback
    from trl import GRPOConfig, GRPOTrainer

    engine = ScoringEngine([RewardSpec("regex_match", id="has_e", params={"pattern": "e"})])
    common = dict(output_dir=str(out), **cpu_defaults(), max_steps=args.steps + 1, seed=0,
                  per_device_train_batch_size=args.batch, num_generations=args.generations, num_iterations=1,
                  max_completion_length=args.length, generation_kwargs={"min_new_tokens": args.length},
                  logging_steps=args.steps + 1, report_to="none", save_strategy="no", disable_tqdm=True,
                  reward_weights=engine.weights)
    tokenizer = AutoTokenizer.from_pretrained(model)
    data = dataset(64)
    with engine:
        if kind == "ppo":
            value_model = load_value_model(str(model), tokenizer.pad_token_id)
            trainer: Any = PPOTrainer(model=str(model), value_model=value_model, ppo=PPOOptions(),
                                      reward_funcs=engine.trl_reward_funcs(), args=PPOConfig(**common),
                                      train_dataset=data, processing_class=tokenizer)
        else:
            beta = 0.05 if kind == "grpo+kl" else 0.0
            trainer = GRPOTrainer(model=str(model), reward_funcs=engine.trl_reward_funcs(),
                                  args=GRPOConfig(**common, beta=beta), train_dataset=data,
                                  processing_class=tokenizer)
        clock = _StepClock()
        trainer.add_callback(clock.callback())
        trainer.remove_callback(PrinterCallback)
        trainer.train()
    return sum(clock.times) / len(clock.times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8, help="completions per step")
    parser.add_argument("--generations", type=int, default=4, help="completions per prompt (both trainers)")
    parser.add_argument("--length", type=int, default=32, help="tokens per completion")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: steadiest CPU times)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    kinds = ("grpo", "grpo+kl", "ppo")
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_model(Path(tmp) / "model", hidden_size=args.hidden, layers=args.layers,
                                 heads=max(2, args.hidden // 64))
        for i in range(args.repeat):
            for kind in kinds:
                seconds = step_seconds(kind, model, args, Path(tmp) / f"{kind}-{i}")
                best[kind] = min(best.get(kind, seconds), seconds)
                print(f"run {i + 1}: {kind:8s} {seconds * 1000:8.1f} ms/step", flush=True)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    print(f"step CPU time, best of {args.repeat} ({args.steps} steps each; {args.batch} completions of "
          f"{args.length} tokens, hidden {args.hidden}, {args.layers} layers, {device}):")
    for kind in kinds:
        print(f"  {kind:8s} {best[kind] * 1000:8.1f} ms")
    print(f"ppo / grpo = {best['ppo'] / best['grpo']:.2f}x; ppo / grpo with the same KL (beta 0.05) = "
          f"{best['ppo'] / best['grpo+kl']:.2f}x")


if __name__ == "__main__":
    main()
