"""The values every backend speaks: :class:`Limits`, a :class:`RunRequest` in, a :class:`RunResult` out."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence


@dataclass(frozen=True)
class Limits:
    """Resource bounds for one run. Every backend enforces all of them.

    Per process: ``cpu_seconds`` of CPU time (RLIMIT_CPU), ``memory_mb`` of address space
    (RLIMIT_AS), ``file_size_mb`` per file, ``open_files``. For the whole run, whatever it forks:
    ``wall_seconds`` (then everything is killed), ``memory_mb`` of memory in total, ``processes``
    (processes + threads: RLIMIT_NPROC on a dedicated uid, and the run's cgroup), ``disk_mb`` written
    in total (the work dir, ``/tmp`` and ``/dev/shm`` live on a size-limited tmpfs), ``cpus`` cores
    at most (so CPU time in total <= ``cpus * wall_seconds``), ``output_bytes`` per stdout/stderr.
    The totals need root and cgroups (see ``Sandbox.aggregate_limits``); docker always has them.
    """

    cpu_seconds: float = 10
    wall_seconds: float = 10.0
    memory_mb: int = 1024
    file_size_mb: int = 16
    open_files: int = 64
    processes: int = 32
    output_bytes: int = 1_000_000
    disk_mb: int = 256
    cpus: float = 1.0

    def __post_init__(self) -> None:
        for name in ("cpu_seconds", "wall_seconds", "memory_mb", "file_size_mb", "open_files", "processes",
                     "output_bytes", "disk_mb", "cpus"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive number, got {value!r}")
        if self.open_files < 8:
            raise ValueError(
                "Limits.open_files below 8 leaves no room for stdio and an interpreter; use >= 8")

    def with_(self, **changes: float) -> "Limits":
        """A copy with some fields changed: ``limits.with_(wall_seconds=2)``."""
        return replace(self, **changes)


@dataclass(frozen=True)
class RunRequest:
    """One command to run in a fresh work dir holding ``files`` (relative path -> text or bytes)."""

    command: Sequence[str]
    files: Mapping[str, str | bytes] = field(default_factory=dict)
    stdin: str | bytes = ""
    limits: Limits | None = None
    #: Extra environment variables on top of the scrubbed base environment.
    env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.command, str) or not self.command:
            raise ValueError(
                f"command must be a non-empty list of arguments, e.g. ['python3', 'main.py'], got "
                f"{self.command!r}; for shell syntax use ['sh', '-c', '...']"
            )


@dataclass(frozen=True)
class RunResult:
    """What happened to one run.

    ``exit_code`` is the program's exit status, or None when it did not exit on its own (killed by a
    signal, see ``signal``) or never started (see ``error``). ``error`` is set only for failures of the
    sandbox itself (bad file name, backend unavailable), never for a failing program. ``violation``
    says how a run broke the sandbox's rules or damaged it (stopped or killed its helper, was
    killed by the memory cgroup): the run failed, by its own doing, and the sandbox recovered.
    """

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration: float
    truncated: bool
    killed: bool
    backend: str
    error: str | None = None
    #: The signal that ended the program, if any (9 = SIGKILL, e.g. on timeout or out-of-memory).
    signal: int | None = None
    #: CPU seconds (user + system) the program used, where the backend can measure it.
    cpu_time: float | None = None
    #: Set when the run broke a rule of the sandbox or damaged it (see the class doc); never with ``error``.
    violation: str | None = None

    @property
    def ok(self) -> bool:
        """True when the program ran to completion and exited 0."""
        return self.exit_code == 0 and self.error is None and not self.timed_out and self.violation is None

    @classmethod
    def failure(cls, backend: str, error: str, duration: float = 0.0) -> "RunResult":
        return cls(None, "", "", False, duration, False, False, backend, error=error)
