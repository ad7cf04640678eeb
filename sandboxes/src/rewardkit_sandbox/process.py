"""The ``process`` backend: a plain child process, bounded by rlimits and run as the slot's uid.

Isolation: a fresh 0700 work dir as cwd, a scrubbed environment, a dedicated unprivileged uid per
worker slot (so it cannot read root's or other slots' files, and RLIMIT_NPROC bounds fork bombs),
rlimits on CPU, address space, file size, open files and processes, a new session whose process
group is killed on timeout, a kill of everything the uid owns after each run, and (when root) a
fresh empty network namespace. There is no filesystem namespace: the code sees the host's files
that any unprivileged user may read, and may write to world-writable places such as /tmp (swept
after each run). Use ``bubblewrap`` or ``docker`` for a private filesystem view.

Runs are forked from a small per-slot helper and exec'd (see :mod:`rewardkit_sandbox.launcher`),
which keeps the cost per run at a bare subprocess's, however large the calling process is.
"""

from __future__ import annotations

from .launcher import LauncherSandbox


class ProcessSandbox(LauncherSandbox):
    """Runs each command as a bounded child process (always available; the weakest isolation)."""

    name = "process"
