"""The ``process`` backend: a plain child process, bounded by rlimits and run as the slot's uid.

Isolation: a fresh 0700 work dir as cwd, a scrubbed environment, a dedicated unprivileged uid per
worker slot (so it cannot read root's or other slots' files, and RLIMIT_NPROC bounds fork bombs),
rlimits on CPU, address space, file size, open files and processes, a new session whose process
group is killed on timeout, and a kill of everything the uid owns after each run. There is no
network or filesystem namespace: use ``bubblewrap`` or ``docker`` for that.
"""

from __future__ import annotations

from pathlib import Path

from .base import Sandbox, sandbox_env
from .execution import make_preexec, run_child
from .slots import Slot
from .types import Limits, RunRequest, RunResult


class ProcessSandbox(Sandbox):
    """Runs each command as a bounded child process (always available; the weakest isolation)."""

    name = "process"

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return None

    def _execute(self, slot: Slot, workdir: Path, request: RunRequest, limits: Limits) -> RunResult:
        wd = str(workdir)
        return run_child(
            request.command, cwd=wd, env=sandbox_env(wd, request.env), stdin=request.stdin, limits=limits,
            backend=self.name, uid=slot.uid if slot.isolated_uid else None,
            gid=slot.gid if slot.isolated_uid else None,
            # Without a dedicated uid RLIMIT_NPROC would count all of the caller's processes.
            preexec=make_preexec(limits, nproc=slot.isolated_uid), on_kill=slot.kill_all,
        )
