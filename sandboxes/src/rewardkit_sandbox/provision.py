"""Making the optional backends usable on a fresh Debian/Ubuntu machine (what CI and tests call).

``python -m rewardkit_sandbox.provision`` installs bubblewrap, docker.io and busybox-static with apt
when missing (root only), starts the private dockerd and imports the runtime image, then prints
:func:`available_backends`. Each step is skipped when already done, so a second call is instant.
"""

from __future__ import annotations

import os
import shutil
import subprocess

#: apt package providing each command the backends need.
APT_PACKAGES = {"bwrap": "bubblewrap", "dockerd": "docker.io", "busybox": "busybox-static", "g++": "g++"}


def apt_install(commands: list[str], timeout: float = 600) -> str | None:
    """Install the apt packages providing ``commands`` that are missing. None when done, else why not."""
    missing = [APT_PACKAGES[c] for c in commands
               if shutil.which(c) is None and not (c == "busybox" and os.path.exists("/bin/busybox"))]
    if not missing:
        return None
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return f"{missing} missing and cannot be installed here (needs root and apt-get)"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if proc.returncode != 0:  # the package lists may be missing on a fresh machine
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env, timeout=timeout)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if proc.returncode != 0:
        return f"apt-get install {' '.join(missing)} failed: {proc.stderr.strip()[-500:]}"
    return None


def ensure_bubblewrap() -> str | None:
    """None when the bubblewrap backend is usable (installing bwrap if needed), else why not."""
    from .bubblewrap import _probe

    problem = apt_install(["bwrap"])
    if problem:
        return problem
    _probe.cache_clear()
    return _probe()


def ensure_docker() -> str | None:
    """None when the docker backend is usable: engine installed and running, image imported."""
    problem = apt_install(["dockerd", "busybox"])
    if problem:
        return problem
    try:
        import docker  # noqa: F401
    except ImportError:
        return "the docker SDK is not installed: `pip install docker`"
    from .docker_backend import _probe
    from .engine import docker_client, engine_url, start_private_engine
    from .image import ensure_image

    try:
        url = engine_url()
        if url is None or not _ping_ok(url):
            url = start_private_engine()
        ensure_image(docker_client(url))
    except Exception as exc:
        return f"docker engine or image set-up failed: {exc}"
    _probe.cache_clear()
    return _probe(None)


def _ping_ok(url: str) -> bool:
    from .engine import _ping

    return _ping(url)


if __name__ == "__main__":  # pragma: no cover - CLI
    from .factory import available_backends

    print("bubblewrap:", ensure_bubblewrap() or "ok")
    print("docker:", ensure_docker() or "ok")
    print(available_backends())
