"""Shared fixtures: one warm sandbox per backend for the whole session (set-up included here).

The optional backends are provisioned the way CI needs: bubblewrap and docker.io are apt-installed
when missing, a private dockerd is started under /tmp and the runtime image is imported. A backend
that still cannot run is skipped with the reason (e.g. no Docker engine can start here), except the ones
untrusted code relies on by default: ``process``, ``forkserver`` and ``bubblewrap`` fail instead.
"""

from __future__ import annotations

import os

import pytest

from rewardkit_sandbox import Limits, Sandbox, get_sandbox
from rewardkit_sandbox.provision import ensure_bubblewrap, ensure_docker

#: "NAME-MODE" is backend NAME with mode=MODE: bubblewrap's fresh bwrap per run, docker's exec per run.
ALL_BACKENDS = ("process", "forkserver", "bubblewrap", "bubblewrap-per-run", "docker", "docker-exec")
#: Backends with their own filesystem view (private /tmp, no host dirs).
FS_ISOLATED = ("bubblewrap", "bubblewrap-per-run", "docker", "docker-exec")
#: Set before any sandbox starts, so a leak of the caller's environment would show in every backend.
SECRET_ENV = ("REWARDKIT_TEST_SECRET_TOKEN", "sk-test-5f0c1d9e-do-not-leak")
TEST_LIMITS = Limits(cpu_seconds=5, wall_seconds=10, memory_mb=512, file_size_mb=16, open_files=64,
                     processes=32, output_bytes=200_000)

_PROVISION = {"bubblewrap": ensure_bubblewrap, "docker": ensure_docker}
#: Never skipped: bubblewrap is the default isolation for untrusted code, so its attack tests must run.
REQUIRED_BACKENDS = ("process", "forkserver", "bubblewrap")
_problems: dict[str, str | None] = {}
_sandboxes: dict[str, Sandbox] = {}


def backend_problem(name: str) -> str | None:
    if name not in _problems:
        fn = _PROVISION.get(name)
        _problems[name] = fn() if fn else None
    return _problems[name]


def require(backend: str) -> None:
    """Return when ``backend`` can run here; else skip naming what is missing (fail for a required one)."""
    problem = backend_problem(backend)
    if problem is None:
        return
    message = f"{backend} backend cannot run on this machine: {problem}"
    if backend in REQUIRED_BACKENDS:
        pytest.fail(f"{message} (the tests of the default isolation never skip: install it)")
    pytest.skip(message)


def open_sandbox(name: str) -> Sandbox:
    """The session's warm sandbox for ``name`` (2 workers), or a skip naming what is missing."""
    if name not in _sandboxes:
        backend, _, mode = name.partition("-")  # e.g. "bubblewrap-per-run" -> ("bubblewrap", "per-run")
        require(backend)
        os.environ[SECRET_ENV[0]] = SECRET_ENV[1]
        options = {"mode": mode} if mode else {}
        _sandboxes[name] = get_sandbox(backend, workers=2, limits=TEST_LIMITS, **options)
    return _sandboxes[name]


@pytest.fixture(scope="session", autouse=True)
def _close_sandboxes():
    yield
    for sb in _sandboxes.values():
        sb.close()
    _sandboxes.clear()


@pytest.fixture(params=ALL_BACKENDS)
def sandbox(request) -> Sandbox:
    return open_sandbox(request.param)


@pytest.fixture
def secret_env() -> tuple[str, str]:
    """The (name, value) of a secret in the caller's environment since before any sandbox started."""
    return SECRET_ENV


@pytest.fixture
def forkserver_sandbox() -> Sandbox:
    return open_sandbox("forkserver")


@pytest.fixture(params=ALL_BACKENDS)
def fresh_sandbox(request):
    """A new one-worker sandbox of each backend, closed after the test: consecutive runs share
    its only slot."""
    backend, _, mode = request.param.partition("-")
    require(backend)
    with get_sandbox(backend, workers=1, limits=TEST_LIMITS, **({"mode": mode} if mode else {})) as sb:
        yield sb


@pytest.fixture(params=FS_ISOLATED)
def isolated_sandbox(request) -> Sandbox:
    return open_sandbox(request.param)
