"""PPO with a learned value model, built on TRL's GRPOTrainer (TRL 1.x has no PPO trainer).

GRPOTrainer supplies everything PPO shares with it: sampling completions, reward functions and their
weights (``None`` for "not applicable"), the reference model, the clipped policy objective (its
``epsilon``), PPO epochs over one batch of samples (``num_iterations``), checkpoints and logging
(``rewards/*``, ``reward``, ``kl``...). :class:`PPOTrainer` replaces what makes GRPO GRPO:

* advantages: not a group's reward minus its mean, but per token, from GAE over rewards of
  "verifiable score on the last token minus ``beta * KL`` to the reference on every token" and a
  value model's estimates (Tulu 3's RLVR, open-instruct's PPO);
* the KL penalty is in the reward, not the loss (``beta`` is its coefficient);
* a value model (its own backbone, as Tulu 3) trained with a clipped value loss, in the trainer's
  optimizer as parameter groups of its own (its own learning rate, gradient clipping and norm);
  saved in each checkpoint (``checkpoint-N/value_model``) and restored from it on resume.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from transformers import TrainerCallback
from trl import GRPOConfig, GRPOTrainer

from .ppo import PPOOptions
from .ppo_gae import (
    explained_variance,
    gae,
    kl_estimate,
    last_token_index,
    masked_mean,
    masked_var,
    masked_whiten,
    token_rewards,
)
from .ppo_value import TokenValues, load_weights

#: The value model's folder inside a checkpoint and next to the stage's policy.
VALUE_DIR = "value_model"


class _OneSample(int):
    """The integer 1, let through GRPOConfig's "at least 2 generations per prompt" check (a group
    needs two samples for its baseline; PPO's baseline is the value model)."""

    def __lt__(self, other: object) -> bool:
        return False


@dataclass
class PPOConfig(GRPOConfig):
    """GRPOConfig with PPO's defaults from Tulu 3's RLVR (open-instruct's PPO): one completion per
    prompt, KL coefficient ``beta=0.05`` (applied in the reward), 4 PPO epochs per batch of samples,
    the policy loss averaged over each micro-batch's tokens (``bnpo``). ``epsilon`` (0.2) is PPO's
    ratio clip range, ``num_iterations`` its epochs."""

    num_generations: int | None = field(default=1, metadata={
        "help": "Completions sampled per prompt. PPO needs no groups: 1 is Tulu 3's setting."})
    beta: float = field(default=0.05, metadata={
        "help": "KL coefficient: each token's reward loses beta * KL(policy || reference) (Tulu 3: 0.05)."})
    num_iterations: int = field(default=4, metadata={
        "help": "PPO epochs: optimisation passes over each batch of samples (Tulu 3: 4)."})
    loss_type: str = field(default="bnpo", metadata={
        "help": "How the policy loss is averaged. 'bnpo': over the micro-batch's tokens (Tulu 3)."})

    def __post_init__(self) -> None:
        samples = self.num_generations
        if samples == 1:
            self.num_generations = _OneSample(1)
        try:
            super().__post_init__()
        finally:
            self.num_generations = samples


class _ClearValueGrads(TrainerCallback):
    """The Trainer zeroes the policy's gradients after each optimizer step; this does the value model's."""

    def __init__(self, value_model: torch.nn.Module) -> None:
        self.value_model = value_model

    def on_optimizer_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.value_model.zero_grad(set_to_none=True)


class PPOTrainer(GRPOTrainer):
    """GRPOTrainer with PPO's advantages (GAE over a learned value model) and KL-in-reward.

    Args:
        value_model: a sequence-classification model with one label (see ``ppo_value.load_value_model``).
        ppo: PPO's own settings (gamma, lam, vf_coef, ...).
        Everything else as :class:`trl.GRPOTrainer`; ``args`` should be a :class:`PPOConfig`.
    """

    _tag_names: ClassVar[list[str]] = ["trl", "ppo", "rewardkit"]
    _name = "PPO"

    def __init__(self, model: Any, value_model: Any, reward_funcs: Any, args: GRPOConfig,
                 ppo: PPOOptions | None = None, **kwargs: Any) -> None:
        self.ppo = ppo or PPOOptions()
        super().__init__(model=model, reward_funcs=reward_funcs, args=args, **kwargs)
        if self.is_deepspeed_enabled or self.is_fsdp_enabled:
            raise NotImplementedError("the ppo stage trains its value model with plain data parallelism; "
                                      "run it without DeepSpeed or FSDP")
        value_model.to(self.accelerator.device)
        if args.gradient_checkpointing:  # as the policy: memory for recomputation
            if hasattr(value_model, "activation_checkpointing_enable"):  # transformers >= 5.2x
                value_model.activation_checkpointing_enable(args.gradient_checkpointing_kwargs)
            else:
                value_model.gradient_checkpointing_enable(args.gradient_checkpointing_kwargs)
        value_model.train()
        self.value_model = value_model
        # Under DDP the value model's gradients are averaged across processes like the policy's.
        values = TokenValues(value_model)
        distributed = self.accelerator.num_processes > 1
        self._value_forward = self.accelerator.prepare_model(values) if distributed else values
        self._reward_table: torch.Tensor | None = None
        self.add_callback(_ClearValueGrads(value_model))

    # -- optimizer: the value model's parameters join the trainer's optimizer ----------------------
    def create_optimizer(self, model: Any = None) -> Any:
        optimizer = super().create_optimizer(model)
        params = [p for p in self.value_model.parameters() if p.requires_grad]
        known = {id(p) for group in optimizer.param_groups for p in group["params"]}
        if params and id(params[0]) not in known:
            lr = self.ppo.value_learning_rate
            lr = self.args.learning_rate if lr is None else lr
            decay = set(self.get_decay_parameter_names(self.value_model))
            named = [(n, p) for n, p in self.value_model.named_parameters() if p.requires_grad]
            for chosen, weight_decay in (([p for n, p in named if n in decay], self.args.weight_decay),
                                         ([p for n, p in named if n not in decay], 0.0)):
                if chosen:
                    optimizer.add_param_group({"params": chosen, "lr": lr, "weight_decay": weight_decay})
        return optimizer

    def _clip_grad_norm(self, model: Any) -> Any:
        norm = super()._clip_grad_norm(model)  # also unscales the value groups' gradients (one optimizer)
        params = [p for p in self.value_model.parameters() if p.grad is not None]
        if params:
            value_norm = torch.nn.utils.clip_grad_norm_(params, self.args.max_grad_norm)
            self._metrics["train"]["ppo/value_grad_norm"].append(value_norm.item())
        return norm

    # -- samples: rewards, values, GAE ---------------------------------------------------------------
    def _calculate_rewards(self, inputs: Any, prompts: Any, completions: Any,
                           completion_ids: Any) -> torch.Tensor:
        # GRPO folds the rewards into group advantages and keeps no per-completion score: keep the table
        self._reward_table = super()._calculate_rewards(inputs, prompts, completions, completion_ids)
        return self._reward_table

    def _values(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, completion_length: int,
                batch_size: int) -> torch.Tensor:
        chunks = []
        for start in range(0, input_ids.size(0), batch_size):
            rows = slice(start, start + batch_size)
            with self.accelerator.autocast():
                chunks.append(self._value_forward(input_ids[rows], attention_mask[rows], completion_length))
        return torch.cat(chunks)

    def _scores(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """This process's completions' weighted rewards, and which completions have one at all."""
        table = self._reward_table
        assert table is not None, "GRPOTrainer scored no completions"
        unscorable = torch.isnan(table).all(dim=1)
        scores = (table * self.reward_weights.to(table.device).unsqueeze(0)).nansum(dim=1)
        rows = slice(self.accelerator.process_index * batch, (self.accelerator.process_index + 1) * batch)
        return scores[rows], ~unscorable[rows]

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        output = super()._generate_and_score_completions(inputs)
        mode = "train" if self.model.training else "eval"
        prompt_ids, completion_ids = output["prompt_ids"], output["completion_ids"]
        input_ids = torch.cat([prompt_ids, completion_ids], dim=1)
        attention_mask = torch.cat([output["prompt_mask"], output["completion_mask"]], dim=1)
        width = completion_ids.size(1)
        batch_size = self.args.per_device_train_batch_size if mode == "train" else \
            self.args.per_device_eval_batch_size
        scores, scorable = self._scores(completion_ids.size(0))
        mask = output["completion_mask"] * scorable.unsqueeze(1)
        if "tool_mask" in output:
            mask = mask * output["tool_mask"]
        mask = mask.float()
        if self.ppo.non_stop_penalty is not None:
            last = last_token_index(output["completion_mask"]).clamp(min=0)
            final = completion_ids.gather(1, last.unsqueeze(1)).squeeze(1)
            stopped = torch.isin(final, torch.tensor(self.eos_token_ids, device=final.device))
            scores = torch.where(stopped, scores, torch.full_like(scores, self.ppo.non_stop_penalty))

        with torch.no_grad():
            logps = output.get("old_per_token_logps")
            if logps is None:  # GRPO skips it when samples are used once; PPO's KL needs it
                logps, _, _ = self._get_per_token_logps_and_entropies(
                    self.model, input_ids, attention_mask, width, batch_size=batch_size)
                output["old_per_token_logps"] = logps
            values = self._values(input_ids, attention_mask, width, batch_size)
        kl = None
        if self.beta != 0.0:
            ref_logps = output["ref_per_token_logps"].float()
            kl = kl_estimate(logps.float(), ref_logps, self.ppo.kl_estimator) * mask
        rewards = token_rewards(scores.float(), mask, kl, self.beta)
        advantages, returns = gae(rewards, values, mask, self.ppo.gamma, self.ppo.lam)
        raw_advantages = advantages
        if self.ppo.whiten_advantages:
            advantages = masked_whiten(advantages, mask)
        output.update(advantages=advantages, returns=returns, old_values=values * mask, value_mask=mask)

        self._log_samples(mode, mask, values, returns, raw_advantages, kl, scores)
        return output

    def _mean_over_processes(self, value: torch.Tensor) -> float:
        return self.accelerator.gather(value.detach().reshape(1)).mean().item()

    def _log_samples(self, mode: str, mask: torch.Tensor, values: torch.Tensor, returns: torch.Tensor,
                     advantages: torch.Tensor, kl: torch.Tensor | None, scores: torch.Tensor) -> None:
        metrics, mean = self._metrics[mode], self._mean_over_processes
        metrics["ppo/values/mean"].append(mean(masked_mean(values, mask)))
        metrics["ppo/returns/mean"].append(mean(masked_mean(returns, mask)))
        metrics["ppo/advantages/mean"].append(mean(masked_mean(advantages, mask)))
        metrics["ppo/advantages/std"].append(mean(masked_var(advantages, mask).sqrt()))
        metrics["ppo/explained_variance"].append(explained_variance(values, returns, mask))
        metrics["ppo/score/mean"].append(mean(scores.mean()))
        if kl is not None:
            metrics["kl"].append(mean(masked_mean(kl, mask)))
            metrics["ppo/kl_penalty/mean"].append(mean((-self.beta * kl).sum(1).mean()))
        if self.num_generations == 1 and metrics.get("frac_reward_zero_std"):
            metrics["frac_reward_zero_std"].pop()  # a group of one always has zero spread: not informative
        # What GRPO logged as each completion's advantage (0 in a group of one) becomes its mean PPO advantage
        per_completion = (advantages * mask).sum(1) / mask.sum(1).clamp(min=1)
        per_completion = self.accelerator.gather(per_completion).tolist()
        logged = self._logs["advantages"]
        for _ in range(min(len(per_completion), len(logged))):
            logged.pop()
        logged.extend(per_completion)

    # -- loss: PPO's clipped policy objective (GRPO's) plus the clipped value loss --------------------
    def _compute_loss(self, model: Any, inputs: dict[str, Any]) -> torch.Tensor:
        beta, self.beta = self.beta, 0.0  # the KL penalty is already in the rewards
        try:
            policy_loss = super()._compute_loss(model, inputs)
        finally:
            self.beta = beta
        mode = "train" if self.model.training else "eval"
        prompt_ids, completion_ids = inputs["prompt_ids"], inputs["completion_ids"]
        input_ids = torch.cat([prompt_ids, completion_ids], dim=1)
        attention_mask = torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], dim=1)
        with self.accelerator.autocast():
            values = self._value_forward(input_ids, attention_mask, completion_ids.size(1))
        value_loss, clipped = clipped_value_loss(values, inputs["old_values"], inputs["returns"],
                                                 inputs["value_mask"], self.ppo.cliprange_value)
        self._metrics[mode]["ppo/value_loss"].append(self._mean_over_processes(value_loss))
        self._metrics[mode]["ppo/value_clipfrac"].append(self._mean_over_processes(clipped))
        normalizer = self.current_gradient_accumulation_steps if mode == "train" else 1.0
        return policy_loss + self.ppo.vf_coef * value_loss / normalizer

    # -- the value model in checkpoints ---------------------------------------------------------------
    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        super().save_model(output_dir, _internal_call)
        if _internal_call:  # a checkpoint: written before trainer_state.json, which marks it complete
            self.save_value_model(Path(output_dir or self.args.output_dir) / VALUE_DIR)

    def save_value_model(self, output_dir: str | Path) -> Path:
        output_dir = Path(output_dir)
        if self.args.should_save:
            self.value_model.save_pretrained(str(output_dir))
        return output_dir

    def load_value_model(self, checkpoint: str | Path) -> None:
        """Restore the value model's weights from a checkpoint this trainer saved."""
        folder = Path(checkpoint) / VALUE_DIR
        if not folder.is_dir():
            raise FileNotFoundError(f"{checkpoint} has no {VALUE_DIR}/: it was not saved by the ppo stage; "
                                    "remove the checkpoint folder to start the stage over")
        load_weights(self.value_model, folder)

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model: Any = None) -> None:
        super()._load_from_checkpoint(resume_from_checkpoint, model)
        self.load_value_model(resume_from_checkpoint)


def clipped_value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor,
                       mask: torch.Tensor, cliprange: float) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO's clipped value loss ``0.5 * max((V - R)^2, (V_clip - R)^2)`` averaged over the tokens,
    where ``V_clip`` stays within ``cliprange`` of the estimate made when the samples were drawn;
    and the share of tokens where the clipped term was the larger."""
    clipped_values = old_values + (values - old_values).clamp(-cliprange, cliprange)
    losses = (values - returns) ** 2
    clipped_losses = (clipped_values - returns) ** 2
    loss = 0.5 * masked_mean(torch.max(losses, clipped_losses), mask)
    return loss, masked_mean((clipped_losses > losses).float(), mask).detach()
