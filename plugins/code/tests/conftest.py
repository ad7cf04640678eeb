"""Shared fixtures: the fastest sandbox backend usable here."""

import pytest
from rewardkit_sandbox import available_backends

#: Fastest first; the feature tests run on the first usable one (the data tests on all of them).
SPEED_ORDER = ("forkserver", "process", "bubblewrap", "docker")


def usable_backends() -> list[str]:
    found = available_backends()
    return [name for name in SPEED_ORDER if name in found and found[name] is None]


@pytest.fixture(scope="session")
def fast_backend() -> str:
    backends = usable_backends()
    assert backends, f"no sandbox backend is usable here: {available_backends()}"
    return backends[0]
