"""Aggregate limits for one worker slot: a cgroup bounding the memory, the number of tasks and the
CPU share of everything a run starts, whatever it forks.

rlimits bound each process on its own (8 children x 800 MB each pass an RLIMIT_AS of 1 GB); a
cgroup bounds their sum. cgroup v2 (``memory.max``, ``pids.max``, ``cpu.max``) is used where the
unified hierarchy offers those controllers to us; otherwise cgroup v1 (``memory.limit_in_bytes``
plus ``memory.memsw.limit_in_bytes`` so swap is no way out, ``pids.max``, ``cpu.cfs_quota_us``).
The CPU quota caps a run at ``cpus`` cores, so its CPU time in total stays below
``cpus * wall_seconds`` however many processes share it.
Where neither can be made (not root, no cgroupfs, controllers not delegated) a slot has none and
the limits stay per process: :func:`SlotCgroup.create` returns None and the sandbox says so in
:attr:`rewardkit_sandbox.Sandbox.aggregate_limits`.

A process joins by writing its pid to ``cgroup.procs`` *before* it drops root (the helper does it
in the forked child, before ``exec``), so nothing it forks can start outside.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_PREFIX = "rewardkit-sandbox-"


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, fs type, options) of the cgroup file systems."""
    out = []
    try:
        with open("/proc/self/mountinfo") as fh:
            for line in fh:
                left, _, right = line.partition(" - ")
                fields, tail = left.split(), right.split()
                if len(fields) >= 5 and tail and tail[0] in ("cgroup", "cgroup2"):
                    out.append((fields[4], tail[0], set(tail[2].split(",")) if len(tail) > 2 else set()))
    except OSError:
        pass
    return out


def _own_paths() -> dict[str, str]:
    """This process's cgroup per v1 controller ('' key: the v2 path)."""
    out = {}
    try:
        with open("/proc/self/cgroup") as fh:
            for line in fh:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for name in controllers.split(",") if controllers else [""]:
                    out[name] = path
    except (OSError, ValueError):
        pass
    return out


@dataclass
class SlotCgroup:
    """The cgroup(s) of one slot: v2 (one directory) or v1 (one per controller)."""

    version: int
    memory: Path
    pids: Path
    cpu: Path

    @classmethod
    def create(cls, name: str) -> "SlotCgroup | None":
        """Make (or reuse) the slot's cgroup below this process's own; None where not possible."""
        if os.geteuid() != 0:
            return None
        for make in (cls._create_v2, cls._create_v1):
            try:
                group = make(_PREFIX + name)
            except OSError:
                group = None
            if group is not None:
                return group
        return None

    @classmethod
    def _create_v2(cls, name: str) -> "SlotCgroup | None":
        own = _own_paths().get("")
        for mount, fstype, _ in _mounts():
            if fstype != "cgroup2" or own is None:
                continue
            parent = Path(mount) / own.lstrip("/")
            try:
                available = (parent / "cgroup.subtree_control").read_text().split()
            except OSError:
                continue
            if not {"memory", "pids", "cpu"} <= set(available):
                continue  # we cannot enable them for children here (not delegated, or we sit in it)
            path = parent / name
            path.mkdir(exist_ok=True)
            return cls(2, path, path, path)
        return None

    @classmethod
    def _create_v1(cls, name: str) -> "SlotCgroup | None":
        own = _own_paths()
        found: dict[str, Path] = {}
        for mount, fstype, options in _mounts():
            if fstype != "cgroup":
                continue
            for controller in ("memory", "pids", "cpu"):
                if controller in options and controller in own and controller not in found:
                    found[controller] = Path(mount) / own[controller].lstrip("/") / name
        if set(found) != {"memory", "pids", "cpu"}:
            return None
        for path in found.values():
            path.mkdir(exist_ok=True)
        return cls(1, found["memory"], found["pids"], found["cpu"])

    # -- limits ------------------------------------------------------------------------------------
    def set_limits(self, memory_bytes: int, tasks: int, cpus: float) -> None:
        """Bound the slot's total memory (swap included), its number of tasks and its CPU cores."""
        period = 100_000
        quota = max(1000, int(cpus * period))
        if self.version == 2:
            _write(self.memory / "memory.max", memory_bytes)
            _write(self.memory / "memory.swap.max", 0, missing_ok=True)
            (self.cpu / "cpu.max").write_text(f"{quota} {period}")
        else:
            _write(self.cpu / "cpu.cfs_period_us", period)
            _write(self.cpu / "cpu.cfs_quota_us", quota)
            memsw = self.memory / "memory.memsw.limit_in_bytes"
            limit = self.memory / "memory.limit_in_bytes"
            # memsw must stay >= the plain limit: raise it first, lower it last
            current = int(limit.read_text())
            order = [(memsw, memory_bytes), (limit, memory_bytes)] if memory_bytes > current else \
                [(limit, memory_bytes), (memsw, memory_bytes)]
            for path, value in order:
                _write(path, value, missing_ok=path is memsw)
        _write(self.pids / "pids.max", tasks)

    def procs_files(self) -> list[str]:
        """The files a process writes its pid to, to join (one per hierarchy)."""
        dirs = {self.memory, self.pids, self.cpu}
        return [str(d / "cgroup.procs") for d in sorted(dirs)]

    def oom_kills(self) -> int:
        """How many processes the slot's memory limit has killed so far."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            for line in (self.memory / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def remove(self) -> None:
        """Delete the cgroup(s); they must be empty (the slot's processes are dead by then)."""
        for path in {self.memory, self.pids, self.cpu}:
            try:
                path.rmdir()
            except OSError:
                pass


def _write(path: Path, value: int, missing_ok: bool = False) -> None:
    try:
        path.write_text(str(int(value)))
    except FileNotFoundError:
        if not missing_ok:
            raise
