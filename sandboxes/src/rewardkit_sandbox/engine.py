"""Finding or starting a Docker engine for the docker backend, without touching the system's one.

:func:`start_private_engine` runs ``dockerd`` with its own data root, exec root and socket under
``/tmp/rewardkit-dockerd`` and no networking set-up (``--iptables=false --bridge=none``): the
sandbox containers use ``--network none`` anyway. It is ready in well under a second, and its data
root persists, so the runtime image is imported once per machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

PRIVATE_ROOT = Path(os.environ.get("REWARDKIT_DOCKERD_ROOT", "/tmp/rewardkit-dockerd"))
PRIVATE_SOCKET = PRIVATE_ROOT / "docker.sock"


def engine_url(base_url: str | None = None) -> str | None:
    """Which engine to use: ``base_url``, ``$REWARDKIT_DOCKER_HOST``, the private engine, ``$DOCKER_HOST``."""
    if base_url:
        return base_url
    if os.environ.get("REWARDKIT_DOCKER_HOST"):
        return os.environ["REWARDKIT_DOCKER_HOST"]
    if PRIVATE_SOCKET.exists():
        return f"unix://{PRIVATE_SOCKET}"
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    if os.path.exists("/var/run/docker.sock"):
        return "unix:///var/run/docker.sock"
    return None


def docker_client(base_url: str | None = None, timeout: float = 60) -> Any:
    """A docker SDK client for :func:`engine_url`; raises RuntimeError saying how to get an engine."""
    try:
        import docker
    except ImportError:
        raise RuntimeError(
            "the docker backend needs the docker SDK: `pip install docker`") from None
    url = engine_url(base_url)
    if url is None:
        raise RuntimeError(
            "no Docker engine found: start one with `python -m rewardkit_sandbox.engine` (a private dockerd "
            "under /tmp/rewardkit-dockerd) or set REWARDKIT_DOCKER_HOST / DOCKER_HOST"
        )
    client = docker.DockerClient(base_url=url, timeout=timeout)
    client.ping()
    return client


def _ping(url: str) -> bool:
    try:
        import docker

        docker.DockerClient(base_url=url, timeout=2).ping()
        return True
    except Exception:
        return False


def start_private_engine(root: Path = PRIVATE_ROOT, timeout: float = 30) -> str:
    """Start (or reuse) a private dockerd under ``root``; returns its ``unix://`` URL.

    Needs root and the ``dockerd`` binary (``apt-get install -y docker.io``).
    """
    sock = root / "docker.sock"
    url = f"unix://{sock}"
    if sock.exists() and _ping(url):
        return url
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise RuntimeError("dockerd is not installed: `apt-get install -y docker.io`")
    if os.geteuid() != 0:
        raise RuntimeError(
            "starting a private dockerd needs root; or point REWARDKIT_DOCKER_HOST at an engine")
    root.mkdir(parents=True, exist_ok=True)
    for stale in (sock, root / "docker.pid"):
        stale.unlink(missing_ok=True)
    log = open(root / "dockerd.log", "ab")
    subprocess.Popen(
        [dockerd, f"--data-root={root / 'data'}", f"--exec-root={root / 'exec'}",
         f"--pidfile={root / 'docker.pid'}",
         f"--host={url}", "--iptables=false", "--ip6tables=false", "--bridge=none", "--ip-forward=false",
         "--ip-masq=false"],
        stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True, close_fds=True,
    )
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sock.exists() and _ping(url):
            return url
        time.sleep(0.1)
    tail = (root / "dockerd.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"the private dockerd did not come up within {timeout:.0f}s; its log ends:\n{tail}")


def stop_private_engine(root: Path = PRIVATE_ROOT) -> None:
    """Stop the private dockerd started by :func:`start_private_engine` (its data root is kept)."""
    import signal

    pidfile = root / "docker.pid"
    try:
        pid = int(pidfile.read_text())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


if __name__ == "__main__":  # pragma: no cover - CLI
    print(start_private_engine())
