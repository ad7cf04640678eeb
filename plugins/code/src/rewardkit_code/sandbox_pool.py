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
_SANDBOXES: dict[tuple[str, int, int], Sandbox] = {}
_LOCK = threading.Lock()


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 16))


def shared_sandbox(backend: str = "auto", workers: int = 0) -> Sandbox:
    """The process-wide sandbox for ``backend`` ("auto" resolves first) with ``workers`` slots
    (0: one per CPU). Raises rewardkit_sandbox.SandboxError when the backend cannot run here."""
    name = resolve_backend(backend)
    key = (name, workers or default_workers(), os.getpid())
    with _LOCK:
        sandbox = _SANDBOXES.get(key)
        if sandbox is None:
            sandbox = _SANDBOXES[key] = get_sandbox(name, workers=key[1])
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
