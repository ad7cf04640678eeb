"""PPO's per-token rewards and Generalized Advantage Estimation, as plain tensor functions.

Shapes are ``(B, T)`` over completion tokens; ``mask`` is 1 on a completion's tokens and 0 on the
right padding after it. Following Tulu 3's RLVR (open-instruct's PPO), a completion's reward is its
verifiable score on its last token minus ``kl_coef * KL`` on every token; GAE (Schulman et al.
2016, "High-Dimensional Continuous Control Using Generalized Advantage Estimation") turns those
rewards and the value model's estimates into advantages and value targets (returns).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

#: KL estimators of ``log pi(a) - log ref(a)`` for sampled tokens: ``k1`` is the plain log ratio
#: (Tulu 3's ``kl1``), ``k3`` is ``exp(-d) - 1 + d``, never negative and of lower variance.
KL_ESTIMATORS = ("k1", "k3")


class Advantages(NamedTuple):
    advantages: torch.Tensor
    returns: torch.Tensor


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1.0)


def masked_var(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Variance over the masked entries, with Bessel's correction (as open-instruct's whitening)."""
    count = mask.sum()
    centred = (x - masked_mean(x, mask)) * mask
    return (centred**2).sum() / (count - 1).clamp(min=1.0)


def masked_whiten(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit variance over the masked entries; 0 elsewhere."""
    return (x - masked_mean(x, mask)) * torch.rsqrt(masked_var(x, mask) + 1e-8) * mask


def last_token_index(mask: torch.Tensor) -> torch.Tensor:
    """Per row, the index of the last masked-in token (-1 for an empty row)."""
    width = mask.size(1)
    flipped = torch.flip(mask, dims=[1]).float()
    return torch.where(mask.sum(1) > 0, width - 1 - flipped.argmax(1), torch.full_like(mask[:, 0], -1).long())


def kl_estimate(logps: torch.Tensor, ref_logps: torch.Tensor, estimator: str = "k1") -> torch.Tensor:
    """Per-token estimate of KL(policy || reference) from the sampled tokens' log-probabilities."""
    delta = logps - ref_logps
    if estimator == "k1":
        return delta
    if estimator == "k3":
        return torch.exp(-delta) - 1 + delta
    raise ValueError(f"unknown KL estimator {estimator!r}; use one of {', '.join(KL_ESTIMATORS)}")


def token_rewards(scores: torch.Tensor, mask: torch.Tensor, kl: torch.Tensor | None = None,
                  kl_coef: float = 0.0) -> torch.Tensor:
    """``-kl_coef * kl`` on every completion token, plus each completion's score on its last token."""
    rewards = torch.zeros_like(mask, dtype=scores.dtype) if kl is None else -kl_coef * kl.to(scores.dtype)
    rewards = rewards * mask
    last = last_token_index(mask)
    rows = torch.nonzero(last >= 0).squeeze(1)
    rewards[rows, last[rows]] += scores[rows]
    return rewards


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0,
        lam: float = 0.95) -> Advantages:
    """Generalized Advantage Estimation over each completion.

    ``delta_t = r_t + gamma * V_{t+1} - V_t`` (``V`` past the last token is 0: the episode ends) and
    ``A_t = delta_t + gamma * lam * A_{t+1}``; the value targets are ``returns = A + V``. Padding
    gets advantage and return 0.
    """
    mask = mask.to(values.dtype)
    rewards, values = rewards * mask, values * mask
    advantages = torch.zeros_like(values)
    running = torch.zeros_like(values[:, 0])
    width = values.size(1)
    for t in reversed(range(width)):
        next_value = values[:, t + 1] if t + 1 < width else torch.zeros_like(running)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = (delta + gamma * lam * running) * mask[:, t]
        advantages[:, t] = running
    return Advantages(advantages, (advantages + values) * mask)


def explained_variance(values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor) -> float:
    """``1 - Var(returns - values) / Var(returns)``: 1 when the value model predicts the returns, 0
    when it does no better than their mean."""
    var = masked_var(returns, mask)
    if var.item() <= 0:
        return float("nan")
    return (1 - masked_var(returns - values, mask) / var).item()
