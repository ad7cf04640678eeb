"""Launching one bounded child process and collecting its capped output under a deadline.

Shared by the ``process`` and ``bubblewrap`` backends (bubblewrap is just a different argv).
"""

from __future__ import annotations

import os
import resource
import selectors
import signal
import subprocess
import time
from typing import Callable, Mapping, Sequence

from .types import Limits, RunResult

_MB = 1024 * 1024
_CHUNK = 65536


def rlimits_for(limits: Limits, *, nproc: bool = True) -> list[tuple[int, int]]:
    """(resource, value) pairs applied to the child; soft == hard so the code cannot raise them."""
    cpu = max(1, int(-(-limits.cpu_seconds // 1)))  # RLIMIT_CPU has 1 s granularity: round up
    out = [
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_AS, int(limits.memory_mb * _MB)),
        (resource.RLIMIT_FSIZE, int(limits.file_size_mb * _MB)),
        (resource.RLIMIT_NOFILE, int(limits.open_files)),
        (resource.RLIMIT_CORE, 0),
    ]
    if nproc:
        out.append((resource.RLIMIT_NPROC, int(limits.processes)))
    return out


def make_preexec(limits: Limits, *, nproc: bool = True) -> Callable[[], None]:
    """The child-side set-up run after fork, after the uid switch, before exec."""
    pairs = rlimits_for(limits, nproc=nproc)
    cpu = pairs[0][1]

    def preexec() -> None:
        for res, value in pairs:
            # CPU: the soft limit sends SIGXCPU, the hard one a second later SIGKILL for code ignoring it.
            hard = value + 1 if res == resource.RLIMIT_CPU else value
            resource.setrlimit(res, (cpu if res == resource.RLIMIT_CPU else value, hard))
        os.umask(0o077)

    return preexec


def run_child(
    argv: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    stdin: str | bytes,
    limits: Limits,
    backend: str,
    uid: int | None = None,
    gid: int | None = None,
    preexec: Callable[[], None] | None = None,
    on_kill: Callable[[], None] | None = None,
) -> RunResult:
    """Start ``argv`` in a new session and pump stdin/stdout/stderr until exit or the deadline.

    On the wall-clock deadline or an output flood the child's whole process group is SIGKILLed
    (and ``on_kill`` runs, e.g. to kill everything the slot uid owns).
    """
    data = stdin.encode() if isinstance(stdin, str) else bytes(stdin)
    started = time.monotonic()
    kwargs: dict = {}
    if uid is not None:
        kwargs.update(user=uid, group=gid, extra_groups=[])
    try:
        proc = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True, close_fds=True, preexec_fn=preexec, **kwargs,
        )
    except FileNotFoundError:
        return RunResult(127, "", f"command not found: {argv[0]!r}\n", False, time.monotonic() - started,
                         False, False, backend)
    except PermissionError as exc:
        return RunResult(126, "", f"cannot execute {argv[0]!r}: {exc}\n", False,
                         time.monotonic() - started, False, False, backend)
    except (OSError, subprocess.SubprocessError) as exc:
        return RunResult.failure(backend, f"could not start {argv[0]!r}: {exc}", time.monotonic() - started)

    deadline = started + limits.wall_seconds
    out, err, timed_out, truncated = _pump(proc, data, deadline, int(limits.output_bytes))
    if timed_out or truncated:
        _kill_group(proc.pid)
        if on_kill is not None:
            on_kill()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    duration = time.monotonic() - started
    cpu_time = usage.ru_utime + usage.ru_stime
    sig = -proc.returncode if proc.returncode < 0 else None
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_time >= int(-(-limits.cpu_seconds // 1))):
        timed_out = True  # the CPU-time limit fired
    return RunResult(
        exit_code=None if sig is not None else proc.returncode,
        stdout=out.decode("utf-8", errors="replace"),
        stderr=err.decode("utf-8", errors="replace"),
        timed_out=timed_out,
        duration=duration,
        truncated=truncated,
        killed=sig is not None,
        backend=backend,
        signal=sig,
        cpu_time=cpu_time,
    )


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _pump(proc: subprocess.Popen, data: bytes, deadline: float, cap: int) -> tuple[bytes, bytes, bool, bool]:
    """Feed stdin, read both outputs up to ``cap`` bytes each; stop at the deadline or on overflow."""
    assert proc.stdin and proc.stdout and proc.stderr
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    bufs: dict[int, bytearray] = {out_fd: bytearray(), err_fd: bytearray()}
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    sel.register(proc.stderr, selectors.EVENT_READ)
    view = memoryview(data)
    if view:
        os.set_blocking(proc.stdin.fileno(), False)
        sel.register(proc.stdin, selectors.EVENT_WRITE)
    else:
        proc.stdin.close()
    timed_out = truncated = False
    open_reads = 2
    try:
        while open_reads:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for key, _ in sel.select(remaining):
                fobj = key.fileobj
                if fobj is proc.stdin:
                    try:
                        view = view[os.write(proc.stdin.fileno(), view[:_CHUNK]):]
                    except (BrokenPipeError, OSError):
                        view = view[:0]
                    if not view:
                        sel.unregister(proc.stdin)
                        proc.stdin.close()
                    continue
                fd = fobj.fileno()  # type: ignore[union-attr]
                chunk = os.read(fd, _CHUNK)
                if not chunk:
                    sel.unregister(fobj)
                    open_reads -= 1
                    continue
                buf = bufs[fd]
                room = cap - len(buf)
                buf += chunk[:room]
                if len(chunk) > room:
                    truncated = True
            if truncated:
                break
    finally:
        sel.close()
        for f in (proc.stdin, proc.stdout, proc.stderr):
            try:
                f.close()
            except OSError:
                pass
    return bytes(bufs[out_fd]), bytes(bufs[err_fd]), timed_out, truncated
