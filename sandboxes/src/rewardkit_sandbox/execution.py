"""Launching one bounded child process and collecting its capped output under a deadline.

Shared by the ``process`` and ``bubblewrap`` backends (bubblewrap is just a different argv).
"""

from __future__ import annotations

import functools
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


def make_preexec(limits: Limits, *, nproc: bool = True, uid: int | None = None, gid: int | None = None,
                 isolate_network: bool = False) -> Callable[[], None]:
    """The child-side set-up run after fork, before exec.

    As root it first leaves the network (a fresh, empty network namespace: not even loopback is up)
    and then drops to ``uid``/``gid``; rlimits come last, after the uid switch.
    """
    pairs = rlimits_for(limits, nproc=nproc)
    if isolate_network:
        _libc()  # load libc in the parent: importing in the forked child is slow and not fork-safe

    def preexec() -> None:
        if isolate_network:
            unshare_network()
        if uid is not None:
            os.setgroups([])
            os.setgid(gid if gid is not None else uid)
            os.setuid(uid)
        for res, value in pairs:
            # CPU: the soft limit sends SIGXCPU, the hard one a second later SIGKILL for code ignoring it.
            resource.setrlimit(res, (value, value + 1 if res == resource.RLIMIT_CPU else value))
        os.umask(0o077)

    return preexec


_CLONE_NEWNET = 0x40000000


def unshare_network() -> None:
    """Move the calling process into a new, empty network namespace (needs CAP_SYS_ADMIN)."""
    import ctypes

    if _libc().unshare(_CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare(CLONE_NEWNET) failed: {os.strerror(err)}")


@functools.lru_cache(maxsize=1)
def _libc():  # type: ignore[no-untyped-def]
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


@functools.lru_cache(maxsize=1)
def can_isolate_network() -> bool:
    """Whether this process may create network namespaces (root with CAP_SYS_ADMIN)."""
    if os.geteuid() != 0:
        return False
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            unshare_network()
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return status == 0


def run_child(
    argv: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    stdin: str | bytes,
    limits: Limits,
    backend: str,
    preexec: Callable[[], None] | None = None,
    on_kill: Callable[[], None] | None = None,
    on_exit: Callable[[], None] | None = None,
    via_launcher: bool = False,
) -> RunResult:
    """Start ``argv`` in a new session and pump stdin/stdout/stderr until exit or the deadline.

    On the wall-clock deadline or an output flood the child's whole process group is SIGKILLed
    (and ``on_kill`` runs, e.g. to kill everything the slot uid owns); ``on_exit`` runs as soon as
    the main process exits (to end its leftovers, which may hold the pipes open). ``via_launcher``: argv is a
    launcher such as bwrap, whose CPU time is not the program's and which reports signals as 128+N.
    """
    data = stdin.encode() if isinstance(stdin, str) else bytes(stdin)
    started = time.monotonic()
    child_ends, parent_ends = make_pipes()
    try:
        proc = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env), stdin=child_ends[0], stdout=child_ends[1],
            stderr=child_ends[2], start_new_session=True, close_fds=True, preexec_fn=preexec,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        for fd in parent_ends:
            os.close(fd)
        took = time.monotonic() - started
        if isinstance(exc, FileNotFoundError):
            return RunResult(127, "", f"command not found: {argv[0]!r}\n", False, took, False, False, backend)
        if isinstance(exc, PermissionError):
            return RunResult(126, "", f"cannot execute {argv[0]!r}: {exc}\n", False, took, False, False,
                             backend)
        return RunResult.failure(backend, f"could not start {argv[0]!r}: {exc}", took)
    finally:
        for fd in child_ends:
            os.close(fd)

    exit_fd = pidfd(proc.pid)
    try:
        out, err, timed_out, truncated = pump(*parent_ends, data, started + limits.wall_seconds,
                                              int(limits.output_bytes), exit_fd, on_exit)
    finally:
        if exit_fd is not None:
            os.close(exit_fd)
    if timed_out or truncated:
        _kill_group(proc.pid)
        if on_kill is not None:
            on_kill()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = None if via_launcher else usage.ru_utime + usage.ru_stime
    return make_result(status, cpu, out, err, timed_out, truncated, limits, time.monotonic() - started,
                       backend, signal_from_code=via_launcher)


def pidfd(pid: int) -> int | None:
    """A pidfd for ``pid`` (readable once it exits), or None where the kernel has no pidfd_open."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def make_pipes() -> tuple[list[int], list[int]]:
    """(child ends, parent ends) of the stdin, stdout and stderr pipes."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    return [in_r, out_w, err_w], [in_w, out_r, err_r]


def make_result(status: int, cpu_time: float | None, out: bytes, err: bytes, timed_out: bool,
                truncated: bool, limits: Limits, duration: float, backend: str,
                signal_from_code: bool = False) -> RunResult:
    """Build a RunResult from a raw wait status.

    ``signal_from_code``: the status came through a launcher that reports a signal death as exit
    code 128+N (bwrap does), so map those back to signals.
    """
    code = os.waitstatus_to_exitcode(status)
    sig = -code if code < 0 else None
    if signal_from_code and code > 128 and code - 128 in _DEATH_SIGNALS:
        sig = code - 128
    cpu_limit = int(-(-limits.cpu_seconds // 1))
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_time is not None and cpu_time >= cpu_limit):
        timed_out = True  # the CPU-time limit fired
    return RunResult(
        exit_code=None if sig is not None else code,
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


#: Signals that end a program (the ones a launcher's 128+N exit code is read back as).
_DEATH_SIGNALS = frozenset({signal.SIGKILL, signal.SIGXCPU, signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS,
                            signal.SIGFPE, signal.SIGILL, signal.SIGTERM, signal.SIGXFSZ, signal.SIGPIPE,
                            signal.SIGSYS})


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def pump(stdin_fd: int, stdout_fd: int, stderr_fd: int, data: bytes, deadline: float,
         cap: int, exit_fd: int | None = None,
         on_exit: Callable[[], None] | None = None) -> tuple[bytes, bytes, bool, bool]:
    """Feed stdin, read both outputs up to ``cap`` bytes each; stop at the deadline or on overflow.

    Takes ownership of the three (parent-side) pipe fds and closes them. ``exit_fd`` (a pidfd of the
    main process) becomes readable when the program exits: then ``on_exit`` kills what it left
    behind, so background children holding the pipes open cannot stretch the run to the deadline.
    """
    bufs: dict[int, bytearray] = {stdout_fd: bytearray(), stderr_fd: bytearray()}
    sel = selectors.DefaultSelector()
    sel.register(stdout_fd, selectors.EVENT_READ)
    sel.register(stderr_fd, selectors.EVENT_READ)
    if exit_fd is not None:
        sel.register(exit_fd, selectors.EVENT_READ)
    view = memoryview(data)
    stdin_open = True
    if view:
        os.set_blocking(stdin_fd, False)
        sel.register(stdin_fd, selectors.EVENT_WRITE)
    else:
        os.close(stdin_fd)
        stdin_open = False
    timed_out = truncated = False
    open_reads = 2
    try:
        while open_reads:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for key, _ in sel.select(remaining):
                fd = key.fd
                if fd == exit_fd:
                    sel.unregister(exit_fd)
                    if on_exit is not None:
                        on_exit()
                    continue
                if fd == stdin_fd:
                    try:
                        view = view[os.write(stdin_fd, view[:_CHUNK]):]
                    except OSError:  # the program closed stdin or exited: drop the rest
                        view = view[:0]
                    if not view:
                        sel.unregister(stdin_fd)
                        os.close(stdin_fd)
                        stdin_open = False
                    continue
                chunk = os.read(fd, _CHUNK)
                if not chunk:
                    sel.unregister(fd)
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
        for fd in ((stdin_fd,) if stdin_open else ()) + (stdout_fd, stderr_fd):
            try:
                os.close(fd)
            except OSError:
                pass
    return bytes(bufs[stdout_fd]), bytes(bufs[stderr_fd]), timed_out, truncated
