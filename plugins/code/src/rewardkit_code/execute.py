"""Running one sample's tests: build the sandbox request, read back and judge the results."""

from __future__ import annotations

import ast
import hashlib
import json
import marshal
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardkit_sandbox import Limits, RunRequest, RunResult

from .compare import (canon_tokens, canon_value, expected_values, output_is_tolerant, outputs_match,
                      value_is_tolerant, values_match)
from .languages import Language
from .suites import TestSuite

RUNNER_SOURCE = Path(__file__).with_name("runner.py").read_text(encoding="utf-8")
#: Seconds for the runner itself to start and report, on top of the tests' own budget.
_OVERHEAD_S = 5.0


@dataclass(frozen=True)
class RunSettings:
    """How to run one sample's tests (the reward's parameters, validated)."""

    per_test_timeout: float = 6.0
    total_timeout: float = 60.0
    early_exit: bool = False
    memory_mb: int = 1024
    compile_timeout: float = 30.0


@dataclass
class TestResult:
    index: int
    passed: bool
    status: str  # pass | fail | error | timeout | not_run
    error: str = ""
    time: float | None = None


@dataclass
class Outcome:
    """What happened to one sample's tests."""

    results: list[TestResult]
    compile_error: str | None = None
    stopped: str | None = None  # "early_exit" | "total_timeout" | "sandbox: ..." when tests did not all run
    backend: str = ""
    duration: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)


@dataclass(frozen=True)
class Job:
    request: RunRequest
    suite: TestSuite


def _output_cap(suite: TestSuite) -> int:
    if suite.kind == "stdio":
        longest = max((len(e.encode("utf-8", "replace")) for e in suite.expected), default=0)
        return 2 * longest + 1024
    if suite.kind == "call":
        longest = max((len(canon_value(e)) for e in suite.expected), default=0)
        return 2 * longest + 1024
    return 1024


def build_job(program: str, suite: TestSuite, language: Language, settings: RunSettings,
              prelude: str | None = None) -> Job:
    """The sandbox request that runs all of ``suite`` against ``program`` in one process tree.

    The job (tests, set-up, the trusted ``prelude`` from the prompt, early-exit hashes) travels on
    the runner's stdin, read by the judge only: no file in the work dir holds it.
    """
    salt = secrets.token_bytes(16)
    hashes: list[list[str]] | None = None
    tolerant: list[bool] | None = None
    if settings.early_exit and suite.kind in ("stdio", "call"):
        def digest(text: str) -> str:
            return hashlib.sha256(salt + text.encode("utf-8", "replace")).hexdigest()
        if suite.kind == "stdio":
            hashes = [[digest(canon_tokens(e))] for e in suite.expected]
            tolerant = [output_is_tolerant(e) for e in suite.expected]
        else:
            hashes = [[digest(canon_value(f)) for f in expected_values(e)] for e in suite.expected]
            tolerant = [value_is_tolerant(e) for e in suite.expected]
    cap = _output_cap(suite)
    compiled = bool(language.compile)
    spec = {
        "kind": suite.kind,
        "language": language.name,
        "source": language.source,
        "compile": list(language.compile) or None,
        "compile_timeout": settings.compile_timeout,
        "run": list(language.run) or None,
        "prelude": prelude if language.name == "python" and suite.kind == "assert" else None,
        "setup": suite.setup,
        "entry_point": suite.entry_point,
        "tests": list(suite.tests),
        "fn_name": suite.fn_name,
        "per_test": settings.per_test_timeout,
        # CPU time is the per-test limit (steady under load); wall time is only a backstop for
        # programs that sleep or block
        "per_test_wall": 2 * settings.per_test_timeout + 1,
        "total": settings.total_timeout,
        "early_exit": settings.early_exit,
        "output_cap": cap,
        "hashes": hashes,
        "tolerant": tolerant,
        "salt": salt,
    }
    wall = settings.total_timeout + (settings.compile_timeout if compiled else 0) + _OVERHEAD_S
    limits = Limits(
        cpu_seconds=max(settings.per_test_timeout, settings.compile_timeout if compiled else 0) + 1,
        wall_seconds=wall,
        memory_mb=settings.memory_mb,
        output_bytes=len(suite.tests) * (cap + 512) + 65536,
    )
    request = RunRequest(
        command=["python3", "runner.py"],
        files={"runner.py": RUNNER_SOURCE, language.source: program},
        # marshal: the runner reads it without importing json (version 4 reads on any Python 3)
        stdin=marshal.dumps(spec, 4),
        limits=limits,
    )
    return Job(request, suite)


def _records(stdout: str) -> list[dict[str, Any]]:
    """The judge's result lines (only the judge holds the runner's stdout)."""
    records = []
    for line in stdout.splitlines():
        try:
            record = ast.literal_eval(line)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def judge(job: Job, result: RunResult) -> Outcome:
    """Turn the runner's report into per-test verdicts (comparing outputs here, on the host)."""
    suite = job.suite
    n = len(suite.tests)
    outcome = Outcome([TestResult(i, False, "not_run") for i in range(n)], backend=result.backend,
                      duration=result.duration)
    if result.error:
        outcome.stopped = f"sandbox: {result.error}"
        return outcome
    if result.violation:
        outcome.extra["violation"] = result.violation
    for rec in _records(result.stdout):
        event = rec.get("event")
        if event == "compile":
            if not rec.get("ok"):
                outcome.compile_error = str(rec.get("error", ""))[-1500:] or "compilation failed"
            outcome.extra["compile_time"] = rec.get("time")
            continue
        if event in ("early_exit", "total_timeout"):
            outcome.stopped = event
            continue
        if event == "spawner_lost":
            outcome.stopped = "the program broke its test process spawner"
            outcome.extra["runner_error"] = str(rec.get("why", ""))[-300:]
            continue
        if event is not None:
            continue
        i = rec.get("i")
        if not isinstance(i, int) or not 0 <= i < n:
            continue
        status = str(rec.get("status"))
        error = str(rec.get("error") or "")
        # stdin/stdout and call-based tests pass only by the host's comparison, never on the
        # runner's word: a forged "pass" line cannot count there
        passed = status == "pass" and suite.kind in ("assert", "program")
        if status == "done" and suite.kind == "stdio":
            passed = outputs_match(str(rec.get("out", "")), suite.expected[i])
            if not passed:
                status, error = "fail", f"wrong output: got {_short(rec.get('out'))}, want {_short(suite.expected[i])}"
        elif status == "done" and suite.kind == "call":
            passed = values_match(rec.get("out"), suite.expected[i])
            if not passed:
                status, error = "fail", f"wrong result: got {_short(rec.get('out'))}, want {_short(suite.expected[i])}"
        elif status == "done":
            status = "error"
        if passed:
            status = "pass"
        elif status == "pass":
            status, error = "error", "a 'pass' verdict for a test judged on the host"
        outcome.results[i] = TestResult(i, passed, status, error, rec.get("time"))
    if outcome.stopped is None and any(r.status == "not_run" for r in outcome.results) and not outcome.compile_error:
        why = "timed out" if result.timed_out else f"exit code {result.exit_code}, signal {result.signal}"
        outcome.stopped = f"the runner stopped early ({why})"
        if result.stderr.strip():
            outcome.extra["runner_stderr"] = result.stderr.strip()[-500:]
    return outcome


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    text = text.strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")
