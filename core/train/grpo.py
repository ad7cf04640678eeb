"""The GRPO stage: TRL's GRPOTrainer with the recipe's rewards as reward functions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..stage import StageRun
from .common import build_config, finish, load_tokenizer, model_init_kwargs, model_path, train, trainer_defaults


@dataclass
class GRPOOptions:
    """rewardkit's own GRPO settings (TRL's are the stage's ``args``: ``GRPOConfig``)."""


def run_grpo_stage(run: StageRun) -> dict[str, Any]:
    from trl import GRPOConfig, GRPOTrainer

    from .data import load_dataset_for

    data = run.data()
    with run.engine() as engine:
        defaults = {**trainer_defaults(run), "reward_weights": engine.weights,
                    "model_init_kwargs": model_init_kwargs(run) or None}
        config = build_config(GRPOConfig, defaults, run)
        tokenizer = load_tokenizer(run)
        trainer = GRPOTrainer(model=model_path(run), reward_funcs=engine.trl_reward_funcs(), args=config,
                              train_dataset=load_dataset_for(data, run.recipe), processing_class=tokenizer)
        train(trainer, run, rl=True)
    (run.dir / "reward_stats.json").write_text(json.dumps(engine.stats_dict(), indent=2))
    last = next((e for e in reversed(trainer.state.log_history) if any(k.startswith("rewards/") for k in e)), {})
    return finish(trainer, tokenizer, run, last_rewards={k: v for k, v in last.items() if k.startswith("rewards/")})
