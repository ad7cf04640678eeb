"""The ``bubblewrap`` backend: the process backend inside ``bwrap`` with every namespace unshared.

The child sees a read-only /usr (and the few /etc files programs need), a private /proc and /dev, a
private /tmp, its work dir at ``/work`` (its cwd), no network at all (a fresh network namespace has
only a down loopback), and no other process. bwrap itself is started *as the slot uid* (bwrap makes
an unprivileged user namespace), so RLIMIT_NPROC on that dedicated uid still bounds fork bombs; bwrap
launched by root with ``--uid`` would not be bounded.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

from .base import BASE_ENV, sandbox_env
from .launcher import _SERVER, LauncherSandbox, _Server, rlimits_dict
from .slots import Slot, can_switch_uid, remove_tree
from .types import Limits, RunRequest

#: Where the work dir appears inside the sandbox.
INNER_WORKDIR = "/work"
#: Host paths bound read-only when present: the toolchains and what the dynamic loader needs.
RO_PATHS = ("/usr", "/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
            "/etc/localtime", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group", "/etc/python3.11",
            "/etc/python3")
#: bwrap's own processes (the launcher and the pid-namespace init) count against RLIMIT_NPROC.
BWRAP_PROCESSES = 2


@lru_cache(maxsize=1)
def _probe() -> str | None:
    exe = shutil.which("bwrap")
    if exe is None:
        return ("bwrap is not installed: `apt-get install -y bubblewrap` (Debian/Ubuntu) or "
                "`dnf install bubblewrap`")
    import subprocess

    try:
        proc = subprocess.run([exe, "--unshare-all", "--ro-bind", "/", "/", "true"], capture_output=True,
                              timeout=10, user=65534 if can_switch_uid() else None)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bwrap failed to start: {exc}"
    if proc.returncode != 0:
        return (f"bwrap cannot create namespaces here ({proc.stderr.decode(errors='replace').strip()}); "
                f"enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 / "
                f"user.max_user_namespaces>0)")
    return None


def bwrap_argv(workdir: str, tmpdir: str, command: list[str], *, inner_workdir: str = "/work",
               chdir: str | None = None, extra: list[str] | None = None) -> list[str]:
    """bwrap's arguments: ``workdir`` at ``inner_workdir`` (the cwd unless ``chdir``), ``tmpdir`` at /tmp."""
    argv = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--die-with-parent", "--new-session",
            "--cap-drop", "ALL"]
    for path in RO_PATHS:
        if os.path.exists(path):
            argv += ["--ro-bind", path, path]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        target = f"/{name}"
        if os.path.islink(target):  # merged-/usr systems: /bin -> usr/bin
            argv += ["--symlink", os.readlink(target), target]
        elif os.path.isdir(target):
            argv += ["--ro-bind", target, target]
    argv += extra or []
    # /tmp and /dev/shm are the caller's dir on the slot's size-limited tmpfs (bwrap's own /dev
    # would hold /dev/shm in unbounded memory); POSIX message queues get a mount of their own.
    argv += ["--proc", "/proc", "--dev", "/dev", "--bind", tmpdir, "/tmp", "--bind", tmpdir, "/dev/shm",
             "--mqueue", "/dev/mqueue", "--bind", workdir, inner_workdir,
             # bwrap's own root (where /etc, /work... were created) becomes read-only too.
             "--remount-ro", "/", "--chdir", chdir or inner_workdir, "--hostname", "sandbox", "--"]
    return argv + command


MODES = ("warm", "per-run")
#: Where a warm sandbox sees its slot's directory of work dirs, and the helper script.
INNER_SLOT_DIR = "/sandbox"
INNER_HELPER = "/opt/rewardkit/helper.py"


class BubblewrapSandbox(LauncherSandbox):
    """Namespaced runs via bubblewrap: no network, read-only system, private /tmp, own uid per slot.

    ``mode="warm"`` (default): one long-lived bwrap per worker slot holds the sandbox helper, which
    forks each run inside the namespaces (no namespace set-up per run). Runs share the helper's uid
    and namespaces across time, so after every run the helper kills everything else in its pid
    namespace and empties /tmp, /dev/shm and SysV IPC; the work dir is a fresh ``/sandbox/runN``.
    ``mode="per-run"``: a fresh ``bwrap`` (fresh namespaces, fresh /tmp) for every run; slower.
    """

    name = "bubblewrap"

    def __init__(self, workers: int = 1, limits: Limits | None = None, *, mode: str = "warm") -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.via_launcher = mode == "per-run"  # bwrap reports signal deaths as 128+N
        self.runs_reach_helper = mode == "warm"  # the warm helper shares the runs' uid
        # bwrap, its pid-namespace init (and the warm helper) share the slot's cgroup with the run
        self.helper_tasks = BWRAP_PROCESSES + (1 if mode == "warm" else 0)
        super().__init__(workers=workers, limits=limits)

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return _probe() or super().unavailable_reason()

    # -- warm mode -----------------------------------------------------------------------------
    def _warm_tmp(self, slot: Slot) -> Path:
        return slot.scratch if slot.isolated_uid else slot.root.with_name(slot.root.name + ".tmp")

    def _new_server(self, slot: Slot) -> _Server:
        if self.mode == "per-run":
            return super()._new_server(slot)
        tmpdir = self._warm_tmp(slot)
        if not slot.isolated_uid:
            remove_tree(tmpdir)
            tmpdir.mkdir(mode=0o700)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        helper = [self._python, "-I", INNER_HELPER, str(theirs.fileno()), "--same-uid", "--private-ipc",
                  "--scratch", "/tmp,/dev/shm,/dev/mqueue"]
        argv = bwrap_argv(str(slot.root), str(tmpdir), helper, inner_workdir=INNER_SLOT_DIR, chdir="/",
                          extra=["--ro-bind", str(_SERVER), INNER_HELPER])
        if slot.isolated_uid:  # join the slot's cgroup as root, then become the slot uid and exec bwrap
            argv = [self._python, "-I", str(_SERVER), "--enter", str(slot.uid), str(slot.gid),
                    *slot.cgroup_files(), "--", *argv]
        proc = subprocess.Popen(argv, pass_fds=[theirs.fileno()], env=dict(BASE_ENV),
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd="/")
        theirs.close()
        return _Server(ours, f"warm bwrap of slot uid {slot.uid}", proc=proc)

    def _kill_run(self, slot: Slot, pid: int) -> None:
        if self.mode == "per-run":
            return super()._kill_run(slot, pid)
        # The pid is in bwrap's pid namespace: kill by uid from here (the helper dies too and is
        # restarted for the next run).
        slot.kill_all()

    def _stop(self) -> None:
        super()._stop()
        for slot in self._all_slots:
            if not slot.isolated_uid:
                remove_tree(self._warm_tmp(slot))

    # -- both ----------------------------------------------------------------------------------
    def _plan(self, slot: Slot, workdir: Path, request: RunRequest, limits: Limits) -> dict[str, Any]:
        command = [str(a) for a in request.command]
        if self.mode == "warm":
            inner = f"{INNER_SLOT_DIR}/{workdir.name}"
            env = sandbox_env(inner, request.env)
            env["TMPDIR"] = "/tmp"
            # RLIMIT_NPROC also counts bwrap, its pid-1 and the helper: all run as the slot uid.
            return {"uid": None, "gid": slot.gid, "cwd": inner, "env": env, "argv": command, "python": None,
                    "rlimits": rlimits_dict(limits, slot, extra_processes=BWRAP_PROCESSES + 1)}
        # /tmp inside is a per-run directory on disk (not a tmpfs, whose pages no rlimit would bound).
        tmpdir = workdir.with_name(workdir.name + ".tmp")
        remove_tree(tmpdir)
        tmpdir.mkdir(mode=0o700)
        if slot.isolated_uid:
            os.chown(tmpdir, slot.uid, slot.gid)
        env = sandbox_env(INNER_WORKDIR, request.env)
        env["TMPDIR"] = "/tmp"
        return {"uid": slot.uid if slot.isolated_uid else None, "gid": slot.gid, "cwd": str(workdir),
                "env": env, "argv": bwrap_argv(str(workdir), str(tmpdir), command),
                "rlimits": rlimits_dict(limits, slot, extra_processes=BWRAP_PROCESSES), "python": None,
                "cgroup": slot.cgroup_files()}

    def _cleanup(self, slot: Slot, workdir: Path) -> None:
        # /tmp and /dev/shm are private to the sandbox (and emptied by the warm helper).
        remove_tree(workdir)
        if self.mode == "per-run":
            remove_tree(workdir.with_name(workdir.name + ".tmp"))
