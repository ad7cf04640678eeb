"""Shared fixtures: the fastest sandbox backend usable here.

bubblewrap and docker are provisioned first (apt-installed when missing, a private dockerd started),
exactly as the sandbox package's own tests do, so that on a fresh CI machine "every available
backend" means every backend this machine can run, whichever test folder runs first.
"""

import pytest
from rewardkit_sandbox import available_backends
from rewardkit_sandbox.provision import ensure_bubblewrap, ensure_docker


@pytest.fixture(scope="session", autouse=True)
def _provision_backends() -> None:
    ensure_bubblewrap()
    ensure_docker()


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
