"""Worker slots: one dedicated unprivileged uid and one private directory per parallel worker.

Why a uid per slot: RLIMIT_NPROC counts processes per *real uid across the whole system* and does not
apply to root, so a fork bomb is only bounded when the untrusted code runs as a uid nothing else uses.
The same uid lets us find and kill everything the run left behind (children that called setsid
escape a process-group kill) with one ``kill(-1, SIGKILL)`` sent *as that uid*.

Uids are leased with an exclusive ``flock`` on a lock file, so concurrent sandboxes in other
processes (parallel trainers, pytest workers) never share a uid.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from .cgroups import SlotCgroup
from .execution import MS_NODEV, MS_NOSUID, MS_REMOUNT, is_mount_point, mount, unmount

if TYPE_CHECKING:
    from .types import Limits

#: First uid handed to untrusted code; far above regular users (1000+) and system users.
UID_BASE = int(os.environ.get("REWARDKIT_SANDBOX_UID_BASE", "61000"))
UID_RANGE = 4000


def _default_state_dir() -> Path:
    if os.environ.get("REWARDKIT_SANDBOX_DIR"):
        return Path(os.environ["REWARDKIT_SANDBOX_DIR"])
    if os.geteuid() == 0:  # outside /tmp: the runs get a private /tmp on top of the host's
        return Path("/run/rewardkit-sandbox" if os.path.isdir("/run") else "/var/lib/rewardkit-sandbox")
    return Path(f"/tmp/rewardkit-sandbox-{os.getuid()}")


#: Root-owned state: the uid leases and the slots' work dirs.
STATE_DIR = _default_state_dir()
#: World-writable places of the host. The process/forkserver helpers cover them with the slot's
#: own scratch dir (a private mount namespace); without root they are swept after each run.
SHARED_TMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
#: Memory the slot's cgroup allows on top of ``Limits.memory_mb`` (the helper, bwrap's own processes).
CGROUP_HEADROOM_MB = 64
_MB = 1024 * 1024
#: File timestamps come from a clock that ticks every few ms; allow a generous margin.
_COARSE_CLOCK_NS = 50_000_000


def can_switch_uid() -> bool:
    """Whether this process may run code as other uids (it is root)."""
    return os.geteuid() == 0


def _ensure_state_dir() -> None:
    STATE_DIR.mkdir(mode=0o711, parents=True, exist_ok=True)
    (STATE_DIR / "locks").mkdir(mode=0o700, exist_ok=True)
    if can_switch_uid():
        # Slot uids must traverse into their own dir but never list or write the parent.
        os.chmod(STATE_DIR, 0o711)


@dataclass
class Slot:
    """One worker's identity: the uid/gid its runs execute as and the directory its work dirs live in."""

    index: int
    uid: int
    gid: int
    root: Path
    isolated_uid: bool
    _lock_fd: int | None = None
    _counter: int = field(default=0)
    _tmp_mtimes: dict[str, int] = field(default_factory=dict)
    _run_started: int = 0
    #: Memory, task and CPU bounds for everything the slot's runs start (None: rlimits only).
    cgroup: SlotCgroup | None = None
    #: ``root`` is a size-limited tmpfs: the slot's total disk is bounded.
    tmpfs: bool = False
    _applied: tuple[float, ...] | None = None

    @property
    def scratch(self) -> Path:
        """The slot's private /tmp (and /dev/shm...), on its tmpfs, emptied after every run."""
        return self.root / "scratch"

    def apply(self, limits: "Limits", extra_tasks: int = 0) -> None:
        """Set the slot's aggregate bounds for the next run (only what changed is written)."""
        key = (limits.memory_mb, limits.processes + extra_tasks, limits.cpus, limits.disk_mb)
        if key == self._applied:
            return
        if self.cgroup is not None:
            self.cgroup.set_limits((limits.memory_mb + CGROUP_HEADROOM_MB) * _MB,
                                   limits.processes + extra_tasks, limits.cpus)
        if self.tmpfs:
            mount("tmpfs", str(self.root), "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV,
                  f"size={int(limits.disk_mb)}m,mode=0711")
        self._applied = key

    def cgroup_files(self) -> list[str]:
        return self.cgroup.procs_files() if self.cgroup is not None else []

    def new_workdir(self) -> Path:
        """A fresh, empty directory owned by the slot uid (mode 0700: other slots cannot look in)."""
        self._counter += 1
        if self.isolated_uid:
            self._snapshot_shared_tmp()
        path = self.root / f"run{self._counter}"
        if path.exists():
            remove_tree(path)
        path.mkdir(mode=0o700)
        if self.isolated_uid:
            os.chown(path, self.uid, self.gid)
        return path

    def kill_all(self) -> None:
        """Kill every process running as this slot's uid (a no-op without a dedicated uid)."""
        if self.isolated_uid:
            kill_uid(self.uid)

    def clean_shared_tmp(self) -> None:
        """Remove what the slot uid left in the world-writable temp dirs (/tmp, /var/tmp, /dev/shm).

        A directory whose mtime did not move since before the run (and had not moved just before
        it either, given the kernel's coarse file clock) got no new entry: it is not scanned.
        """
        if not self.isolated_uid:
            return
        before, started = self._tmp_mtimes, self._run_started
        for base in SHARED_TMP_DIRS:
            try:
                mtime = os.stat(base).st_mtime_ns
            except OSError:
                continue
            if base in before and mtime == before[base] and mtime < started - _COARSE_CLOCK_NS:
                continue
            try:
                entries = os.scandir(base)
            except OSError:
                continue
            with entries:
                for entry in entries:
                    try:
                        if entry.stat(follow_symlinks=False).st_uid == self.uid:
                            remove_tree(Path(entry.path))
                    except OSError:
                        pass

    def _snapshot_shared_tmp(self) -> None:
        self._run_started = time.time_ns()
        self._tmp_mtimes = {}
        for base in SHARED_TMP_DIRS:
            try:
                self._tmp_mtimes[base] = os.stat(base).st_mtime_ns
            except OSError:
                pass

    def release(self) -> None:
        if self.tmpfs:
            unmount(str(self.root))
            self.tmpfs = False
        remove_tree(self.root)
        if self.cgroup is not None:
            self.cgroup.remove()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing drops the flock: the uid is free for others
            self._lock_fd = None


def remove_tree(path: Path) -> None:
    """Delete a file or tree the untrusted code may have made unwritable (chmod 000 dirs)."""
    try:
        os.rmdir(path)  # the common case: an empty work dir
        return
    except FileNotFoundError:
        return
    except OSError:
        pass
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        return

    def fix_and_retry(func, failed_path, _exc) -> None:  # type: ignore[no-untyped-def]
        # rmtree is fd-based on Linux (never follows symlinks), so making the parent writable is safe.
        parent = os.path.dirname(failed_path)
        try:
            os.chmod(parent, 0o700)
            if os.path.isdir(failed_path) and not os.path.islink(failed_path):
                os.chmod(failed_path, 0o700)
                shutil.rmtree(failed_path, ignore_errors=True)
            else:
                func(failed_path)
        except OSError:
            pass

    shutil.rmtree(path, onerror=fix_and_retry)


def kill_uid(uid: int) -> None:
    """SIGKILL every process whose real or saved uid is ``uid``.

    A forked helper drops to ``uid`` and calls ``kill(-1)``: the kernel signals every process that
    uid may signal, atomically with respect to new forks, whatever sessions or process groups they
    made and even when they hid from /proc.
    """
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 0
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            _sweep()
        except BaseException:
            code = 1
        os._exit(code)
    os.waitpid(pid, 0)


def _sweep() -> None:
    """In a child already running as the slot uid: SIGKILL every other process of that uid.

    One ``kill(-1)`` suffices: the kernel walks the task list under the lock fork takes, so a
    process is either signalled or its fork fails on the pending SIGKILL. (Dying processes take a
    moment to go; zombies linger until their parent reaps them, holding nothing but a pid.)
    """
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass


def lease_slots(count: int, name: str) -> list[Slot]:
    """Lease ``count`` slots with unique uids (or the current uid when not root: weaker isolation)."""
    _ensure_state_dir()
    slots: list[Slot] = []
    try:
        if not can_switch_uid():
            for i in range(count):
                root = Path(_mkdtemp(STATE_DIR, f"{name}-u{os.getuid()}-"))
                slots.append(Slot(i, os.getuid(), os.getgid(), root, isolated_uid=False))
            return slots
        for i, (uid, fd) in enumerate(_lease_uids(count)):
            root = STATE_DIR / f"slot-{uid}"
            slot = Slot(i, uid, uid, root, isolated_uid=True, _lock_fd=fd)
            slots.append(slot)
            kill_uid(uid)  # a crashed previous owner may have left processes behind
            if is_mount_point(str(root)):
                unmount(str(root))
            remove_tree(root)
            root.mkdir(mode=0o711)
            try:  # the slot's disk: a tmpfs whose size is Limits.disk_mb (set per run by apply)
                mount("tmpfs", str(root), "tmpfs", MS_NOSUID | MS_NODEV, "size=256m,mode=0711")
                slot.tmpfs = True
            except OSError:
                pass
            slot.scratch.mkdir(mode=0o700)
            os.chown(slot.scratch, uid, uid)
            slot.cgroup = SlotCgroup.create(f"{uid}")
        return slots
    except BaseException:
        for slot in slots:
            slot.release()
        raise


def _lease_uids(count: int) -> Iterator[tuple[int, int]]:
    found = 0
    for uid in range(UID_BASE, UID_BASE + UID_RANGE):
        if found == count:
            return
        fd = os.open(STATE_DIR / "locks" / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        found += 1
        yield uid, fd
    if found < count:
        raise RuntimeError(
            f"no free sandbox uid in {UID_BASE}..{UID_BASE + UID_RANGE}: close unused sandboxes or set "
            f"REWARDKIT_SANDBOX_UID_BASE to another free range"
        )


def _mkdtemp(base: Path, prefix: str) -> str:
    import tempfile

    return tempfile.mkdtemp(prefix=prefix, dir=base)
