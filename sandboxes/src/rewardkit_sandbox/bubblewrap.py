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
from functools import lru_cache
from pathlib import Path
from typing import Any

from .base import sandbox_env
from .launcher import LauncherSandbox, rlimits_dict
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
        return "bwrap is not installed: `apt-get install -y bubblewrap` (Debian/Ubuntu) or `dnf install bubblewrap`"
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


def bwrap_argv(workdir: str, tmpdir: str, command: list[str]) -> list[str]:
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
    argv += ["--proc", "/proc", "--dev", "/dev", "--bind", tmpdir, "/tmp",
             "--bind", workdir, INNER_WORKDIR,
             # bwrap's own root (where /etc, /work... were created) becomes read-only too.
             "--remount-ro", "/", "--chdir", INNER_WORKDIR, "--hostname", "sandbox", "--"]
    return argv + command


class BubblewrapSandbox(LauncherSandbox):
    """Namespaced runs via bubblewrap: no network, read-only system, private /tmp, own uid per slot."""

    name = "bubblewrap"
    via_launcher = True

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return _probe() or super().unavailable_reason()

    def _plan(self, slot: Slot, workdir: Path, request: RunRequest, limits: Limits) -> dict[str, Any]:
        # /tmp inside is a per-run directory on disk (not a tmpfs, whose pages no rlimit would bound).
        tmpdir = workdir.with_name(workdir.name + ".tmp")
        remove_tree(tmpdir)
        tmpdir.mkdir(mode=0o700)
        if slot.isolated_uid:
            os.chown(tmpdir, slot.uid, slot.gid)
        env = sandbox_env(INNER_WORKDIR, request.env)
        env["TMPDIR"] = "/tmp"
        return {"uid": slot.uid if slot.isolated_uid else None, "gid": slot.gid, "cwd": str(workdir), "env": env,
                "argv": bwrap_argv(str(workdir), str(tmpdir), [str(a) for a in request.command]),
                "rlimits": rlimits_dict(limits, slot, extra_processes=BWRAP_PROCESSES), "python": None}

    def _cleanup(self, slot: Slot, workdir: Path) -> None:
        # /tmp and /dev/shm are private to the run, so there is no shared temp dir to sweep.
        remove_tree(workdir)
        remove_tree(workdir.with_name(workdir.name + ".tmp"))
