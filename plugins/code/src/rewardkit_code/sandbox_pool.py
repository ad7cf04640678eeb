"""One long-lived sandbox per (backend, workers) in this process, closed at interpreter exit.

Starting a sandbox leases uids and, for docker, starts containers: far too slow per call. Limits
travel with each request, so they are not part of the key.
"""

from __future__ import annotations

import atexit
import os
import threading

from rewardkit_sandbox import Sandbox, get_sandbox, resolve_backend

# keyed by pid too: a forked worker process must not share its parent's slots
_SANDBOXES: dict[tuple[str, int, int, str], Sandbox] = {}
_LOCK = threading.Lock()


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 16))


def shared_sandbox(backend: str = "auto", workers: int = 0, url: str = "") -> Sandbox:
    """The process-wide sandbox for ``backend`` ("auto" resolves first) with ``workers`` slots
    (0: one per CPU; for ``remote``, the fleet's total) and, for ``remote``, the fleet's ``url``s
    (else ``$REWARDKIT_SANDBOX_URL``). Raises rewardkit_sandbox.SandboxError when it cannot run."""
    name = "remote" if url else resolve_backend(backend)
    count = workers or (0 if name == "remote" else default_workers())
    key = (name, count, os.getpid(), url)
    with _LOCK:
        sandbox = _SANDBOXES.get(key)
        if sandbox is None:
            options = {"urls": url} if url else {}
            sandbox = _SANDBOXES[key] = get_sandbox(name, workers=count, **options)
        return sandbox


def close_all() -> None:
    """Close every shared sandbox (also registered with atexit)."""
    with _LOCK:
        mine = [key for key in _SANDBOXES if key[2] == os.getpid()]
        sandboxes = [_SANDBOXES.pop(key) for key in mine]
    for sandbox in sandboxes:
        try:
            sandbox.close()
        except Exception:  # noqa: BLE001 - closing at exit must not raise
            pass


atexit.register(close_all)
