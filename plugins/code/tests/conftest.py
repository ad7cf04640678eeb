"""Shared fixtures: the fastest sandbox backend usable here.

bubblewrap and docker are provisioned first (apt-installed when missing, a private dockerd started),
exactly as the sandbox package's own tests do, so that on a fresh CI machine "every available
backend" means every backend this machine can run, whichever test folder runs first.
"""

import shutil
from collections.abc import Callable

import pytest
from rewardkit_sandbox import available_backends
from rewardkit_sandbox.provision import apt_install, ensure_bubblewrap, ensure_docker

#: Never skipped: bubblewrap is the default isolation for untrusted code, so its attack tests must run.
REQUIRED_BACKENDS = ("process", "forkserver", "bubblewrap")


@pytest.fixture(scope="session", autouse=True)
def _provision_backends() -> None:
    ensure_bubblewrap()
    ensure_docker()


@pytest.fixture(scope="session")
def require_backend() -> Callable[[str], str]:
    """``require_backend(name)`` returns ``name`` when that backend runs here; else it skips naming what is
    missing (Docker without an engine, say), or fails for a backend untrusted code relies on by default."""

    def require(name: str) -> str:
        problem = available_backends().get(name, f"rewardkit_sandbox has no {name!r} backend")
        if problem is None:
            return name
        message = f"sandbox backend {name!r} cannot run here: {problem}"
        if name in REQUIRED_BACKENDS:
            pytest.fail(f"{message} (the tests of the default isolation never skip: install it)")
        pytest.skip(message)

    return require


@pytest.fixture(scope="session")
def gxx() -> str:
    """g++ for the C/C++ rewards, apt-installed on a fresh machine like the sandboxes."""
    problem = apt_install(["g++"])
    assert problem is None and shutil.which("g++"), f"g++ is needed for the C/C++ code tests: {problem}"
    return "g++"


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
