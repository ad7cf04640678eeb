"""The GRPO stage: TRL's GRPOTrainer with the recipe's rewards as reward functions.

TRL's own settings are the stage's ``args`` (``GRPOConfig``): the loss variant (``loss_type``:
``grpo``, ``dr_grpo``, ``dapo``, ``bnpo``, ``cispo``, ``sapo``...), clipping (``epsilon``,
``epsilon_high`` for DAPO's clip-higher, ``delta``), ``beta``, ``scale_rewards``,
``importance_sampling_level`` (GSPO), ``mask_truncated_completions``... rewardkit adds
data-side options (:class:`GRPOOptions`):

* ``select_by_variance`` (Qwen 2.5): before training, sample ``selection_samples`` completions per
  training prompt with the starting model, score them with the recipe's rewards and train only on
  the prompts whose reward standard deviation exceeds ``min_reward_std`` (prompts the model always
  or never solves teach GRPO nothing). ``<stage>/selection.json`` lists every prompt's mean and std.
* ``dynamic_sampling`` (DAPO): in each generation batch, groups whose rewards all agree have zero
  advantage; they are dropped from the loss: their tokens leave the loss mask, so the KL and entropy
  terms, and the token count that the ``dapo``/``cispo``/``bnpo`` losses divide by (for the per-sequence
  means of ``grpo``/``dr_grpo`` they remain rows of zero loss). ``dynamic_sampling/dropped_groups``
  is logged each step. TRL 1.16 has no such switch, hence a small GRPOTrainer subclass. Unlike DAPO,
  the batch is not refilled with fresh prompts, so a step trains on fewer groups.
* ``sampling`` (Kimi k1.5): which prompts each generation batch takes, ``{kind: uniform|curriculum|
  prioritized, ...}`` (:class:`~rewardkit.train.prompt_sampling.SamplingOptions`): easy problems first by a
  difficulty column, or problems drawn by ``1 - success rate``; ``<stage>/sampling.json`` records the draws
  and every prompt's success rate (see :mod:`rewardkit.train.prompt_sampling`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
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

SELECTION_FILE = "selection.json"
DROPPED_GROUPS = "dynamic_sampling/dropped_groups"


@dataclass
class GRPOOptions:
    """rewardkit's own GRPO settings (TRL's, e.g. ``loss_type`` and ``epsilon_high``, are the stage's ``args``)."""

    #: Qwen 2.5: train only on prompts whose rewards vary across samples of the starting model.
    select_by_variance: bool = False
    #: Completions per prompt in the selection pass.
    selection_samples: int = 8
    #: Keep prompts whose reward std (of the weighted total) is above this.
    min_reward_std: float = 0.0
    #: Keep at most this many prompts, the highest std first (default: all that pass).
    max_prompts: int | None = None
    #: Sequences per generate call in the selection pass.
    selection_batch_size: int = 32
    #: ``transformers`` or ``vllm`` for the selection pass.
    selection_backend: str = "transformers"
    #: DAPO: drop groups whose rewards all agree (zero advantage) from the loss.
    dynamic_sampling: bool = False
    #: Kimi k1.5: how prompts are drawn, ``{kind: uniform|curriculum|prioritized, difficulty_column: ...}``.
    sampling: dict[str, Any] | None = None

    def check(self) -> None:
        if self.sampling is not None:  # the sampler's module imports torch
            from .prompt_sampling import SamplingOptions

            SamplingOptions.parse(self.sampling)


def run_grpo_stage(run: StageRun) -> dict[str, Any]:
    from trl import GRPOConfig, GRPOTrainer

    from .data import load_dataset_for

    options: GRPOOptions = run.options() or GRPOOptions()
    data = run.data()
    extra: dict[str, Any] = {}
    with run.engine() as engine:
        defaults = {**trainer_defaults(run), "reward_weights": engine.weights,
                    "model_init_kwargs": model_init_kwargs(run) or None}
        config = build_config(GRPOConfig, defaults, run)
        tokenizer = load_tokenizer(run)
        dataset = load_dataset_for(data, run.recipe)
        if options.select_by_variance:
            dataset, extra["selection"] = select_by_variance(run, options, config, dataset, tokenizer)
        trainer_cls = dynamic_sampling_trainer() if options.dynamic_sampling else GRPOTrainer
        reward_funcs = engine.trl_reward_funcs()
        sampling = prompt_sampling(run, options, engine.ids, dataset, reward_funcs)
        if sampling is not None:
            dataset, trainer_cls = sampling["dataset"], sampling["trainer"](trainer_cls)
        trainer = trainer_cls(model=model_path(run), reward_funcs=reward_funcs, args=config,
                              train_dataset=dataset, processing_class=tokenizer)
        train(trainer, run, rl=True)
    (run.dir / "reward_stats.json").write_text(json.dumps(engine.stats_dict(), indent=2))
    if sampling is not None:
        extra["sampling"] = sampling["write"]()
    if options.dynamic_sampling:
        extra["dynamic_sampling"] = {"dropped_groups": trainer.dropped_groups, "groups": trainer.seen_groups}
    last = next((e for e in reversed(trainer.state.log_history) if any(k.startswith("rewards/") for k in e)), {})
    return finish(trainer, tokenizer, run, last_rewards={k: v for k, v in last.items() if k.startswith("rewards/")},
                  **extra)


# -- Kimi k1.5: curriculum and prioritized sampling ----------------------------------------------------
def prompt_sampling(run: StageRun, options: GRPOOptions, reward_ids: list[str], dataset: Any,
                    reward_funcs: list[Any]) -> dict[str, Any] | None:
    """For a non-uniform ``sampling`` option: the dataset with its row index column, a function making the
    trainer class draw with a :class:`PromptSampler`, and one writing ``sampling.json``. The success reward's
    function in ``reward_funcs`` is replaced (in place) by one that also records successes."""
    from ..stages import recipe_problem
    from .prompt_sampling import INDEX_COLUMN, SamplingOptions, SamplingState, difficulty_ranks, \
        recording_reward, sampling_trainer

    try:
        sampling = SamplingOptions.parse(options.sampling)
    except ValueError as exc:
        raise recipe_problem(run, "options.sampling", str(exc), "fix the stage's sampling option") from None
    if not sampling.tracks_success:
        return None
    success = sampling.success_reward or reward_ids[0]
    if success not in reward_ids:
        raise recipe_problem(run, "options.sampling.success_reward", f"no reward has the id {success!r}",
                             f"use one of {', '.join(reward_ids)}")
    difficulty, ranks = None, None
    if sampling.difficulty_column:
        if sampling.difficulty_column not in dataset.column_names:
            raise recipe_problem(run, "options.sampling.difficulty_column",
                                 f"the data has no column {sampling.difficulty_column!r} (columns: "
                                 f"{', '.join(dataset.column_names)})", "name a column of the data")
        difficulty = dataset[sampling.difficulty_column]
        try:
            ranks = difficulty_ranks(difficulty, sampling)
        except ValueError as exc:
            raise recipe_problem(run, "options.sampling.difficulty_column", f"{run.data().path}: {exc}",
                                 "fix the rows or the sampling option") from None
    state = SamplingState(len(dataset))
    if sampling.success_from:
        try:
            state.resume(json.loads(Path(earlier_sampling_file(run, sampling.success_from)).read_text()))
        except (OSError, ValueError) as exc:
            raise recipe_problem(run, "options.sampling.success_from", f"{sampling.success_from}: {exc}",
                                 "name an earlier grpo stage with a sampling option (same data)") from None
    at = reward_ids.index(success)
    reward_funcs[at] = recording_reward(reward_funcs[at], state, sampling.success_threshold)
    return {"dataset": dataset.add_column(INDEX_COLUMN, list(range(len(dataset)))),
            "trainer": lambda base: sampling_trainer(base, sampling, state, ranks),
            "write": lambda: state.write(run.dir, sampling, difficulty)}


def earlier_sampling_file(run: StageRun, reference: str) -> str:
    """The ``sampling.json`` of the earlier stage ``"@NAME"`` (the latest of that name, as in rounds)."""
    name = reference[1:]
    for result in reversed(run.previous):
        label = str(result.get("stage", ""))
        if label == name or label.endswith("-" + name):
            if not (result.get("sampling") or {}).get("file"):
                raise ValueError(f"stage {label!r} recorded no sampling (give it a `sampling` option)")
            return str(result["sampling"]["file"])
    raise ValueError(f"no earlier stage is named {name!r} (earlier: "
                     f"{', '.join(str(r.get('stage')) for r in run.previous) or 'none'})")


# -- Qwen 2.5: prompt selection by reward variance ----------------------------------------------------
def select_by_variance(run: StageRun, options: GRPOOptions, config: Any, dataset: Any,
                       tokenizer: Any) -> tuple[Any, dict[str, Any]]:
    """The dataset cut to the prompts whose rewards vary, and a summary (the full report goes to
    ``<stage>/selection.json``). The sampled completions stay in ``<stage>/selection_samples.jsonl``."""
    import statistics

    from ..stages import recipe_problem
    from ..types import as_text
    from .sampling import Sampling, read_jsonl, sample_to_file, score_rows, write_jsonl

    sampling = Sampling(samples=options.selection_samples, temperature=config.temperature, top_p=config.top_p,
                        top_k=config.top_k or 0, max_new_tokens=config.max_completion_length or 256,
                        batch_size=options.selection_batch_size, seed=config.seed, backend=options.selection_backend)
    if options.selection_samples < 2:
        raise recipe_problem(run, "options.selection_samples", "the selection pass needs at least 2 samples per "
                             "prompt (a std of one is 0)", "set selection_samples: 8")
    try:
        sampling.check()
    except ValueError as exc:
        raise recipe_problem(run, "options", f"selection pass: {exc}", "fix the stage's options or args") from None
    rows = dataset.to_list()
    path = sample_to_file(run, rows, run.dir / "selection_samples.jsonl", sampling, model_path=model_path(run),
                          tokenizer=tokenizer)
    with run.engine() as engine:  # an engine of its own: the stage's reward_stats.json is training's
        scored = score_rows(engine, read_jsonl(path))
    write_jsonl(path, scored)
    k = sampling.samples
    report = []
    for i, row in enumerate(rows):
        values = [r["reward"] for r in scored[i * k:(i + 1) * k] if r["reward"] is not None]
        std = statistics.pstdev(values) if len(values) > 1 else 0.0
        report.append({"index": i, "prompt": as_text(row["prompt"])[:200], "scored": len(values),
                       "mean": statistics.fmean(values) if values else None, "std": std,
                       "kept": std > options.min_reward_std})
    passing = [p for p in report if p["kept"]]
    if options.max_prompts is not None and len(passing) > options.max_prompts:
        for p in sorted(passing, key=lambda p: -p["std"])[options.max_prompts:]:
            p["kept"] = False
    kept = [p["index"] for p in report if p["kept"]]
    summary = {"prompts": len(rows), "kept": len(kept), "dropped": len(rows) - len(kept),
               "samples_per_prompt": k, "min_reward_std": options.min_reward_std, "max_prompts": options.max_prompts}
    (run.dir / SELECTION_FILE).write_text(json.dumps({**summary, "per_prompt": report}, indent=2, ensure_ascii=False))
    if not kept:
        raise recipe_problem(run, "options.min_reward_std",
                             f"no prompt's reward std is above {options.min_reward_std} (of {len(rows)}; see "
                             f"{run.dir / SELECTION_FILE})", "lower min_reward_std, raise selection_samples or "
                             "the temperature, or use harder/easier prompts")
    return dataset.select(kept), summary


# -- DAPO: dynamic sampling ------------------------------------------------------------------------------
def agreeing_groups(rewards: Any, group_size: int, atol: float = 1e-6) -> Any:
    """A bool per group of ``group_size`` consecutive rows: every reward column's values (NaN, i.e.
    not applicable, ignored) agree within ``atol``. ``rewards`` is ``(N,)`` or ``(N, F)``."""
    import torch

    values = rewards.view(-1, group_size, 1 if rewards.dim() == 1 else rewards.size(-1))
    nan = torch.isnan(values)
    high = torch.where(nan, torch.full_like(values, -torch.inf), values).amax(dim=1)
    low = torch.where(nan, torch.full_like(values, torch.inf), values).amin(dim=1)
    spread = torch.where(torch.isinf(high), torch.zeros_like(high), high - low)  # all NaN: nothing to learn
    return (spread <= atol).all(dim=-1)


def dynamic_sampling_trainer() -> type:
    """A GRPOTrainer that drops the groups whose rewards all agree from the loss."""
    from trl import GRPOTrainer

    class DynamicSamplingGRPOTrainer(GRPOTrainer):
        dropped_groups = 0
        seen_groups = 0

        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):  # type: ignore[override]
            # rewards of the whole generation batch, gathered across processes (groups may span them)
            self._batch_rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            return self._batch_rewards

        def _generate_and_score_completions(self, inputs):  # type: ignore[override]
            output = super()._generate_and_score_completions(inputs)
            mode = "train" if self.model.training else "eval"
            size = self.num_generations if mode == "train" else self.num_generations_eval
            rewards = self._batch_rewards
            if self.multi_objective_aggregation == "sum_then_normalize":
                unscorable = rewards.isnan().all(dim=1)
                rewards = (rewards * self.reward_weights.to(rewards.device)).nansum(dim=1)
                rewards[unscorable] = float("nan")
            agree = agreeing_groups(rewards, size)
            local = output["completion_mask"].size(0)
            index = self.accelerator.process_index
            keep = (~agree).repeat_interleave(size)[index * local:(index + 1) * local].to(output["completion_mask"])
            output["completion_mask"] = output["completion_mask"] * keep.unsqueeze(1)
            if output.get("tool_mask") is not None:
                output["tool_mask"] = output["tool_mask"] * keep.unsqueeze(1)
            mask = output["completion_mask"] if output.get("tool_mask") is None else \
                output["completion_mask"] * output["tool_mask"]
            # the token count the dapo/cispo losses divide by: the dropped groups' tokens leave it too
            output["num_items_in_batch"] = self.accelerator.gather(mask.sum()).sum()
            dropped = int(agree.sum())
            if mode == "train":
                self.dropped_groups += dropped
                self.seen_groups += agree.numel()
            self._metrics[mode][DROPPED_GROUPS].append(float(dropped))
            self._metrics[mode]["dynamic_sampling/dropped_fraction"].append(dropped / max(1, agree.numel()))
            return output

    return DynamicSamplingGRPOTrainer
