"""The ``docker`` backend: a pool of long-lived, locked-down containers, one per worker slot.

Each slot owns one container of the runtime image (see :mod:`rewardkit_sandbox.image`) started with
``--network none``, ``--cap-drop ALL``, ``no-new-privileges``, a read-only root, memory and pids
limits, and tmpfs mounts for ``/work`` (the cwd), ``/tmp`` and ``/dev/shm``; docker-init reaps
orphans. Every run executes as the slot's dedicated unprivileged uid with rlimits and no_new_privs.

Two ways to start a run (``mode=``):

* ``"helper"`` (default): one ``docker exec`` per *container* starts the sandbox helper inside it
  (the same ``_forkserver_main.py`` the process backend uses, as container root holding only
  CAP_SETUID/CAP_SETGID; docker hands an exec capabilities only in a container whose user is root,
  so the idle init is root with those two capabilities too). The host talks to it over a Unix
  socket in a bind-mounted directory and
  hands it the run's pipes with SCM_RIGHTS; it forks, drops to the slot uid and execs. A run then
  costs about what the process backend's does.
* ``"exec"``: one ``docker exec`` per run, as the slot uid, under a busybox shell that sets the
  rlimits; the idle init runs as ``nobody``, so no root process exists in the container (~100 ms
  per run).

Clean state between runs without another exec: the run's processes are killed (by the helper,
or the in-container shell, and on timeout from the host, where they are ordinary processes of the
slot uid) and ``/work``, ``/tmp`` and ``/dev/shm`` are emptied through ``/proc/<init pid>/root``.
Files are written the same way.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import subprocess
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from .base import SandboxError, sandbox_env
from .execution import make_result
from .launcher import LauncherSandbox, _Server, rlimits_dict
from .slots import STATE_DIR, Slot, remove_tree
from .types import Limits, RunRequest, RunResult

WORKDIR = "/work"
#: Writable mounts of each container, emptied after every run (POSIX message queues included).
SCRATCH = (WORKDIR, "/tmp", "/dev/shm", "/dev/mqueue")
#: Processes beyond ``Limits.processes`` the container may hold (its init and the exec's shell).
EXTRA_PIDS = 4


@lru_cache(maxsize=4)
def _probe(base_url: str | None) -> str | None:
    try:
        import docker  # noqa: F401
    except ImportError:
        return "the docker SDK is not installed: `pip install docker`"
    from .engine import docker_client

    try:
        docker_client(base_url, timeout=5)
    except Exception as exc:
        return f"no usable Docker engine ({exc})"
    return None


#: Where each container sees its slot's host directory holding the helper's socket.
HELPER_DIR = "/run/rewardkit"
MODES = ("helper", "exec")


class DockerSandbox(LauncherSandbox):
    """Runs in a pool of warm, locked-down containers (strongest isolation).

    Options: ``image`` (a tag; default: build/reuse the runtime image from this host's files),
    ``base_url`` (engine URL; default: see :func:`rewardkit_sandbox.engine.engine_url`),
    ``mode`` (``"helper"``: a warm in-container launcher, or ``"exec"``: a ``docker exec`` per run).
    """

    name = "docker"

    def __init__(self, workers: int = 1, limits: Limits | None = None, *, image: str | None = None,
                 base_url: str | None = None, mode: str = "helper") -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self._image = image
        self._base_url = base_url
        self.mode = mode
        super().__init__(workers=workers, limits=limits)

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return _probe(None)

    # -- containers ------------------------------------------------------------------------------
    def _start(self) -> None:
        from .engine import docker_client
        from .image import ensure_image

        if not all(slot.isolated_uid for slot in self._all_slots):
            raise SandboxError("the docker backend needs root (it runs each slot as its own host uid)")
        self._client = docker_client(self._base_url)
        self._image = self._image or ensure_image(self._client)
        self._containers: dict[int, Any] = {}
        self._init_pids: dict[int, int] = {}
        self._applied: dict[int, tuple[float, ...]] = {}
        self._servers = {}
        self._isolate_network = False  # --network none already
        for slot in self._all_slots:
            self._launch(slot)
            if self.mode == "helper":
                self._servers[slot.index] = self._new_server(slot)

    def _launch(self, slot: Slot) -> None:
        import docker.errors

        name = f"rewardkit-sandbox-{slot.uid}"
        try:  # a crashed owner of this uid may have left its container
            self._client.containers.get(name).remove(force=True)
        except docker.errors.NotFound:
            pass
        limits = self.limits
        helper = self.mode == "helper"
        sock_dir = self._sock_dir(slot)
        remove_tree(sock_dir)
        sock_dir.mkdir(mode=0o700, parents=True)
        # /work: a tmpfs of Limits.disk_mb, /tmp and /dev/shm half that each (a run's disk in total
        # is at most 2 x disk_mb, and the pages count against the container's memory cgroup too)
        tmpfs_opts = "rw,exec,nosuid,nodev"
        container = self._client.containers.run(
            self._image, ["sleep", "2147483647"], name=name, detach=True, network_mode="none",
            cap_drop=["ALL"], security_opt=["no-new-privileges"], read_only=True,
            # The helper (root in the container) only needs to switch to the slot uid.
            cap_add=["SETUID", "SETGID"] if helper else None,
            volumes={str(sock_dir): {"bind": HELPER_DIR, "mode": "rw"}} if helper else None,
            mem_limit=f"{limits.memory_mb + 256}m", memswap_limit=f"{limits.memory_mb + 256}m",
            pids_limit=int(limits.processes) + EXTRA_PIDS, shm_size=f"{_half(limits.disk_mb)}m",
            cpu_period=100_000, cpu_quota=int(limits.cpus * 100_000),
            tmpfs={WORKDIR: f"{tmpfs_opts},size={int(limits.disk_mb)}m,uid={slot.uid},gid={slot.gid},mode=0700",
                   "/tmp": f"{tmpfs_opts},size={_half(limits.disk_mb)}m,mode=1777"},
            # Docker grants an exec capabilities only when the container's user is root, so in helper
            # mode the idle init runs as root too (holding nothing but CAP_SETUID/CAP_SETGID).
            user="0:0" if helper else "65534:65534", working_dir=WORKDIR,
            labels={"rewardkit-sandbox": str(os.getpid())},
            environment={}, hostname="sandbox",
            init=True,  # docker-init (tini) as pid 1 reaps the orphans each run leaves as zombies
        )
        container.reload()
        self._containers[slot.index] = container
        self._init_pids[slot.index] = int(container.attrs["State"]["Pid"])
        self._applied[slot.index] = _limits_key(limits)

    def _apply_limits(self, slot: Slot, limits: Limits) -> None:
        """A run's limits differ from the container's: update its cgroup and resize its tmpfs."""
        key = _limits_key(limits)
        if self._applied.get(slot.index) == key:
            return
        self._root(slot)  # (re)launches a dead container first
        container = self._containers[slot.index]
        memory = f"{limits.memory_mb + 256}m"
        # (the pids limit stays the container's: the SDK cannot update it; RLIMIT_NPROC still applies)
        container.update(mem_limit=memory, memswap_limit=memory, cpu_period=100_000,
                         cpu_quota=int(limits.cpus * 100_000))
        _resize_tmpfs(self._init_pids[slot.index], [(WORKDIR, int(limits.disk_mb)), ("/tmp", _half(limits.disk_mb)),
                                                     ("/dev/shm", _half(limits.disk_mb))])
        self._applied[slot.index] = key

    def _sock_dir(self, slot: Slot) -> Path:
        return STATE_DIR / f"docker-{slot.uid}"

    def _new_server(self, slot: Slot) -> _Server:
        """Start the helper in the slot's container and connect to it through the bind mount."""
        self._root(slot)  # (re)launches a dead container
        container = self._containers[slot.index]
        host_sock = self._sock_dir(slot) / "helper.sock"
        host_sock.unlink(missing_ok=True)
        from .image import HELPER_PATH

        api = self._client.api
        helper = ["python3", "-I", HELPER_PATH, "--listen", f"{HELPER_DIR}/helper.sock", "--private-ipc"]
        exec_id = api.exec_create(container.id, helper,
                                  user="0:0", environment={"PATH": "/usr/bin:/bin"})["Id"]
        api.exec_start(exec_id, detach=True)
        deadline = time.monotonic() + 30
        while True:  # the socket file appears at bind(), connections succeed after listen()
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(host_sock))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
            if time.monotonic() > deadline or not api.exec_inspect(exec_id).get("Running", True):
                raise SandboxError(f"the sandbox helper did not start in container {container.name}")
            time.sleep(0.005)
        return _Server(sock, f"helper in container {container.name}")

    def _server(self, slot: Slot) -> _Server:
        server = self._servers.get(slot.index)
        if server is None or not server.alive():
            if server is not None:
                server.close()
            try:
                server = self._servers[slot.index] = self._new_server(slot)
            except SandboxError:
                raise
            except Exception as exc:  # docker API errors: fail this run, retry on the next
                raise SandboxError(f"could not start the sandbox helper in its container: {exc}") from exc
        return server

    def _kill_run(self, slot: Slot, pid: int) -> None:
        # ``pid`` is in the container's pid namespace; from the host, kill by uid instead.
        slot.kill_all()

    def _plan(self, slot: Slot, workdir: Path, request: RunRequest, limits: Limits) -> dict[str, Any]:
        env = sandbox_env(WORKDIR, request.env)
        env["TMPDIR"] = "/tmp"
        return {"uid": slot.uid, "gid": slot.gid, "cwd": WORKDIR, "env": env,
                "argv": [str(a) for a in request.command], "rlimits": rlimits_dict(limits, slot),
                "python": None}

    def _stop(self) -> None:
        for server in getattr(self, "_servers", {}).values():
            server.close()
        self._servers = {}
        for container in getattr(self, "_containers", {}).values():
            try:
                container.remove(force=True)
            except Exception:
                pass
        self._containers = {}
        for slot in self._all_slots:
            remove_tree(self._sock_dir(slot))

    def _root(self, slot: Slot) -> Path:
        pid = self._init_pids[slot.index]
        if not _alive(pid):  # the container died (OOM kill of its init...): replace it
            server = self._servers.pop(slot.index, None)
            if server is not None:
                server.close()
            self._launch(slot)
            pid = self._init_pids[slot.index]
        return Path(f"/proc/{pid}/root")

    # -- runs ------------------------------------------------------------------------------------
    def _prepare_workdir(self, slot: Slot) -> Path:
        return self._root(slot) / WORKDIR.lstrip("/")

    @property
    def aggregate_limits(self) -> bool:
        return True  # the container's cgroup and tmpfs mounts

    def _cleanup(self, slot: Slot, workdir: Path) -> None:
        if self.mode == "exec":
            slot.kill_all()  # (the helper already swept the uid when the program exited)
            # no helper to remove the run's SysV IPC objects: do it from here, in its namespace
            subprocess.run(["nsenter", f"--ipc=/proc/{self._init_pids[slot.index]}/ns/ipc", "ipcrm", "--all"],
                           capture_output=True, timeout=10)
        root = self._root(slot)
        for scratch in SCRATCH:
            base = root / scratch.lstrip("/")
            try:
                entries = list(os.scandir(base))
            except OSError:
                continue
            for entry in entries:
                remove_tree(Path(entry.path))

    def _execute(self, slot: Slot, workdir: Path, request: RunRequest, limits: Limits) -> RunResult:
        if self.mode == "helper":
            return super()._execute(slot, workdir, request, limits)
        return self._execute_exec(slot, workdir, request, limits)

    def _execute_exec(self, slot: Slot, workdir: Path, request: RunRequest, limits: Limits) -> RunResult:
        started = time.monotonic()
        env = sandbox_env(WORKDIR, request.env)
        env["TMPDIR"] = "/tmp"
        api = self._client.api
        container = self._containers[slot.index]
        try:
            exec_id = api.exec_create(container.id, _limited(request.command, limits), stdin=True,
                                      stdout=True, stderr=True, user=f"{slot.uid}:{slot.gid}",
                                      workdir=WORKDIR, environment=env)["Id"]
            sock = api.exec_start(exec_id, socket=True)
        except Exception as exc:
            return RunResult.failure(self.name, f"docker exec failed: {exc}", time.monotonic() - started)
        raw: socket.socket = getattr(sock, "_sock", sock)
        data = request.stdin.encode() if isinstance(request.stdin, str) else bytes(request.stdin)
        try:
            out, err, timed_out, truncated = _pump_exec(raw, data, started + limits.wall_seconds,
                                                        int(limits.output_bytes))
        finally:
            try:
                sock.close()
                raw.close()
            except OSError:
                pass
        if timed_out or truncated:
            slot.kill_all()  # from the host: every process of the slot uid, inside the container too
        code = None
        for _ in range(200):  # the exec's status lands a moment after its stream closes
            info = api.exec_inspect(exec_id)
            if not info.get("Running"):
                code = info.get("ExitCode")
                break
            time.sleep(0.005)
        if code is None:
            return RunResult.failure(self.name, "docker exec did not report an exit code",
                                     time.monotonic() - started)
        status = (code & 0xFF) << 8  # a wait status; signal deaths come back as 128+N
        return make_result(status, None, out, err, timed_out, truncated, limits, time.monotonic() - started,
                           self.name, signal_from_code=True)


def _resize_tmpfs(init_pid: int, sizes: list[tuple[str, int]]) -> None:
    """Remount the container's tmpfs mounts with new sizes, from a child that enters its mount
    namespace (the image has no ``mount`` binary to run there)."""
    from .execution import MS_NODEV, MS_NOSUID, MS_REMOUNT, _libc, mount

    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            fd = os.open(f"/proc/{init_pid}/ns/mnt", os.O_RDONLY)
            if _libc().setns(fd, 0x00020000) == 0:  # CLONE_NEWNS
                for target, size in sizes:
                    noexec = 0x8 if target == "/dev/shm" else 0  # docker's /dev/shm is noexec
                    mount("tmpfs", target, "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV | noexec, f"size={size}m")
                code = 0
        except BaseException:
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise SandboxError(f"could not resize the tmpfs mounts of the container (pid {init_pid})")


def _half(mb: float) -> int:
    return max(1, int(mb) // 2)


def _limits_key(limits: Limits) -> tuple[float, ...]:
    return (limits.memory_mb, limits.processes, limits.cpus, limits.disk_mb)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, killed but not yet reaped by containerd, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _limited(command: Any, limits: Limits) -> list[str]:
    """The command under a busybox shell that sets the rlimits, runs it, then kills its leftovers.

    The shell stays as the program's parent so that, the moment the program exits, ``kill -9 -1``
    (as the slot uid: everything of the run but the shell) ends background children that would
    otherwise hold the output pipes and keep docker's stream open for seconds. Exit status 128+N
    reports a signal death, as docker does. ``-u`` allows one process more for that shell.
    """
    cpu = max(1, int(-(-limits.cpu_seconds // 1)))
    # Hard CPU limit one second above the soft one: SIGXCPU first (reported as a timeout), then SIGKILL.
    script = (f"ulimit -S -t {cpu} && ulimit -H -t {cpu + 1} && ulimit -v {int(limits.memory_mb) * 1024} "
              f"-f {int(limits.file_size_mb) * 2048} -n {int(limits.open_files)} "
              f"-u {int(limits.processes) + 1} "
              f"-c 0 || exit 125; \"$@\"; rc=$?; kill -9 -1 2>/dev/null; exit $rc")
    return ["/bin/sh", "-c", script, "sh", *[str(a) for a in command]]


def _pump_exec(raw: socket.socket, data: bytes, deadline: float, cap: int) -> tuple[bytes, bytes, bool, bool]:
    """Send stdin, then demultiplex docker's framed stdout/stderr stream with caps and a deadline."""
    raw.setblocking(True)
    if data:
        raw.settimeout(max(0.001, deadline - time.monotonic()))
        try:
            raw.sendall(data)
        except OSError:
            pass
    try:
        raw.shutdown(socket.SHUT_WR)  # EOF on the program's stdin
    except OSError:
        pass
    raw.setblocking(False)
    bufs = {1: bytearray(), 2: bytearray()}
    pending = bytearray()
    timed_out = truncated = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([raw], [], [], remaining)
        if not ready:
            continue
        try:
            chunk = raw.recv(65536)
        except BlockingIOError:
            continue
        except OSError:
            break
        if not chunk:
            break
        pending += chunk
        while len(pending) >= 8:
            stream, size = pending[0], struct.unpack(">I", pending[4:8])[0]
            if len(pending) < 8 + size:
                break
            payload = bytes(pending[8:8 + size])
            del pending[:8 + size]
            buf = bufs.get(stream)
            if buf is None:
                continue
            room = cap - len(buf)
            buf += payload[:room]
            if len(payload) > room:
                truncated = True
        if truncated:
            break
    return bytes(bufs[1]), bytes(bufs[2]), timed_out, truncated

