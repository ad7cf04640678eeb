"""Runs launched from a small pre-started helper process per worker slot (``_forkserver_main``).

Forking the caller (a trainer with torch loaded, hundreds of MB mapped) for every run is slow, and
setting a uid or rlimits in the child rules out ``vfork``. Instead each slot keeps one small root
helper (living in an empty network namespace of its own when we are root); a run is a fork of that
helper, after which the child applies the isolation (slot uid, rlimits, no_new_privs, new session,
scrubbed environment, fresh work dir, capped pipes handed over with SCM_RIGHTS) and ``exec``s the
command (through subprocess's C fork/exec path) -- or, for the ``forkserver``
backend, runs Python source in the already warm interpreter. When the program exits, the helper
kills everything the slot uid still runs (children that called setsid included), which also closes
the pipes such leftovers held.

The helper is the system ``python3`` on the sandbox PATH, so in-process Python runs see exactly the
modules ``python3`` would.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, ClassVar

from .base import BASE_ENV, Sandbox, SandboxError, sandbox_env
from .execution import can_isolate_network, make_pipes, make_result, pump, rlimits_for
from .slots import SHARED_TMP_DIRS, Slot, remove_tree
from .types import Limits, RunRequest, RunResult

_SERVER = Path(__file__).with_name("_forkserver_main.py")
#: Seconds a helper may take to accept a run or to report one after the program's output closed
#: (its own work then: sweeping leftovers, emptying scratch dirs). Past that it is stopped or
#: wedged: it is killed and replaced, and the run gets a result anyway.
HELPER_TIMEOUT = 10.0
_PYTHON_NAMES = ("python3", "python")
_RLIMIT_NAMES = {"RLIMIT_CPU": "cpu", "RLIMIT_AS": "as", "RLIMIT_FSIZE": "fsize", "RLIMIT_NOFILE": "nofile",
                 "RLIMIT_NPROC": "nproc", "RLIMIT_CORE": "core"}


def sandbox_python() -> str | None:
    """The ``python3`` that sandboxed code gets (resolved on the sandbox's PATH, not the caller's)."""
    return shutil.which("python3", path=BASE_ENV["PATH"])


class HelperTimeout(SandboxError):
    """The helper did not answer in time (stopped or wedged)."""


class _Server:
    """The client side of one slot's helper: a connected Unix socket (fds travel with SCM_RIGHTS)."""

    def __init__(self, sock: socket.socket, what: str, stop: Callable[[], None] | None = None,
                 proc: subprocess.Popen | None = None) -> None:
        self.sock, self.what, self._stop, self.proc = sock, what, stop, proc
        self.ok = True
        self.reader = sock.makefile("rb")
        sock.settimeout(60)
        try:
            line = self.reader.readline().strip()
        except OSError:
            line = b""
        if line != b"ready":
            self.close()
            raise SandboxError(f"the sandbox helper ({what}) failed to start")
        sock.settimeout(None)

    @classmethod
    def spawn(cls, python: str, flags: list[str]) -> "_Server":
        """A helper on this host: ``python -I _forkserver_main.py FD`` over a socket pair."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        proc = subprocess.Popen(
            [python, "-I", str(_SERVER), str(theirs.fileno()), *flags], pass_fds=[theirs.fileno()],
            env=dict(BASE_ENV), stdin=subprocess.DEVNULL, start_new_session=True, cwd="/",
        )
        theirs.close()
        return cls(ours, f"{python} {_SERVER.name}", proc=proc)

    def submit(self, request: dict[str, Any], fds: list[int], timeout: float = HELPER_TIMEOUT) -> int:
        body = json.dumps(request).encode()
        head = b"%16d" % len(body)
        self.sock.settimeout(timeout)
        try:
            socket.send_fds(self.sock, [head], fds)
            self.sock.sendall(body)
        except socket.timeout:
            self.ok = False
            raise HelperTimeout(f"the sandbox helper ({self.what}) did not accept the run within {timeout:.0f}s")
        return int(json.loads(self._line(timeout))["pid"])

    def result(self, timeout: float = HELPER_TIMEOUT) -> dict[str, Any]:
        return json.loads(self._line(timeout))

    def _line(self, timeout: float) -> bytes:
        self.sock.settimeout(timeout)
        try:
            line = self.reader.readline()
        except (socket.timeout, OSError) as exc:
            self.ok = False
            if isinstance(exc, socket.timeout):
                raise HelperTimeout(f"the sandbox helper ({self.what}) did not answer within {timeout:.0f}s")
            line = b""
        if not line:
            self.ok = False
            raise SandboxError(f"the sandbox helper ({self.what}) died; it is restarted on the next run")
        return line

    def alive(self) -> bool:
        return self.ok and (self.proc is None or self.proc.poll() is None)

    def close(self) -> None:
        self.ok = False
        try:
            self.reader.close()
            self.sock.close()
        finally:
            if self._stop is not None:
                self._stop()
            if self.proc is not None:
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()


class LauncherSandbox(Sandbox):
    """Base of the backends whose runs are forked from a per-slot helper (see the module doc)."""

    #: Run ``python3 FILE`` / ``python3 -c CODE`` inside the warm helper instead of exec'ing python3.
    in_process_python: ClassVar[bool] = False
    #: The command is wrapped in a launcher (bwrap) that reports signal deaths as 128+N.
    via_launcher: ClassVar[bool] = False
    #: Runs can signal their slot's helper (it shares their uid: warm bubblewrap). Then a helper
    #: that dies or stops answering during a run was the run's doing: a violation, not an error.
    runs_reach_helper: ClassVar[bool] = False

    @classmethod
    def unavailable_reason(cls) -> str | None:
        if not hasattr(socket, "send_fds"):
            return "needs Python >= 3.9 (socket.send_fds)"
        return None

    def _start(self) -> None:
        self._python = sandbox_python() or sys.executable
        self._isolate_network = can_isolate_network()
        self._private_tmp_failed = False
        self._servers: dict[int, _Server] = {}
        for slot in self._all_slots:
            self._servers[slot.index] = self._new_server(slot)

    def _new_server(self, slot: Slot) -> _Server:
        try:
            return _Server.spawn(self._python, self._helper_flags(slot))
        except SandboxError:
            if not self._private_tmp(slot):
                raise
            # this host refuses the helper's mount namespace (a locked-down container): fall back to
            # the host's temp dirs, swept by uid after each run
            self._private_tmp_failed = True
            return _Server.spawn(self._python, self._helper_flags(slot))

    def _kill_run(self, slot: Slot, pid: int) -> None:
        """Timeout/overflow: kill the main process's group; the helper, waiting on it, sweeps the rest."""
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def _helper_flags(self, slot: Slot) -> list[str]:
        flags = ["--warm"] if self.in_process_python else []
        if self._isolate_network:
            flags += ["--netns", "--ipc-per-run"]
        if self._private_tmp(slot):
            cover = [d for d in SHARED_TMP_DIRS if os.path.isdir(d) and not os.path.islink(d)]
            flags += ["--private-tmp", str(slot.scratch), "--cover", ",".join(cover), "--scratch", str(slot.scratch)]
        return flags

    def _private_tmp(self, slot: Slot) -> bool:
        """Whether the slot's helper shows runs its own scratch dir in place of the host's /tmp,
        /var/tmp, /dev/shm (needs root and the slot's tmpfs; the state dir must not sit below them)."""
        state = str(slot.root)
        return (self._isolate_network and slot.tmpfs and not self._private_tmp_failed
                and not any(state == d or state.startswith(d + "/") for d in SHARED_TMP_DIRS))

    def _stop(self) -> None:
        for server in self._servers.values():
            server.close()
        self._servers.clear()

    def _server(self, slot: Slot) -> _Server:
        server = self._servers.get(slot.index)
        if server is None or not server.alive():
            if server is not None:
                server.close()
            server = self._servers[slot.index] = self._new_server(slot)
        return server

    def _plan(self, slot: Slot, workdir: Path, request: RunRequest, limits: Limits) -> dict[str, Any]:
        """The helper request: argv, cwd, env, rlimits... (bubblewrap overrides it to wrap argv)."""
        wd = str(workdir)
        argv = [str(a) for a in request.command]
        return {"uid": slot.uid if slot.isolated_uid else None, "gid": slot.gid, "cwd": wd,
                "env": sandbox_env(wd, request.env), "argv": argv, "rlimits": rlimits_dict(limits, slot),
                "cgroup": slot.cgroup_files(),
                "python": _python_plan(argv, wd) if self.in_process_python else None}

    def _execute(self, slot: Slot, workdir: Path, request: RunRequest, limits: Limits) -> RunResult:
        started = time.monotonic()
        message = self._plan(slot, workdir, request, limits)
        child_ends, parent_ends = make_pipes()
        try:
            pid = self._submit(slot, message, child_ends)
        except (OSError, SandboxError) as exc:
            for fd in parent_ends:
                os.close(fd)
            return RunResult.failure(self.name, f"sandbox helper request failed: {exc}",
                                     time.monotonic() - started)
        finally:
            for fd in child_ends:
                os.close(fd)
        server = self._servers[slot.index]
        data = request.stdin.encode() if isinstance(request.stdin, str) else bytes(request.stdin)
        # No exit watch needed: the helper sweeps the uid as soon as the program exits, which closes
        # the pipes that leftover background children held.
        out, err, timed_out, truncated = pump(*parent_ends, data, started + limits.wall_seconds,
                                              int(limits.output_bytes))
        if timed_out or truncated:
            self._kill_run(slot, pid)
        try:
            done = server.result()
        except SandboxError as exc:
            stopped = isinstance(exc, HelperTimeout)
            if stopped:  # stopped or wedged: kill it (and whatever the run left) and start afresh
                self._replace_server(slot)
            duration = time.monotonic() - started
            if timed_out or truncated:  # we killed the helper with the run (warm bubblewrap): SIGKILL
                return make_result(signal.SIGKILL, None, out, err, timed_out, truncated, limits, duration,
                                   self.name)
            if self.runs_reach_helper:
                what = "stopped" if stopped else "killed"
                return replace(make_result(signal.SIGKILL, None, out, err, False, False, limits, duration,
                                           self.name),
                               violation=f"the program {what} its sandbox helper (replaced)")
            return RunResult.failure(self.name, str(exc), duration)
        return make_result(done["status"], None if self.via_launcher else done["cpu"], out, err, timed_out,
                           truncated, limits, time.monotonic() - started, self.name,
                           signal_from_code=self.via_launcher)

    def _submit(self, slot: Slot, message: dict[str, Any], fds: list[int]) -> int:
        """Hand a run to the slot's helper; a helper found dead or stuck is replaced and asked again
        once (a broken helper must not cost a sample)."""
        for attempt in range(2):
            server = self._server(slot)
            try:
                return server.submit(message, fds)
            except (OSError, SandboxError):
                self._replace_server(slot)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _replace_server(self, slot: Slot) -> None:
        """Drop the slot's helper (killing it and the slot's processes); the next run starts one."""
        server = self._servers.pop(slot.index, None)
        slot.kill_all()
        if server is not None:
            if server.proc is not None and server.proc.poll() is None:
                server.proc.kill()
            server.close()

    def _cleanup(self, slot: Slot, workdir: Path) -> None:
        # The helper already killed everything the slot uid ran, right when the program exited, and
        # emptied its private /tmp; only without one do the host's shared temp dirs need a sweep.
        remove_tree(workdir)
        if not self._private_tmp(slot):
            slot.clean_shared_tmp()


def rlimits_dict(limits: Limits, slot: Slot, extra_processes: int = 0) -> dict[str, int]:
    """The helper's rlimit names -> values. Without a dedicated uid RLIMIT_NPROC would count all of
    the caller's own processes, so it is only set on slot uids."""
    pairs = rlimits_for(limits.with_(processes=limits.processes + extra_processes), nproc=slot.isolated_uid)
    return {_RLIMIT_NAMES[_rlimit_name(res)]: value for res, value in pairs}


class ForkServerSandbox(LauncherSandbox):
    """Python from a pre-started, pre-imported interpreter that forks per run (fastest for Python).

    ``python3 FILE`` and ``python3 -c CODE`` run inside the forked warm interpreter with
    ``__name__ == "__main__"``; any other command is exec'd as in the ``process`` backend.
    """

    name = "forkserver"
    in_process_python = True

    @classmethod
    def unavailable_reason(cls) -> str | None:
        if sandbox_python() is None:
            return (f"no python3 on the sandbox PATH ({BASE_ENV['PATH']}): install python3 "
                    f"(apt-get install -y python3)")
        return super().unavailable_reason()


def _rlimit_name(res: int) -> str:
    import resource

    for name in _RLIMIT_NAMES:
        if getattr(resource, name) == res:
            return name
    raise KeyError(res)


def _python_plan(argv: list[str], workdir: str) -> dict[str, Any] | None:
    """How to run ``argv`` in-process, or None to exec it (anything but ``python3 FILE|-c CODE``)."""
    if len(argv) < 2 or os.path.basename(argv[0]) not in _PYTHON_NAMES:
        return None
    if argv[1] == "-c" and len(argv) >= 3:
        return {"filename": "<string>", "source": argv[2], "argv": ["-c", *argv[3:]], "path0": ""}
    if argv[1].startswith("-"):
        return None  # interpreter flags: let the real interpreter handle them
    script = os.path.join(workdir, argv[1])
    return {"filename": argv[1], "argv": argv[1:], "path0": os.path.dirname(script)}
