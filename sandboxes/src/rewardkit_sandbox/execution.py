"""Pieces every backend shares: rlimits, network namespaces, capped output pumping, results."""

from __future__ import annotations

import functools
import os
import resource
import selectors
import signal
import time

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


_CLONE_NEWNET = 0x40000000


def unshare_network() -> None:
    """Move the calling process into a new, empty network namespace (needs CAP_SYS_ADMIN)."""
    import ctypes

    if _libc().unshare(_CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare(CLONE_NEWNET) failed: {os.strerror(err)}")


MS_NOSUID, MS_NODEV, MS_REMOUNT, MNT_DETACH = 0x2, 0x4, 0x20, 0x2


def mount(source: str, target: str, fstype: str, flags: int = 0, data: str = "") -> None:
    """mount(2); raises OSError."""
    import ctypes

    if _libc().mount(source.encode(), target.encode(), fstype.encode(), flags, data.encode() or None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {fstype} on {target} failed: {os.strerror(err)}")


def unmount(target: str) -> None:
    """Lazy umount2(MNT_DETACH); no error when nothing is mounted there."""
    _libc().umount2(target.encode(), MNT_DETACH)


def is_mount_point(path: str) -> bool:
    try:
        return os.path.ismount(path)
    except OSError:
        return False


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


def pump(stdin_fd: int, stdout_fd: int, stderr_fd: int, data: bytes, deadline: float,
         cap: int) -> tuple[bytes, bytes, bool, bool]:
    """Feed stdin, read both outputs up to ``cap`` bytes each; stop at the deadline or on overflow.

    Takes ownership of the three (parent-side) pipe fds and closes them.
    """
    bufs: dict[int, bytearray] = {stdout_fd: bytearray(), stderr_fd: bytearray()}
    sel = selectors.DefaultSelector()
    sel.register(stdout_fd, selectors.EVENT_READ)
    sel.register(stderr_fd, selectors.EVENT_READ)
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
