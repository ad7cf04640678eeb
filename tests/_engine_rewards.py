"""Rewards used by the engine tests; a real module so process workers can import them."""

import os
import time

from rewardkit import Score, hookimpl, reward

CALLS_FILE = os.environ.get("RK_TEST_CALLS_FILE")


@reward("t.hang_or_crash")
def hang_or_crash(sample, *, hang_on: str = "hang", crash_on: str = "crash"):
    text = sample.completion_text
    if text == hang_on:
        while True:  # forever, and busy: the worst case for a thread
            time.sleep(0.01)
    if text == crash_on:
        raise RuntimeError("verifier exploded")
    return len(text) / 10


@reward("t.counted")
def counted(sample):
    counted.fn.calls += 1
    return 1.0


counted.fn.calls = 0


@reward("t.group_rank", mode="group", depends_on=("base",))
def group_rank(samples, *, base: str = "t.counted"):
    """Centre the base reward within the group."""
    values = [s.scores[base].value or 0.0 for s in samples]
    mean = sum(values) / len(values)
    return [Score(v - mean, details={"group_size": len(samples)}) for v in values]


@reward("t.length", mode="batch")
def length(samples):
    return [float(len(s.completion_text)) for s in samples]


class Plugin:
    __name__ = "engine-test-rewards"

    @hookimpl
    def rewardkit_register(self, registry):
        for r in (hang_or_crash, counted, group_rank, length):
            registry.add_reward(r)
