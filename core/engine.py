"""The scoring engine: route samples to rewards, cache, run under deadlines, weight, observe.

>>> engine = ScoringEngine([RewardSpec("exact_match")])
>>> [r.total for r in engine.score([Sample(completion="4", reference="4")])]
[1.0]
"""

from __future__ import annotations

import collections
import math
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from .executors import Executor, Outcome, make_executor
from .reward import Reward
from .types import Sample, Score, stable_hash

if TYPE_CHECKING:  # pragma: no cover
    from .plugins import RewardKit


class EngineConfigError(ValueError):
    """The rewards given to the engine do not fit together (duplicate ids, missing dependencies...)."""


@dataclass
class RewardSpec:
    """One reward as a recipe uses it: which, under what id, with what weight, params and domains."""

    name: str
    weight: float = 1.0
    params: dict[str, Any] = field(default_factory=dict)
    domains: list[str] | None = None
    id: str | None = None
    #: Seconds one call may take; None uses the engine's default.
    deadline: float | None = None

    @property
    def key(self) -> str:
        return self.id or self.name


@dataclass
class RewardStats:
    """Running statistics for one reward, as observers see them."""

    calls: int = 0
    scored: int = 0  # samples routed to the reward (cache hits included)
    values: int = 0
    nones: int = 0  # not applicable or failed
    errors: int = 0
    timeouts: int = 0
    cache_hits: int = 0
    latency_total: float = 0.0
    latency_max: float = 0.0
    _mean: float = 0.0
    _m2: float = 0.0

    def add(self, score: Score) -> None:
        self.scored += 1
        if score.error is not None:
            self.errors += 1
            self.timeouts += int(score.timed_out)
        if score.value is None:
            self.nones += 1
            return
        self.values += 1
        delta = score.value - self._mean
        self._mean += delta / self.values
        self._m2 += delta * (score.value - self._mean)

    def add_call(self, latency: float) -> None:
        self.calls += 1
        self.latency_total += latency
        self.latency_max = max(self.latency_max, latency)

    @property
    def mean(self) -> float | None:
        return self._mean if self.values else None

    @property
    def std(self) -> float | None:
        return math.sqrt(self._m2 / self.values) if self.values else None

    @property
    def share_none(self) -> float:
        return self.nones / self.scored if self.scored else 0.0

    @property
    def latency_mean(self) -> float:
        return self.latency_total / self.calls if self.calls else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean, "std": self.std, "share_none": self.share_none, "scored": self.scored,
            "errors": self.errors, "timeouts": self.timeouts, "cache_hits": self.cache_hits,
            "calls": self.calls, "latency_mean_s": self.latency_mean, "latency_max_s": self.latency_max,
        }


@dataclass
class ScoredSample:
    """Every reward's score for one sample, and their weighted total."""

    sample: Sample
    scores: dict[str, Score]
    total: float | None

    @property
    def errors(self) -> dict[str, str]:
        return {k: s.error for k, s in self.scores.items() if s.error is not None}


@dataclass
class _Job:
    """One computation: a unit of samples (indices), plus identical units that share its result."""

    cache_key: str | None
    units: list[list[int]]


class _LRU:
    def __init__(self, size: int) -> None:
        self.size = size
        self._data: collections.OrderedDict[str, Score] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Score | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
            return hit

    def put(self, key: str, score: Score) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._data[key] = score
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


class ScoringEngine:
    """Scores samples with a set of rewards.

    Parameters:
        rewards: the rewards to use (``RewardSpec`` or plain reward names).
        kit: the plugin manager whose registry names the rewards (default: every installed plugin).
        executor: ``"thread"``, ``"process"``, ``"ray"``, or an :class:`Executor` instance.
        workers: executor workers (default: the executor's own default).
        deadline: default seconds per reward call (one sample, or one group for group rewards).
        cache_size: how many scores to remember (0 disables the cache). Only deterministic rewards
            are cached; the same reward with the same params on the same sample is computed once.
        batch_size: how many samples a ``mode="batch"`` reward gets per call.
        memory_limit_mb: per-worker address-space cap for the process executor.
    """

    def __init__(
        self,
        rewards: Iterable[RewardSpec | str],
        *,
        kit: "RewardKit | None" = None,
        executor: str | Executor = "thread",
        workers: int | None = None,
        deadline: float = 30.0,
        cache_size: int = 100_000,
        batch_size: int = 64,
        memory_limit_mb: int | None = None,
    ) -> None:
        if kit is None:
            from .plugins import default_kit

            kit = default_kit()
        self.kit = kit
        self.specs = [RewardSpec(r) if isinstance(r, str) else r for r in rewards]
        self.deadline = deadline
        self.batch_size = max(1, batch_size)
        self._rewards: dict[str, Reward] = {}
        self._specs: dict[str, RewardSpec] = {}
        for spec in self.specs:
            if spec.key in self._specs:
                raise EngineConfigError(
                    f"reward id {spec.key!r} is used twice; give one of them an `id:` of its own"
                )
            reward = kit.registry.reward(spec.name)
            reward.check_params(spec.params)
            self._rewards[spec.key], self._specs[spec.key] = reward, spec
        self._deps = {k: self._rewards[k].dependencies(self._specs[k].params) for k in self._specs}
        self.order = self._topological_order()
        if isinstance(executor, Executor):
            self.executor = executor
        else:
            options = {"memory_limit_mb": memory_limit_mb} if executor == "process" and memory_limit_mb else {}
            self.executor = make_executor(executor, workers, **options)
        self._cache = _LRU(cache_size)
        self._key_prefix: dict[str, str] = {}
        self.stats: dict[str, RewardStats] = {k: RewardStats() for k in self._specs}

    # -- set-up ------------------------------------------------------------------------------------
    def _topological_order(self) -> list[str]:
        for key, deps in self._deps.items():
            for dep in deps:
                if dep not in self._specs:
                    raise EngineConfigError(
                        f"reward {key!r} reads the result of {dep!r}, which is not in this recipe; add "
                        f"a reward with name or id {dep!r}, or point its parameter at one that is "
                        f"(ids here: {', '.join(self._specs)})"
                    )
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(key: str, path: list[str]) -> None:
            if state.get(key) == 2:
                return
            if state.get(key) == 1:
                raise EngineConfigError(f"rewards depend on each other in a cycle: {' -> '.join(path + [key])}")
            state[key] = 1
            for dep in self._deps[key]:
                visit(dep, path + [key])
            state[key] = 2
            order.append(key)

        for key in self._specs:
            visit(key, [])
        return order

    @property
    def ids(self) -> list[str]:
        return [s.key for s in self.specs]

    @property
    def weights(self) -> list[float]:
        return [s.weight for s in self.specs]

    def reward(self, key: str) -> Reward:
        return self._rewards[key]

    # -- scoring -----------------------------------------------------------------------------------
    def score(self, samples: Sequence[Sample]) -> list[ScoredSample]:
        """Score every sample with every reward; never raises because of a reward."""
        columns: dict[str, list[Score]] = {}
        for key in self.order:
            columns[key] = self._score_reward(key, samples, columns)
        out = []
        for i, sample in enumerate(samples):
            scores = {key: columns[key][i] for key in self.ids}
            out.append(ScoredSample(sample, scores, self.total(scores)))
        return out

    def score_reward(self, key: str, samples: Sequence[Sample]) -> list[Score]:
        """Scores of one reward (its dependencies are computed, or taken from the cache, first)."""
        if key not in self._specs:
            raise KeyError(f"no reward with id {key!r} in this engine; ids: {', '.join(self._specs)}")
        columns: dict[str, list[Score]] = {}
        for dep in self._closure(key):
            columns[dep] = self._score_reward(dep, samples, columns)
        return columns[key]

    def group_dependent(self) -> set[str]:
        """Ids of the group rewards and of every reward that reads one: they need whole groups."""
        out = {k for k, r in self._rewards.items() if r.mode == "group"}
        for key in self.order:  # dependencies come first in this order
            if any(d in out for d in self._deps[key]):
                out.add(key)
        return out

    def score_columns(self, samples: Sequence[Sample], keys: Iterable[str],
                      known: Mapping[str, list[Score]] | None = None) -> dict[str, list[Score]]:
        """Scores of the rewards ``keys`` (in dependency order), reading dependencies from ``known``
        (scores already computed, e.g. persisted before a restart) or computing them first."""
        wanted, columns = set(keys), dict(known or {})
        for key in self.order:
            if key in columns or not (key in wanted or any(key in self._closure(w) for w in wanted)):
                continue
            columns[key] = self._score_reward(key, samples, columns)
        return {k: columns[k] for k in self.order if k in wanted}

    def total(self, scores: Mapping[str, Score]) -> float | None:
        """Weighted sum of the applicable scores; None when no reward applied."""
        parts = [self._specs[k].weight * s.value for k, s in scores.items() if s.value is not None]
        return math.fsum(parts) if parts else None

    def _closure(self, key: str) -> list[str]:
        needed: set[str] = set()
        stack = [key]
        while stack:
            k = stack.pop()
            if k not in needed:
                needed.add(k)
                stack.extend(self._deps[k])
        return [k for k in self.order if k in needed]

    def _score_reward(self, key: str, samples: Sequence[Sample], done: Mapping[str, list[Score]]) -> list[Score]:
        spec, reward, stats = self._specs[key], self._rewards[key], self.stats[key]
        results: list[Score | None] = [None] * len(samples)
        routed: list[int] = []
        for i, sample in enumerate(samples):
            if spec.domains is not None and sample.domain not in spec.domains:
                results[i] = Score.not_applicable(f"domain {sample.domain!r} is not routed to {key!r}")
            else:
                routed.append(i)
        if routed:
            deps = self._deps[key]
            view = [
                samples[i].with_scores({d: done[d][i] for d in deps}) if deps else samples[i] for i in routed
            ]
            self.kit.hook.rewardkit_before_score(reward_id=key, samples=view)
            for i, score in zip(routed, self._run(key, spec, reward, view, stats)):
                results[i] = score
                stats.add(score)
            routed_scores = [results[i] for i in routed]
            self.kit.hook.rewardkit_after_score(reward_id=key, samples=view, scores=routed_scores, stats=stats)
        return results  # type: ignore[return-value]

    def _unit_key(self, key: str, reward: Reward, spec: RewardSpec, unit: Sequence[Sample]) -> str | None:
        if not reward.deterministic or self._cache.size <= 0:
            return None
        prefix = self._key_prefix.get(key)
        if prefix is None:
            prefix = self._key_prefix[key] = stable_hash([reward.name, reward.version, spec.params])
        fingerprints = ",".join(s.fingerprint() for s in unit)
        if not self._deps[key]:
            return f"{prefix}:{fingerprints}"
        upstream = [{d: [sc.value, sc.error] for d, sc in sorted(s.scores.items())} for s in unit]
        return f"{prefix}:{fingerprints}:{stable_hash(upstream)}"

    def _run(self, key: str, spec: RewardSpec, reward: Reward, view: list[Sample], stats: RewardStats) -> list[Score]:
        out: list[Score | None] = [None] * len(view)
        jobs = self._plan(key, spec, reward, view, stats, out)
        # One call per job (a sample, or a group); batch rewards take up to batch_size jobs a call.
        per_call = self.batch_size if reward.mode == "batch" else 1
        chunks = [jobs[j:j + per_call] for j in range(0, len(jobs), per_call)]
        params = dict(spec.params)
        calls = [(reward.score, ([view[i] for job in chunk for i in job.units[0]], params), {}) for chunk in chunks]
        deadline = spec.deadline if spec.deadline is not None else self.deadline
        outcomes = self.executor.run_calls(calls, timeout=deadline) if calls else []
        for chunk, outcome in zip(chunks, outcomes):
            stats.add_call(outcome.latency)
            scores = self._outcome_scores(outcome, sum(len(job.units[0]) for job in chunk))
            for job in chunk:
                job_scores, scores = scores[:len(job.units[0])], scores[len(job.units[0]):]
                # Failures are not cached (a timeout under load may pass later), nor are scores a
                # reward marked as failed or timed out itself.
                if job.cache_key is not None and outcome.ok and all(
                        sc.error is None and not sc.timed_out for sc in job_scores):
                    self._cache.put(job.cache_key, job_scores)  # type: ignore[arg-type]
                for unit in job.units:
                    for i, score in zip(unit, job_scores):
                        out[i] = score
        return out  # type: ignore[return-value]

    def _plan(self, key: str, spec: RewardSpec, reward: Reward, view: list[Sample], stats: RewardStats,
              out: list[Score | None]) -> list["_Job"]:
        """Split ``view`` into units (samples, or groups for group rewards), fill cache hits into
        ``out``, and return the remaining work with identical units merged into one job."""
        if reward.mode == "group":
            groups: dict[str, list[int]] = {}
            for i, s in enumerate(view):
                groups.setdefault(s.group_key, []).append(i)
            units = list(groups.values())
        else:
            units = [[i] for i in range(len(view))]
        jobs: dict[str, _Job] = {}
        uncached: list[_Job] = []
        for unit in units:
            ukey = self._unit_key(key, reward, spec, [view[i] for i in unit])
            if ukey is None:
                uncached.append(_Job(None, [unit]))
                continue
            hit = self._cache.get(ukey)
            if hit is not None:
                stats.cache_hits += len(unit)
                for i, score in zip(unit, hit):  # type: ignore[call-overload]
                    out[i] = score
            elif ukey in jobs:
                jobs[ukey].units.append(unit)
            else:
                jobs[ukey] = _Job(ukey, [unit])
        return [*jobs.values(), *uncached]

    @staticmethod
    def _outcome_scores(outcome: Outcome, n: int) -> list[Score]:
        if outcome.ok:
            return list(outcome.value)
        return [Score.failed(outcome.error or "unknown error", timed_out=outcome.timed_out)] * n

    # -- integration -------------------------------------------------------------------------------
    def trl_reward_funcs(self) -> list[Any]:
        """One TRL reward callable per reward, named by its id (TRL logs ``rewards/<id>/mean``).

        Pass them with ``reward_weights=engine.weights`` in the trainer config.
        """
        from .trl_bridge import reward_funcs

        return reward_funcs(self)

    def stats_dict(self) -> dict[str, dict[str, Any]]:
        return {k: v.to_dict() for k, v in self.stats.items()}

    def close(self) -> None:
        self.executor.close()

    def __enter__(self) -> "ScoringEngine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

