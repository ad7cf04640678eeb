"""The GRPO stage: TRL's GRPOTrainer with the recipe's rewards as reward functions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..recipe import Recipe, StageConfig
from .common import build_config, cpu_defaults, save_logs


def run_grpo_stage(stage: StageConfig, recipe: Recipe, ctx: Any, stage_dir: Path) -> dict[str, Any]:
    from transformers import AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from .data import load_dataset_for

    data = stage.data or recipe.data
    model = stage.model.name_or_path if stage.model else ctx.model
    if data is None or model is None:
        raise ValueError("the grpo stage needs `data:` and `model:` (in the stage or the recipe)")
    with recipe.build_engine(kit=ctx.kit) as engine:
        defaults = {**cpu_defaults(), "output_dir": str(stage_dir), "seed": recipe.seed,
                    "reward_weights": engine.weights, "logging_steps": 1, "save_strategy": "no",
                    "report_to": "none"}
        config = build_config(GRPOConfig, defaults, stage, recipe)
        tokenizer = AutoTokenizer.from_pretrained(model)
        trainer = GRPOTrainer(model=model, reward_funcs=engine.trl_reward_funcs(), args=config,
                              train_dataset=load_dataset_for(data, recipe), processing_class=tokenizer)
        trainer.train()
    out = stage_dir / "model"
    trainer.save_model(str(out))
    tokenizer.save_pretrained(str(out))
    logs = save_logs(trainer, stage_dir)
    (stage_dir / "reward_stats.json").write_text(json.dumps(engine.stats_dict(), indent=2))
    last = next((entry for entry in reversed(logs) if any(k.startswith("rewards/") for k in entry)), {})
    reward_means = {k: v for k, v in last.items() if k.startswith("rewards/")}
    return {"model": str(out), "steps": trainer.state.global_step, "last_rewards": reward_means}
