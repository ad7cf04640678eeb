"""The ``docker`` backend: a pool of long-lived, locked-down containers, one ``docker exec`` per run.

Each worker slot owns one container of the runtime image (see :mod:`rewardkit_sandbox.image`)
started with ``--network none``, ``--cap-drop ALL``, ``no-new-privileges``, a read-only root, memory
and pids limits, and tmpfs mounts for ``/work`` (the cwd), ``/tmp`` and ``/dev/shm``. Its idle init
(docker-init reaping orphans, and ``sleep``) runs as ``nobody``; every run is exec'd as the slot's dedicated uid with rlimits set by
the shell's ``ulimit`` (CPU, address space, file size, open files, processes).

Clean state between runs without another exec: the host kills every process of the slot uid
(``kill(-1)`` as that uid reaches into the container, setsid or not) and empties ``/work``, ``/tmp``
and ``/dev/shm`` through ``/proc/<init pid>/root``. Files are written the same way, so a run costs
one exec round trip.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from .base import Sandbox, SandboxError, sandbox_env
from .execution import make_result
from .slots import Slot, remove_tree
from .types import Limits, RunRequest, RunResult

WORKDIR = "/work"
#: Writable tmpfs mounts of each container, emptied after every run.
SCRATCH = (WORKDIR, "/tmp", "/dev/shm")
#: Processes beyond ``Limits.processes`` the container may hold (its init and the exec's shell).
EXTRA_PIDS = 4


@lru_cache(maxsize=4)
def _probe(base_url: str | None) -> str | None:
    try:
        import docker  # noqa: F401
    except ImportError:
        return "the docker SDK is not installed: `pip install 'rewardkit-sandbox[docker]'`"
    from .engine import docker_client

    try:
        docker_client(base_url, timeout=5)
    except Exception as exc:
        return f"no usable Docker engine ({exc})"
    return None


class DockerSandbox(Sandbox):
    """Runs in a pool of warm, locked-down containers (strongest isolation; ~100 ms per run).

    Options: ``image`` (a tag; default: build/reuse the runtime image from this host's files),
    ``base_url`` (engine URL; default: see :func:`rewardkit_sandbox.engine.engine_url`).
    """

    name = "docker"

    def __init__(self, workers: int = 1, limits: Limits | None = None, *, image: str | None = None,
                 base_url: str | None = None) -> None:
        self._image = image
        self._base_url = base_url
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
        for slot in self._all_slots:
            self._launch(slot)

    def _launch(self, slot: Slot) -> None:
        import docker.errors

        name = f"rewardkit-sandbox-{slot.uid}"
        try:  # a crashed owner of this uid may have left its container
            self._client.containers.get(name).remove(force=True)
        except docker.errors.NotFound:
            pass
        limits = self.limits
        tmpfs_opts = f"rw,exec,nosuid,nodev,size={max(64, limits.file_size_mb * 8)}m"
        container = self._client.containers.run(
            self._image, ["sleep", "2147483647"], name=name, detach=True, network_mode="none",
            cap_drop=["ALL"], security_opt=["no-new-privileges"], read_only=True,
            mem_limit=f"{limits.memory_mb + 256}m", memswap_limit=f"{limits.memory_mb + 256}m",
            pids_limit=int(limits.processes) + EXTRA_PIDS, shm_size=f"{max(16, limits.file_size_mb)}m",
            tmpfs={WORKDIR: f"{tmpfs_opts},uid={slot.uid},gid={slot.gid},mode=0700", "/tmp": f"{tmpfs_opts},mode=1777"},
            user="65534:65534", working_dir=WORKDIR, labels={"rewardkit-sandbox": str(os.getpid())},
            environment={}, hostname="sandbox",
            init=True,  # docker-init (tini) as pid 1 reaps the orphans each run leaves as zombies
        )
        container.reload()
        self._containers[slot.index] = container
        self._init_pids[slot.index] = int(container.attrs["State"]["Pid"])

    def _stop(self) -> None:
        for container in getattr(self, "_containers", {}).values():
            try:
                container.remove(force=True)
            except Exception:
                pass
        self._containers = {}

    def _root(self, slot: Slot) -> Path:
        pid = self._init_pids[slot.index]
        try:
            os.kill(pid, 0)
        except ProcessLookupError:  # the container died (OOM kill of its init...): replace it
            self._launch(slot)
            pid = self._init_pids[slot.index]
        return Path(f"/proc/{pid}/root")

    # -- runs ------------------------------------------------------------------------------------
    def _prepare_workdir(self, slot: Slot) -> Path:
        return self._root(slot) / WORKDIR.lstrip("/")

    def _cleanup(self, slot: Slot, workdir: Path) -> None:
        slot.kill_all()
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
        started = time.monotonic()
        env = sandbox_env(WORKDIR, request.env)
        env["TMPDIR"] = "/tmp"
        api = self._client.api
        container = self._containers[slot.index]
        try:
            exec_id = api.exec_create(container.id, _limited(request.command, limits), stdin=True, stdout=True,
                                      stderr=True, user=f"{slot.uid}:{slot.gid}", workdir=WORKDIR,
                                      environment=env)["Id"]
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
              f"-f {int(limits.file_size_mb) * 2048} -n {int(limits.open_files)} -u {int(limits.processes) + 1} "
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

