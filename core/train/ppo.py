"""The PPO stage: PPO with a learned value model (GAE) and the recipe's verifiable rewards, the way
Tulu 3's RLVR ran it (Lambert et al. 2024, "Tulu 3: Pushing Frontiers in Open Language Model
Post-Training"; Schulman et al. 2017, "Proximal Policy Optimization Algorithms").

TRL 1.x has no PPO trainer; :mod:`rewardkit.train.ppo_trainer` builds one on TRL's GRPOTrainer. The
stage's ``args`` are its config (:class:`~rewardkit.train.ppo_trainer.PPOConfig`: GRPOConfig with
PPO's defaults; ``beta`` is the KL coefficient, ``epsilon`` the ratio clip, ``num_iterations`` the
PPO epochs); its ``options`` are :class:`PPOOptions`. It writes ``<stage>/model`` (the policy) and
``<stage>/value_model`` (the value model, which a later ppo stage can start from).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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


@dataclass
class PPOOptions:
    """PPO's own settings; the defaults are Tulu 3's (open-instruct's PPO)."""

    #: Where the value model starts: a reward model (Tulu 3 starts from its general reward model;
    #: the ``reward_model`` stage writes one), a causal LM (its backbone, with a new head at zero),
    #: or a value model an earlier ppo stage wrote. Default: the model the policy starts from.
    value_model: str | None = None
    #: Discount factor of the rewards (1.0: a completion's score counts fully at every token).
    gamma: float = 1.0
    #: GAE's lambda: how far advantages look ahead before trusting the value model (Schulman et al. 2016).
    lam: float = 0.95
    #: Weight of the value loss in the total loss.
    vf_coef: float = 0.1
    #: The value model's new estimates stay within this distance of those made at sampling time.
    cliprange_value: float = 0.2
    #: Normalise advantages to zero mean and unit variance over each batch's tokens.
    whiten_advantages: bool = True
    #: The value model's learning rate; None: the policy's (``args.learning_rate``).
    value_learning_rate: float | None = None
    #: How the per-token KL to the reference is estimated: ``k1`` (log ratio, Tulu 3) or ``k3``.
    kl_estimator: str = "k1"
    #: The score of a completion that ends without an end-of-sequence token (it ran out of
    #: ``max_completion_length``); None: scored like any other. Tulu 3's ``non_stop_penalty``.
    non_stop_penalty: float | None = None


def _check(options: PPOOptions, run: StageRun) -> None:
    from ..stages import recipe_problem
    from .ppo_gae import KL_ESTIMATORS

    if options.kl_estimator not in KL_ESTIMATORS:
        raise recipe_problem(run, "options.kl_estimator", f"unknown KL estimator {options.kl_estimator!r}",
                             f"use one of {', '.join(KL_ESTIMATORS)}")
    for name in ("gamma", "lam"):
        if not 0.0 <= getattr(options, name) <= 1.0:
            raise recipe_problem(run, f"options.{name}", f"{name} must be between 0 and 1",
                                 "Tulu 3 uses gamma 1.0, lam 0.95")
    if options.cliprange_value <= 0 or options.vf_coef < 0:
        raise recipe_problem(run, "options", "cliprange_value must be > 0 and vf_coef >= 0",
                             "Tulu 3 uses cliprange_value 0.2, vf_coef 0.1")


def value_model_path(options: PPOOptions, run: StageRun) -> str:
    """``options.value_model`` (a folder relative to the recipe, a hub id, or ``@reward_model``: what
    an earlier stage produced), else the model the policy starts from."""
    if options.value_model is None:
        return model_path(run)
    return run.model_reference(options.value_model)


def run_ppo_stage(run: StageRun) -> dict[str, Any]:
    from .data import load_dataset_for
    from .ppo_trainer import VALUE_DIR, PPOConfig, PPOTrainer
    from .ppo_value import load_value_model

    options: PPOOptions = run.options()
    _check(options, run)
    data = run.data()
    with run.engine() as engine:
        defaults = {**trainer_defaults(run), "reward_weights": engine.weights,
                    "model_init_kwargs": model_init_kwargs(run) or None}
        config = build_config(PPOConfig, defaults, run)
        tokenizer = load_tokenizer(run)
        value_model = load_value_model(value_model_path(options, run), tokenizer.pad_token_id,
                                       **model_init_kwargs(run))
        trainer = PPOTrainer(model=model_path(run), value_model=value_model, ppo=options,
                             reward_funcs=engine.trl_reward_funcs(), args=config,
                             train_dataset=load_dataset_for(data, run.recipe), processing_class=tokenizer)
        train(trainer, run, rl=True)
    (run.dir / "reward_stats.json").write_text(json.dumps(engine.stats_dict(), indent=2))
    value_dir = trainer.save_value_model(run.dir / VALUE_DIR)
    tokenizer.save_pretrained(str(value_dir))
    logs = trainer.state.log_history
    last = next((e for e in reversed(logs) if any(k.startswith("rewards/") for k in e)), {})
    return finish(trainer, tokenizer, run, value_model=str(value_dir),
                  last_rewards={k: v for k, v in last.items() if k.startswith("rewards/")})
