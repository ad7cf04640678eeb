"""The RLOO stage: TRL's RLOOTrainer with the recipe's rewards as reward functions.

RLOO (REINFORCE Leave-One-Out) samples ``num_generations`` completions per prompt and baselines each
with the mean reward of the others. TRL's settings are the stage's ``args`` (``RLOOConfig``:
``num_generations``, ``beta``, ``epsilon``, ``normalize_advantages``, ``max_completion_length``...).
"""

from __future__ import annotations

import json
from typing import Any

from ..stage import StageRun
from .common import (
    build_config,
    finish,
    load_tokenizer,
    model_init_kwargs,
    model_path,
    train,
    trainer_defaults,
)


def run_rloo_stage(run: StageRun) -> dict[str, Any]:
    from trl import RLOOConfig, RLOOTrainer

    from .data import load_dataset_for

    with run.engine() as engine:
        defaults = {**trainer_defaults(run), "reward_weights": engine.weights,
                    "model_init_kwargs": model_init_kwargs(run) or None}
        config = build_config(RLOOConfig, defaults, run)
        tokenizer = load_tokenizer(run)
        trainer = RLOOTrainer(model=model_path(run), reward_funcs=engine.trl_reward_funcs(), args=config,
                              train_dataset=load_dataset_for(run.data(), run.recipe), processing_class=tokenizer)
        train(trainer, run, rl=True)
    (run.dir / "reward_stats.json").write_text(json.dumps(engine.stats_dict(), indent=2))
    last = next((e for e in reversed(trainer.state.log_history) if any(k.startswith("rewards/") for k in e)), {})
    return finish(trainer, tokenizer, run, last_rewards={k: v for k, v in last.items() if k.startswith("rewards/")})
