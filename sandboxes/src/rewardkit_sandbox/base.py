"""The :class:`Sandbox` interface every backend implements, and the worker-slot pool behind it."""

from __future__ import annotations

import os
import queue
import threading
import time
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import ClassVar, Iterable, Mapping, Sequence

from .slots import Slot, lease_slots
from .types import Limits, RunRequest, RunResult

#: The environment untrusted code sees (nothing of the host's: no tokens, keys or proxies).
BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "PYTHONIOENCODING": "utf-8",
}


class SandboxError(RuntimeError):
    """The sandbox itself cannot work (backend missing, misconfigured); the message says what to do."""


class Sandbox(ABC):
    """Runs commands on untrusted files, isolated and bounded by :class:`Limits`.

    ``workers`` slots run in parallel (each with its own uid); :meth:`run` blocks for a free slot,
    :meth:`run_many` fans a batch out over all slots. Use as a context manager or call :meth:`close`.
    """

    #: Registered backend name (``get_sandbox(name)``).
    name: ClassVar[str] = ""
    #: Tasks of the sandbox's own that share a slot's cgroup with its runs (warm bwrap and helper).
    helper_tasks: int = 0

    def __init__(self, workers: int = 1, limits: Limits | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        reason = type(self).unavailable_reason()
        if reason is not None:
            raise SandboxError(f"sandbox backend {self.name!r} is not usable here: {reason}")
        self.workers = workers
        self.limits = limits or Limits()
        self._owner_pid = os.getpid()
        self._closed = False
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._slots: queue.Queue[Slot] = queue.Queue()
        self._all_slots = self._lease(workers)
        for slot in self._all_slots:
            self._slots.put(slot)
        try:
            self._start()
        except BaseException:
            self._release_slots()
            raise

    # -- to implement ---------------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def unavailable_reason(cls) -> str | None:
        """None when the backend can run here, else why not and how to fix it."""

    @abstractmethod
    def _execute(self, slot: Slot, workdir: Path, request: RunRequest, limits: Limits) -> RunResult:
        """Run ``request`` in ``workdir`` (already holding its files) as ``slot``."""

    def _start(self) -> None:
        """Backend set-up after slots are leased (start servers, containers...)."""

    def _stop(self) -> None:
        """Backend tear-down before slots are released."""

    def _lease(self, workers: int) -> list[Slot]:
        return lease_slots(workers, self.name)

    def _prepare_workdir(self, slot: Slot) -> Path:
        return slot.new_workdir()

    def _apply_limits(self, slot: Slot, limits: Limits) -> None:
        """Set the slot's aggregate bounds (cgroup, tmpfs size) for the next run."""
        slot.apply(limits, self.helper_tasks)

    def _cleanup(self, slot: Slot, workdir: Path) -> None:
        """After every run: no process of the slot survives, its files are gone."""
        from .slots import remove_tree

        slot.kill_all()
        remove_tree(workdir)
        slot.clean_shared_tmp()

    # -- public API -----------------------------------------------------------------------------
    @property
    def aggregate_limits(self) -> bool:
        """Whether a run's totals (memory, tasks, CPU cores, disk) are bounded, not only each
        process's: needs root, cgroups and tmpfs (see :mod:`rewardkit_sandbox.cgroups`)."""
        return all(slot.cgroup is not None and slot.tmpfs for slot in self._all_slots)

    def run(self, command: Sequence[str], files: Mapping[str, str | bytes] | None = None,
            stdin: str | bytes = "", limits: Limits | None = None,
            env: Mapping[str, str] | None = None) -> RunResult:
        """Run ``command`` in a fresh work dir holding ``files``; ``limits`` overrides the sandbox's."""
        return self.run_request(RunRequest(command=list(command), files=dict(files or {}), stdin=stdin,
                                           limits=limits, env=dict(env or {})))

    def run_request(self, request: RunRequest) -> RunResult:
        if self._closed:
            raise SandboxError(f"the {self.name} sandbox is closed; create a new one with get_sandbox()")
        if os.getpid() != self._owner_pid:
            raise SandboxError(f"this {self.name} sandbox belongs to process {self._owner_pid}; a forked "
                               f"process must create its own with get_sandbox() (slots cannot be shared)")
        limits = request.limits or self.limits
        slot = self._slots.get()
        started = time.monotonic()
        workdir: Path | None = None
        try:
            self._apply_limits(slot, limits)
            workdir = self._prepare_workdir(slot)
            try:
                write_files(workdir, request.files, slot)
            except ValueError as exc:
                return RunResult.failure(self.name, str(exc), time.monotonic() - started)
            return self._execute(slot, workdir, request, limits)
        except SandboxError as exc:
            return RunResult.failure(self.name, str(exc), time.monotonic() - started)
        finally:
            try:
                if workdir is not None:
                    self._cleanup(slot, workdir)
            finally:
                self._slots.put(slot)

    def run_many(self, requests: Iterable[RunRequest]) -> list[RunResult]:
        """Run a batch in parallel over the sandbox's worker slots; results keep the input order."""
        requests = list(requests)
        if len(requests) <= 1 or self.workers == 1:
            return [self.run_request(r) for r in requests]
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix=f"sandbox-{self.name}")
        return list(self._pool.map(self.run_request, requests))

    def close(self) -> None:
        """Stop the backend and free its uids and directories. Safe to call twice."""
        if self._closed or os.getpid() != self._owner_pid:
            return  # a forked copy must not tear down its parent's helpers and containers
        self._closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        try:
            self._stop()
        finally:
            self._release_slots()

    def _release_slots(self) -> None:
        for slot in self._all_slots:
            slot.kill_all()
            slot.release()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # best effort: do not leak uids when a caller forgets close()
        try:
            if not self._closed and hasattr(self, "_all_slots"):
                self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"<{type(self).__name__} workers={self.workers} limits={self.limits}>"


def sandbox_env(workdir: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(BASE_ENV, HOME=workdir, TMPDIR=workdir)
    if extra:
        env.update(extra)
    return env


def write_files(workdir: Path, files: Mapping[str, str | bytes], slot: Slot) -> None:
    """Write ``files`` under ``workdir`` (owned by the slot uid); reject paths that leave it."""
    for name, content in files.items():
        rel = PurePosixPath(name)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ValueError(f"file name {name!r} must be a relative path inside the work dir (no '..')")
        target = workdir / rel
        created: list[Path] = []
        parent = target.parent
        while parent != workdir and not parent.exists():
            created.append(parent)
            parent = parent.parent
        target.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else bytes(content)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        if slot.isolated_uid:
            for path in [target, *created]:
                os.chown(path, slot.uid, slot.gid)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
