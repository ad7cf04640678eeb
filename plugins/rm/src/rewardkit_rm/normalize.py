"""Score normalisation: raw reward-model logits drift (their offset is arbitrary under Bradley-Terry,
and moves as the policy improves), so a reward may be centred and scaled.

* ``running``: z-score against the running mean and standard deviation of every raw score this
  reward has produced in this process, updated once per batch (Chan et al.'s parallel form of
  Welford's algorithm) *before* the batch is normalised, so the first batch is normalised by itself.
* ``group``: z-score within each GRPO group (the samples sharing a ``group`` id, else a prompt).

Both use the population standard deviation; a spread under :data:`MIN_STD` (all scores equal) gives 0.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Hashable, Sequence

#: Below this standard deviation the scores are taken as equal and normalise to 0.
MIN_STD = 1e-6


def zscore(value: float, mean: float, std: float) -> float:
    return 0.0 if std < MIN_STD else (value - mean) / std


class RunningStats:
    """Running mean and variance of a stream of values, merged a batch at a time (thread-safe)."""

    def __init__(self) -> None:
        self.count = 0
        self.mean = 0.0
        self._m2 = 0.0
        self._lock = threading.Lock()

    @property
    def std(self) -> float:
        return math.sqrt(self._m2 / self.count) if self.count else 0.0

    def update(self, values: Sequence[float]) -> tuple[float, float]:
        """Add ``values``; return the mean and standard deviation including them."""
        with self._lock:
            self._merge(values)
            return self.mean, self.std

    def normalize(self, values: Sequence[float]) -> list[float]:
        """Add ``values`` to the statistics, then z-score them against the result (one atomic step,
        so concurrent batches never see half an update)."""
        with self._lock:
            self._merge(values)
            mean, std = self.mean, self.std
        return [zscore(v, mean, std) for v in values]

    def _merge(self, values: Sequence[float]) -> None:
        n = len(values)
        if not n:
            return
        batch_mean = math.fsum(values) / n
        batch_m2 = math.fsum((v - batch_mean) ** 2 for v in values)
        total = self.count + n
        delta = batch_mean - self.mean
        self._m2 += batch_m2 + delta * delta * self.count * n / total
        self.mean += delta * n / total
        self.count = total


def group_zscores(values: Sequence[float], groups: Sequence[Hashable]) -> list[float]:
    """Each value z-scored against the values of its own group."""
    members: dict[Hashable, list[float]] = {}
    for value, group in zip(values, groups):
        members.setdefault(group, []).append(value)
    stats = {}
    for group, vs in members.items():
        mean = math.fsum(vs) / len(vs)
        stats[group] = (mean, math.sqrt(math.fsum((v - mean) ** 2 for v in vs) / len(vs)))
    return [zscore(v, *stats[g]) for v, g in zip(values, groups)]


_RUNNING: dict[str, RunningStats] = {}
_RUNNING_LOCK = threading.Lock()


def running_stats(key: str) -> RunningStats:
    """The process-wide running statistics of one reward configuration (``key``: its params' hash)."""
    with _RUNNING_LOCK:
        return _RUNNING.setdefault(key, RunningStats())


def reset_running_stats() -> None:
    """Forget every running statistic (a new run in the same process starts from scratch)."""
    with _RUNNING_LOCK:
        _RUNNING.clear()
