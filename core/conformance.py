"""The conformance suite: what every reward must do, checked in one line of a test file.

>>> from rewardkit.conformance import conformance                     # doctest: +SKIP
>>> test_exact = conformance(exact, gold=[{"completion": "4", "answer": "4"}],
...                          wrong=[{"completion": "5", "answer": "4"}])  # doctest: +SKIP

pytest collects ``test_exact`` as one test per check (``test_exact[deterministic]``, ...):

* ``params``: the defaults pass ``check_params``; each annotated parameter rejects a wrongly-typed value.
* ``gold`` / ``wrong``: the author's examples score 1.0 / 0.0 (for a group reward, the examples form one
  group). ``applicable``: none of them scores None (they have what the reward needs).
* ``deterministic`` (for ``deterministic=True`` rewards): the same input twice gives the same scores.
* ``batch``: the engine's batched scoring equals calling the reward on each example directly.
* ``picklable``: pickle and cloudpickle round-trips score the same; ``process``: so does the process
  executor (what `rewardkit score` uses).
* ``odd_input``: empty and odd-Unicode completions (NUL, lone surrogates, RTL, emoji, combining marks)
  are scored without raising (a raise fails the check; a Score with an error is fine).
* ``deadline``: a 1 MB completion under the process executor with a short deadline comes back scored or
  recorded as a timeout, never as a crash, and never hangs the suite.

Rewards that read other rewards' scores (``depends_on``) skip the engine checks: give them a recipe test.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .reward import Reward, RewardParamsError, check_param_types
from .types import Sample, Score

#: Completions no reward may raise on.
ODD_COMPLETIONS: dict[str, str] = {
    "empty": "",
    "nul": "a\x00b\x00",
    "lone_surrogate": "x\ud800y\udfff",
    "rtl": "\u202eمرحبا بالعالم\u202c שלום",
    "emoji": "👩‍👩‍👧‍👦 🏳️‍🌈 \U0001f600" * 3,
    "combining": "e\u0301\u0301\u0301 Z\u0351\u0352\u0353\u0354",
    "whitespace": " \t\r\n\u00a0\u2028\u2029\ufeff",
}
HUGE_CHARS = 1_000_000
#: Wrong-typed values tried against each annotated parameter (the first one the annotation rejects).
_WRONG_VALUES: tuple[Any, ...] = ("conformance-not-this-type", 123456789, {"not": "this"}, [object()])


def _as_sample(example: Sample | Mapping[str, Any]) -> Sample:
    return example if isinstance(example, Sample) else Sample.from_row(dict(example))


def _with_completion(sample: Sample, completion: str) -> Sample:
    return Sample(sample.prompt, completion, sample.reference, sample.domain, sample.group, sample.columns)


@dataclass
class Conformance:
    """The checks for one reward with its ``params`` and examples; :meth:`run` one, :meth:`run_all` all."""

    reward: Reward
    gold: list[Sample] = field(default_factory=list)
    wrong: list[Sample] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    #: Examples with no expected score (a model's rewards): they must be scored, not None.
    samples: list[Sample] = field(default_factory=list)
    #: Seconds per call in the engine checks (the 1 MB input must finish or time out within it).
    deadline: float = 10.0

    @property
    def examples(self) -> list[Sample]:
        return [*self.gold, *self.wrong, *self.samples]

    def checks(self) -> list[str]:
        """The names of the checks that apply to this reward and these examples."""
        names = ["params", "odd_input", "picklable"]
        if self.gold:
            names.append("gold")
        if self.wrong:
            names.append("wrong")
        if self.examples:
            names.append("applicable")
            if self.reward.deterministic:
                names.append("deterministic")
        if not self.reward.dependencies(self.params):
            names += ["batch", "process", "deadline"] if self.examples else ["deadline"]
        return names

    def run(self, name: str) -> None:
        """Run one check; AssertionError says what failed and what to do."""
        getattr(self, f"check_{name}")()

    def run_all(self, skip: Sequence[str] = ()) -> None:
        """Run every check but those in ``skip``; one AssertionError lists all that failed."""
        failures = []
        for name in [n for n in self.checks() if n not in set(skip)]:
            try:
                self.run(name)
            except AssertionError as exc:
                failures.append(f"{name}: {exc}")
        assert not failures, f"{self.reward.name} fails {len(failures)} conformance check(s):\n" + "\n".join(failures)

    # -- scoring helpers ---------------------------------------------------------------------------
    def _direct(self, samples: Sequence[Sample]) -> list[Score]:
        """Scores by calling the reward itself: one call per sample, or the whole group at once."""
        if self.reward.mode == "group":
            return self.reward.score(list(samples), self.params)
        return [self.reward.score([s], self.params)[0] for s in samples]

    def _units(self, samples: Sequence[Sample]) -> list[Sample]:
        """The samples as the engine must see them: a group reward's examples share one group."""
        if self.reward.mode != "group":
            return list(samples)
        return [Sample(s.prompt, s.completion, s.reference, s.domain, "conformance", s.columns) for s in samples]

    def _engine(self, executor: str, deadline: float | None = None, batch_size: int = 64) -> Any:
        from .engine import RewardSpec, ScoringEngine
        from .hookspecs import hookimpl
        from .plugins import RewardKit

        reward = self.reward

        class _Plugin:
            __name__ = "conformance"

            @hookimpl
            def rewardkit_register(self, registry: Any) -> None:
                if reward.name not in registry:
                    registry.add_reward(reward)

        kit = RewardKit(plugins=[_Plugin()], entry_points=False)
        return ScoringEngine([RewardSpec(reward.name, params=dict(self.params))], kit=kit, executor=executor,
                             workers=1, deadline=deadline or self.deadline, cache_size=0, batch_size=batch_size)

    def _same(self, a: Sequence[Score], b: Sequence[Score]) -> bool:
        """Equal scores: exactly for a deterministic reward, to 1e-4 for one that is not (a model's
        padding in a batch moves the last float bits)."""
        if self.reward.deterministic:
            return [s.value for s in a] == [s.value for s in b]
        return len(a) == len(b) and all(
            (x.value is None) == (y.value is None) and (x.value is None or math.isclose(x.value, y.value, abs_tol=1e-4))
            for x, y in zip(a, b))

    def _values(self, scores: Sequence[Score]) -> list[Any]:
        return [(s.value, s.error) for s in scores]

    # -- checks ------------------------------------------------------------------------------------
    def check_params(self) -> None:
        import inspect

        sig = list(inspect.signature(self.reward.fn).parameters.values())[1:]
        defaults = {p.name: p.default for p in sig if p.default is not p.empty}
        problems = check_param_types(self.reward.fn, defaults, name=self.reward.name)
        assert not problems, ("a default does not match its annotation: " + "; ".join(p.message for p in problems)
                              + " (fix the annotation, e.g. `x: int | None = None`)")
        self.reward.check_params(self.params)
        from .reward import _param_adapters

        for name, (adapter, _) in _param_adapters(self.reward.fn).items():
            bad = next((v for v in _WRONG_VALUES if not _accepts(adapter, v)), None)
            if bad is None:
                continue
            try:
                self.reward.check_params({**self.params, name: bad})
            except RewardParamsError:
                continue
            raise AssertionError(f"param {name!r} accepted the wrongly-typed value {bad!r}")

    def check_gold(self) -> None:
        self._expect(self.gold, 1.0, "gold")

    def check_wrong(self) -> None:
        self._expect(self.wrong, 0.0, "wrong")

    def _expect(self, which: list[Sample], want: float, label: str) -> None:
        scores = self._direct(self.examples) if self.reward.mode == "group" else self._direct(which)
        if self.reward.mode == "group":
            offset = 0 if label == "gold" else len(self.gold)
            scores = scores[offset:offset + len(which)]
        for sample, score in zip(which, scores):
            assert score.value is not None and math.isclose(score.value, want, abs_tol=1e-9), (
                f"{label} example {sample.completion_text[:80]!r} scored {score.value!r} (want {want}); "
                f"reason: {score.reason!r}, error: {score.error!r}")

    def check_applicable(self) -> None:
        for sample, score in zip(self.examples, self._direct(self.examples)):
            assert score.value is not None, (
                f"{sample.completion_text[:80]!r} scored None (not applicable), though it has what the reward "
                f"needs; reason: {score.reason!r}, error: {score.error!r}. Return None only where the reward "
                "does not apply")

    def check_deterministic(self) -> None:
        first, second = self._direct(self.examples), self._direct(self.examples)
        assert self._values(first) == self._values(second), (
            "the same input scored differently twice: mark the reward `deterministic=False` (it is then never "
            "cached), or make it deterministic")

    def check_batch(self) -> None:
        # At least three samples in the batch, whatever the examples: one sample is no batch.
        extra = [_with_completion(self.examples[0], text) for text in ("", "x y z")]
        units = self._units([*self.examples, *extra])
        with self._engine("thread", batch_size=max(2, len(units))) as engine:
            batched = engine.score_reward(self.reward.name, units)
        direct = self._direct(units)
        assert self._same(batched, direct), (
            f"the engine's batched scores {[s.value for s in batched]} differ from direct calls "
            f"{[s.value for s in direct]}: a batch reward must score each sample as it would alone")

    def check_picklable(self) -> None:
        import cloudpickle

        for label, dumps in (("pickle", pickle.dumps), ("cloudpickle", cloudpickle.dumps)):
            try:
                copy = pickle.loads(dumps(self.reward))
            except Exception as exc:  # noqa: BLE001 - the failure is the finding
                raise AssertionError(f"{label} cannot round-trip the reward ({type(exc).__name__}: {exc}); "
                                     "define it at module level, and keep unpicklable state (clients, "
                                     "models) in a lazily-built module cache") from None
            assert copy.name == self.reward.name and copy.mode == self.reward.mode
            if self.examples and self.reward.deterministic:
                got = [s.value for s in copy.score(self._units(self.examples[:4]), self.params)]
                want = [s.value for s in self.reward.score(self._units(self.examples[:4]), self.params)]
                assert got == want, f"after a {label} round-trip the reward scores {got}, not {want}"

    def check_process(self) -> None:
        units = self._units(self.examples)
        with self._engine("process") as engine:
            scores = engine.score_reward(self.reward.name, units)
        for sample, score in zip(units, scores):
            assert score.error is None or score.value is not None, (
                f"in the process executor {sample.completion_text[:60]!r} failed: {score.error}")
        assert self._same(scores, self._direct(units)), "the process executor's scores differ from direct calls"

    def check_odd_input(self) -> None:
        base = self.examples[0] if self.examples else Sample(prompt="Say something.")
        for label, text in ODD_COMPLETIONS.items():
            sample = _with_completion(base, text)
            try:
                scores = self._direct(self._units([sample]))
            except Exception as exc:  # noqa: BLE001 - the failure is the finding
                raise AssertionError(f"the reward raised on a {label} completion ({type(exc).__name__}: {exc}); "
                                     "return a Score (None with a reason, or an error) instead") from None
            assert len(scores) == 1 and isinstance(scores[0], Score)

    def check_deadline(self) -> None:
        base = self.examples[0] if self.examples else Sample(prompt="Say something.")
        huge = _with_completion(base, ("The answer is 4. " * (HUGE_CHARS // 17 + 1))[:HUGE_CHARS])
        with self._engine("process") as engine:
            [score] = engine.score_reward(self.reward.name, self._units([huge]))
        assert score.error is None or score.timed_out or score.value is not None, (
            f"a 1 MB completion crashed the reward: {score.error}; cap the work per input (truncate, "
            "bound loops) or return a Score explaining why it was not scored")


def _accepts(adapter: Any, value: Any) -> bool:
    from pydantic import ValidationError

    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


def suite_for(reward: Reward, *, gold: Sequence[Sample | Mapping[str, Any]] = (),
              wrong: Sequence[Sample | Mapping[str, Any]] = (), params: Mapping[str, Any] | None = None,
              samples: Sequence[Sample | Mapping[str, Any]] = (), deadline: float = 10.0) -> Conformance:
    """A :class:`Conformance` from examples given as Samples or JSONL-style rows."""
    return Conformance(reward, [_as_sample(g) for g in gold], [_as_sample(w) for w in wrong], dict(params or {}),
                       [_as_sample(s) for s in samples], deadline)


def conformance(reward: Reward, *, gold: Sequence[Sample | Mapping[str, Any]] = (),
                wrong: Sequence[Sample | Mapping[str, Any]] = (), params: Mapping[str, Any] | None = None,
                samples: Sequence[Sample | Mapping[str, Any]] = (), deadline: float = 10.0,
                skip: Sequence[str] = ()) -> Callable[[str], None]:
    """A pytest test function running the conformance suite on ``reward``: assign it to a ``test_*`` name.

    ``gold``/``wrong``: examples (Samples or JSONL-style rows ``{"completion": ..., "answer": ...}``) that
    must score 1.0 / 0.0 with ``params``; ``samples``: more examples with no expected score (they must
    not score None). ``deadline``: seconds per call in the engine checks. ``skip``: names of checks to leave out (say why in a comment).
    """
    import pytest

    suite = suite_for(reward, gold=gold, wrong=wrong, params=params, samples=samples, deadline=deadline)
    names = [n for n in suite.checks() if n not in set(skip)]

    @pytest.mark.rewardkit_conformance
    @pytest.mark.parametrize("check", names)
    def test_conformance(check: str) -> None:
        suite.run(check)

    test_conformance.suite = suite  # type: ignore[attr-defined]
    return test_conformance
