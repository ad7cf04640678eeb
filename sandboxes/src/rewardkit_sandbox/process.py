"""The ``process`` backend: a plain child process, bounded by rlimits and run as the slot's uid.

Isolation: a fresh 0700 work dir as cwd, a scrubbed environment, a dedicated unprivileged uid per
worker slot (so it cannot read root's or other slots' files, and RLIMIT_NPROC bounds fork bombs),
rlimits on CPU, address space, file size, open files and processes, a new session whose process
group is killed on timeout, a kill of everything the uid owns after each run, and (when root) a
fresh empty network namespace. There is no filesystem namespace: the code sees the host's files
that any unprivileged user may read, and may write to world-writable places such as /tmp (swept
after each run). Use ``bubblewrap`` or ``docker`` for a private filesystem view.
"""

from __future__ import annotations

from pathlib import Path

from .base import Sandbox, sandbox_env
from .execution import can_isolate_network, make_preexec, run_child
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
        uid = slot.uid if slot.isolated_uid else None
        preexec = make_preexec(
            # Without a dedicated uid RLIMIT_NPROC would count all of the caller's processes.
            limits, nproc=slot.isolated_uid, uid=uid, gid=slot.gid, isolate_network=can_isolate_network(),
        )
        return run_child(request.command, cwd=wd, env=sandbox_env(wd, request.env), stdin=request.stdin,
                         limits=limits, backend=self.name, preexec=preexec, on_kill=slot.kill_all,
                         on_exit=slot.program_exited)
