"""Which prompts a GRPO stage trains on, and when: Kimi k1.5's sampling strategies (report 2.3.4).

* ``uniform`` (the default): TRL's own ``RepeatSampler``, a shuffle per epoch.
* ``curriculum``: easy problems first, then harder ones, by a difficulty column (MATH's ``level``;
  numbers, ``"Level 3"``-style labels, or labels ranked by ``difficulty_order``; a pass-rate column with
  ``higher_is_easier``). ``mix`` lets a share of the slots take a random not-yet-drawn problem instead.
* ``prioritized``: each problem's success rate ``s_i`` is tracked from the rewards computed during
  training, and problems are drawn with probability proportional to ``max(1 - s_i, epsilon)``; unseen
  ones count as ``s_i = 0`` (the most wanted).

:class:`PromptSampler` keeps TRL's GRPO batching contract (that of ``trl.trainer.utils.RepeatSampler``):
chunks of ``batch_size`` distinct prompts, each index repeated ``mini_repeat_count`` (= num_generations)
times in a row, each chunk repeated ``repeat_count`` (= steps_per_generation x num_iterations) times, and
``len(dataset) // batch_size`` chunks an epoch. Chunks are drawn lazily, so a prioritized draw sees the
success rates of every generation batch scored so far (but for the one the data loader has prefetched).
What was drawn, and every prompt's success rate, go to ``<stage>/sampling.json``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch
from torch.utils.data import Sampler

KINDS = ("uniform", "curriculum", "prioritized")
SAMPLING_FILE = "sampling.json"
#: The dataset column carrying each row's index to the reward functions (TRL passes columns as kwargs).
INDEX_COLUMN = "rk_prompt_index"


@dataclass
class SamplingOptions:
    """The ``sampling:`` option of a grpo stage."""

    #: ``uniform``, ``curriculum`` or ``prioritized``.
    kind: str = "uniform"
    #: curriculum: the column holding each problem's difficulty (MATH: ``level``).
    difficulty_column: str | None = None
    #: curriculum: the difficulty labels, easiest first, when they are not numbers (``[easy, medium, hard]``).
    difficulty_order: list[str] | None = None
    #: curriculum: a higher value means easier (a measured pass rate), not harder (a level).
    higher_is_easier: bool = False
    #: curriculum: the chance that a slot takes a random not-yet-drawn problem instead of the next easiest.
    mix: float = 0.0
    #: The reward (its id) whose value says a completion solved its problem (default: the recipe's first).
    success_reward: str | None = None
    #: A completion succeeds when that reward is at least this.
    success_threshold: float = 1.0
    #: prioritized: the least weight a problem keeps (``max(1 - s_i, epsilon)``), so none is never drawn.
    epsilon: float = 0.05
    #: Start from the success counts an earlier stage recorded (``"@NAME"``: its ``sampling.json``; same
    #: rows).
    success_from: str | None = None

    @classmethod
    def parse(cls, value: Any) -> "SamplingOptions":
        """The options from a recipe's ``sampling:`` (a mapping, or just the kind); ValueError says what is
        wrong."""
        if value is None:
            return cls()
        if isinstance(value, str):
            value = {"kind": value}
        if not isinstance(value, dict):
            raise ValueError(f"sampling must be a mapping like {{kind: prioritized}}, got {value!r}")
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ValueError(f"sampling has no field {unknown[0]!r} (fields: {', '.join(known)})")
        from ..stage import coerce_fields

        try:
            options = cls(**coerce_fields(cls, value))
        except ValueError as exc:
            raise ValueError(f"sampling.{exc}") from None
        options.check()
        return options

    def check(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"sampling.kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.kind == "curriculum" and not self.difficulty_column:
            raise ValueError("sampling.kind curriculum needs sampling.difficulty_column (MATH: level)")
        if self.difficulty_order is not None and (
                not isinstance(self.difficulty_order, list) or len(set(map(str, self.difficulty_order))) < 2):
            raise ValueError("sampling.difficulty_order must list at least 2 distinct labels, easiest first")
        if not 0.0 <= self.mix <= 1.0:
            raise ValueError(f"sampling.mix is a probability in [0, 1], got {self.mix}")
        if self.success_from is not None and not self.success_from.startswith("@"):
            raise ValueError(f"sampling.success_from names an earlier stage as '@NAME', "
                             f"got {self.success_from!r}")
        if not 0.0 < self.epsilon <= 1.0:
            raise ValueError(f"sampling.epsilon must be in (0, 1] (a floor on 1 - success rate), "
                             f"got {self.epsilon}")

    @property
    def tracks_success(self) -> bool:
        return self.kind != "uniform"


def difficulty_ranks(values: Sequence[Any], options: SamplingOptions) -> list[float]:
    """One sortable number per row, the easiest lowest. ValueError names the first row it can't read."""
    order = {str(label): i for i, label in enumerate(options.difficulty_order or [])}
    ranks = []
    for row, value in enumerate(values):
        if order:
            if str(value) not in order:
                raise ValueError(f"row {row}: {options.difficulty_column} {value!r} is not in "
                                 f"difficulty_order {list(order)}; add it there")
            rank = float(order[str(value)])
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            rank = float(value)
        else:
            found = re.findall(r"-?\d+(?:\.\d+)?", str(value)) if value is not None else []
            if len(found) != 1:  # "Level 3" reads as 3; "?" or None can't be placed
                raise ValueError(f"row {row}: {options.difficulty_column} {value!r} is not a number nor a "
                                 "label with one number in it; fix the row or list the labels in "
                                 "sampling.difficulty_order")
            rank = float(found[0])
        ranks.append(-rank if options.higher_is_easier else rank)
    return ranks


class SamplingState:
    """What the sampler drew and how each prompt fared, shared by the sampler (which reads the success rates)
    and the reward function that records them (every completion of the success reward)."""

    def __init__(self, size: int) -> None:
        self.draws = [0] * size
        self.completions = [0] * size
        self.successes = [0] * size
        #: The prompts drawn, chunk after chunk, in training order.
        self.sequence: list[int] = []

    def success_rate(self, index: int) -> float | None:
        return self.successes[index] / self.completions[index] if self.completions[index] else None

    def record(self, indices: Sequence[Any], values: Sequence[float | None], threshold: float) -> None:
        """Count one completion per item (a None reward, not applicable, counts for nothing)."""
        for index, value in zip(indices, values):
            if index is None or value is None or value != value:  # NaN: not scored
                continue
            self.completions[int(index)] += 1
            self.successes[int(index)] += int(value >= threshold)

    def resume(self, report: dict[str, Any]) -> None:
        """Take over the success counts of an earlier ``sampling.json`` (of the same rows)."""
        if report.get("prompts") != len(self.draws):
            raise ValueError(f"it covers {report.get('prompts')} prompts and this stage has "
                             f"{len(self.draws)}; both stages must train on the same rows")
        for entry in report["per_prompt"]:
            self.completions[entry["index"]] = entry["completions"]
            self.successes[entry["index"]] = entry["successes"]

    def weights(self, epsilon: float) -> torch.Tensor:
        """``max(1 - s_i, epsilon)`` per prompt (unseen: s_i = 0)."""
        rates = [self.success_rate(i) or 0.0 for i in range(len(self.draws))]
        return (1.0 - torch.tensor(rates, dtype=torch.float64)).clamp(min=epsilon)

    def report(self, options: SamplingOptions, difficulty: Sequence[Any] | None = None) -> dict[str, Any]:
        per_prompt = []
        for i in range(len(self.draws)):
            entry: dict[str, Any] = {"index": i, "draws": self.draws[i], "completions": self.completions[i],
                                     "successes": self.successes[i], "success_rate": self.success_rate(i)}
            if difficulty is not None:
                entry["difficulty"] = difficulty[i]
            per_prompt.append(entry)
        seen = [p["success_rate"] for p in per_prompt if p["success_rate"] is not None]
        return {"kind": options.kind, "options": asdict(options), "prompts": len(self.draws),
                "draws": len(self.sequence), "prompts_drawn": sum(d > 0 for d in self.draws),
                "prompts_scored": len(seen), "mean_success_rate": sum(seen) / len(seen) if seen else None,
                "sequence": self.sequence, "per_prompt": per_prompt}

    def write(self, folder: Path, options: SamplingOptions,
              difficulty: Sequence[Any] | None = None) -> dict[str, Any]:
        """``<folder>/sampling.json``; returns its summary (without the per-prompt lists)."""
        report = self.report(options, difficulty)
        path = folder / SAMPLING_FILE
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
        summary = {k: v for k, v in report.items() if k not in ("sequence", "per_prompt", "options")}
        return {**summary, "file": str(path)}


class PromptSampler(Sampler[int]):
    """TRL's GRPO index stream (see the module doc) with the prompts chosen by ``options.kind``."""

    def __init__(self, size: int, *, mini_repeat_count: int, batch_size: int = 1, repeat_count: int = 1,
                 seed: int | None = None, options: SamplingOptions | None = None,
                 ranks: Sequence[float] | None = None, state: SamplingState | None = None) -> None:
        self.size, self.mini_repeat_count = size, mini_repeat_count
        self.batch_size, self.repeat_count = batch_size, repeat_count
        self.options = options or SamplingOptions()
        if self.options.kind == "curriculum" and (ranks is None or len(ranks) != size):
            raise ValueError("curriculum sampling needs one difficulty rank per prompt")
        if batch_size > size:
            raise ValueError(f"a generation batch takes {batch_size} distinct prompts and the data has "
                             f"{size}; use more rows or a smaller batch")
        self.ranks = list(ranks) if ranks is not None else None
        self.state = state or SamplingState(size)
        self.generator = torch.Generator()
        if seed is not None:
            self.generator.manual_seed(seed)

    def __len__(self) -> int:
        return (self.size // self.batch_size) * self.batch_size * self.mini_repeat_count * self.repeat_count

    def __iter__(self) -> Iterator[int]:
        for chunk in self._chunks():
            self.state.sequence.extend(chunk)
            for index in chunk:
                self.state.draws[index] += 1
            for _ in range(self.repeat_count):
                for index in chunk:
                    for _ in range(self.mini_repeat_count):
                        yield index

    def _chunks(self) -> Iterator[list[int]]:
        """An epoch's chunks of ``batch_size`` distinct prompts, drawn one at a time (prioritized draws
        read the success rates recorded until then)."""
        count = self.size // self.batch_size
        if self.options.kind == "prioritized":
            for _ in range(count):
                weights = self.state.weights(self.options.epsilon)
                yield torch.multinomial(weights, self.batch_size, generator=self.generator).tolist()
            return
        order = self._curriculum_order() if self.options.kind == "curriculum" else \
            torch.randperm(self.size, generator=self.generator).tolist()  # uniform: RepeatSampler's shuffle
        for start in range(0, count * self.batch_size, self.batch_size):
            yield order[start:start + self.batch_size]

    def _curriculum_order(self) -> list[int]:
        """The prompts easiest first (ties in random order); with ``mix``, some slots take a random one of
        those not drawn yet."""
        ranks = self.ranks or []
        tiebreak = torch.rand(self.size, generator=self.generator).tolist()
        remaining = sorted(range(self.size), key=lambda i: (ranks[i], tiebreak[i]))
        if not self.options.mix:
            return remaining
        order = []
        while remaining:
            take = float(torch.rand(1, generator=self.generator)) < self.options.mix
            pick = int(torch.randint(len(remaining), (1,), generator=self.generator)) if take else 0
            order.append(remaining.pop(pick))
        return order


def recording_reward(func: Callable[..., list[Any]], state: SamplingState,
                     threshold: float) -> Callable[..., list[Any]]:
    """``func`` (a TRL reward function) that also records each completion's success in ``state``, by the
    prompt index TRL passes from the :data:`INDEX_COLUMN` column. With several processes every one records
    every completion (gathered), so their samplers stay in step and draw the same prompts."""

    def recorded(prompts: Sequence[Any], completions: Sequence[Any], **columns: Any) -> list[Any]:
        values = func(prompts, completions, **columns)
        indices = list(columns.get(INDEX_COLUMN) or [])
        pairs = list(zip(indices, values))
        from accelerate import PartialState

        if PartialState().num_processes > 1:
            from accelerate.utils import gather_object

            pairs = gather_object(pairs)
        state.record([i for i, _ in pairs], [v for _, v in pairs], threshold)
        return values

    recorded.__name__ = recorded.__qualname__ = func.__name__  # TRL logs rewards/<name>
    recorded.__doc__ = func.__doc__
    return recorded


def sampling_trainer(base: type, options: SamplingOptions, state: SamplingState,
                     ranks: Sequence[float] | None) -> type:
    """``base`` (a GRPOTrainer class) drawing its training prompts with a :class:`PromptSampler`."""

    class PromptSamplingTrainer(base):  # type: ignore[misc, valid-type]
        def _get_train_sampler(self, dataset: Any = None) -> Sampler:  # TRL 1.16's signature
            dataset = self.train_dataset if dataset is None else dataset
            return PromptSampler(len(dataset), mini_repeat_count=self.num_generations,
                                 batch_size=self.args.generation_batch_size // self.num_generations,
                                 repeat_count=self.num_iterations * self.args.steps_per_generation,
                                 seed=self.args.seed, options=options, ranks=ranks, state=state)

    return PromptSamplingTrainer
