"""Rewards that break one rule each, for the conformance suite's own tests (a real module, so the
process executor's workers can import them)."""

import itertools
import time

from rewardkit import Score, reward

_counter = itertools.count()


@reward("bad.exact")
def exact(sample, *, strip: bool = True) -> float:
    """Well-behaved: the baseline every check passes."""
    got, want = sample.completion_text, str(sample.reference)
    return float(got.strip() == want.strip()) if strip else float(got == want)


@reward("bad.flaky")
def flaky(sample) -> float:
    """Claims to be deterministic, is not."""
    return float(next(_counter) % 2)


@reward("bad.batch_dependent", mode="batch")
def batch_dependent(samples) -> list[float]:
    """Scores depend on the batch's size: batched scoring differs from one sample at a time."""
    return [1.0 / len(samples)] * len(samples)


@reward("bad.nul")
def raises_on_nul(sample) -> float:
    if "\x00" in sample.completion_text:
        raise ValueError("NUL byte")
    return 1.0


@reward("bad.huge_crash")
def huge_crash(sample) -> float:
    if len(sample.completion_text) > 100_000:
        raise MemoryError("too big")
    return 1.0


@reward("bad.huge_slow")
def huge_slow(sample) -> float:
    if len(sample.completion_text) > 100_000:
        time.sleep(3600)  # the engine's deadline must stop it
    return 1.0


@reward("bad.never_applies")
def never_applies(sample) -> Score:
    return Score.not_applicable("never")


@reward("bad.untyped")
def untyped(sample, *, strict=False, **kwargs) -> float:
    return 1.0
