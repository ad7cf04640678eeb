"""The code rewards: ``code.unit_tests`` (run the row's tests) and ``code.syntax`` (cheap check)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from rewardkit import RewardParamsError, Sample, Score, reward
from rewardkit_sandbox import Limits, RunRequest, SandboxError, resolve_backend
from rewardkit_sandbox.remote import parse_urls

from .execute import Job, Outcome, RunSettings, build_job, judge
from .extract import CHOICES, extract_code
from .languages import LANGUAGES, Language, get_language, language_from_tag
from .program import assemble
from .sandbox_pool import shared_sandbox
from .suites import TestFormatError, TestSuite, suite_from_sample

MODES = ("fraction", "binary")


def _check_params(language: str, mode: str | None, code_block: str, numbers: dict[str, float]) -> None:
    if language != "auto" and language_from_tag(language) is None:
        raise RewardParamsError(f"language must be 'auto' or one of {sorted(LANGUAGES)}, not {language!r}")
    if mode is not None and mode not in MODES:
        raise RewardParamsError(f"mode must be one of {MODES}, not {mode!r}")
    if code_block not in CHOICES:
        raise RewardParamsError(f"code_block must be one of {CHOICES}, not {code_block!r}")
    for name, value in numbers.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise RewardParamsError(f"{name} must be a positive number, not {value!r}")


@dataclass
class _Prepared:
    """A sample ready to run, or its final score when there is nothing to run."""

    score: Score | None = None
    job: Job | None = None
    language: str = ""
    suite: TestSuite | None = None


def _choose_language(sample: Sample, wanted: str, fence_language: str | None, suite_language: str | None) -> Language:
    if wanted != "auto":
        return get_language(wanted)
    row = sample.column("language")
    for candidate in (row if isinstance(row, str) else None, suite_language, fence_language):
        name = language_from_tag(candidate)
        if name:
            return LANGUAGES[name]
    return LANGUAGES["python"]


def code_prompt(sample: Sample, entry_point: str | None) -> str | None:
    """The code a body-only completion continues (HumanEval's prompt): a text prompt as is, or the
    fenced block defining ``entry_point`` in a prompt that wraps it in prose or chat messages."""
    text = sample.prompt_text
    if entry_point and "```" in text:
        block = extract_code(text, None, "last", defines=entry_point)
        if block.fenced and entry_point in block.code:
            return block.code
    return sample.prompt if isinstance(sample.prompt, str) else None


def _prepare(sample: Sample, language: str, code_block: str, settings: RunSettings) -> _Prepared:
    wanted = None if language == "auto" else language_from_tag(language)
    row_lang = language_from_tag(sample.column("language")) if isinstance(sample.column("language"), str) else None
    extracted = extract_code(sample.completion_text, wanted or row_lang, code_block)  # type: ignore[arg-type]
    try:
        probe = suite_from_sample(sample, wanted or row_lang or extracted.language)
    except TestFormatError as exc:
        return _Prepared(Score.failed(f"cannot read the row's tests: {exc}"))
    if probe is None:
        return _Prepared(Score.not_applicable(
            "the row has no tests (expected HumanEval 'test', MBPP 'test_list', 'inputs'/'outputs' or "
            "APPS 'input_output' columns)"))
    if extracted.blocks > 1 and (probe.entry_point or probe.fn_name):
        extracted = extract_code(sample.completion_text, wanted or row_lang, code_block,  # type: ignore[arg-type]
                                 defines=probe.entry_point or probe.fn_name)
    lang = _choose_language(sample, language, extracted.language, probe.language)
    if not len(probe):
        return _Prepared(Score.not_applicable("the row's test list is empty"))
    if not extracted.code.strip():
        return _Prepared(Score(0.0, reason="no code in the completion", details={"passed": 0, "total": len(probe)}))
    if probe.kind == "call" and lang.name != "python":
        # the model answered a Python function task in another language: wrong, not an error
        return _Prepared(Score(0.0, reason=f"call-based tests ({probe.fn_name!r}) need a Python program, "
                                           f"got {lang.name}", details={"passed": 0, "total": len(probe)}))
    prompt = code_prompt(sample, probe.entry_point)
    program = assemble(extracted.code, probe, lang.name, prompt)
    # The prompt's own helpers (HumanEval's `poly`, `encode_cyclic`) are trusted: the tests use the
    # prompt's, never the completion's redefinitions.
    prelude = prompt if probe.entry_point and prompt and probe.entry_point in prompt else None
    return _Prepared(job=build_job(program, probe, lang, settings, prelude), language=lang.name, suite=probe)


def _score(outcome: Outcome, prepared: _Prepared, mode: str, details_limit: int) -> Score:
    suite = prepared.suite
    assert suite is not None
    total = len(outcome.results)
    passed = outcome.passed
    value = float(passed == total) if mode == "binary" else passed / total
    details: dict[str, Any] = {
        "passed": passed, "total": total, "format": suite.source, "kind": suite.kind,
        "language": prepared.language, "backend": outcome.backend, "seconds": round(outcome.duration, 3),
    }
    failures = [r for r in outcome.results if not r.passed and r.status != "not_run"]
    if failures:
        details["failures"] = [{"test": r.index, "status": r.status, "error": r.error[-300:]}
                               for r in failures[:details_limit]]
    if outcome.stopped:
        details["stopped"] = outcome.stopped
    details.update(outcome.extra)
    if outcome.compile_error is not None:
        details["compile_error"] = outcome.compile_error
        return Score(0.0, reason="does not compile", details=details)
    if outcome.stopped and outcome.stopped.startswith("sandbox:"):
        return Score.failed(f"the sandbox could not run the tests: {outcome.stopped[8:].strip()}")
    return Score(value, reason=f"{passed}/{total} tests passed", details=details)


def _check_backend(backend: str, sandbox_url: str = "") -> None:
    """The sandbox backend must exist and, for ``auto``, one that isolates untrusted code must be
    usable here: a recipe fails at validation, not with every sample scoring None."""
    if sandbox_url and backend != "remote":
        raise RewardParamsError(f"sandbox_url is for backend 'remote' (a sandbox service fleet), "
                                f"not {backend!r}")
    try:
        if sandbox_url:
            parse_urls(sandbox_url)
        else:
            resolve_backend(backend)
    except SandboxError as exc:
        raise RewardParamsError(str(exc)) from None


def _validate_unit_tests(*, backend: str, language: str, mode: str, code_block: str, per_test_timeout: float,
                         total_timeout: float, memory_mb: int, compile_timeout: float, workers: int,
                         sandbox_url: str = "", **_: object) -> None:
    _check_params(language, mode, code_block, {"per_test_timeout": per_test_timeout,
                                                "total_timeout": total_timeout, "memory_mb": memory_mb,
                                                "compile_timeout": compile_timeout})
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 0:
        raise RewardParamsError(f"workers must be 0 (one per CPU) or a positive integer, not {workers!r}")
    _check_backend(backend, sandbox_url)


@reward("code.unit_tests", mode="batch", domains=("code",), validate=_validate_unit_tests)
def unit_tests(
    samples: Sequence[Sample],
    *,
    backend: str = "auto",
    language: str = "auto",
    mode: str = "fraction",
    per_test_timeout: float = 6.0,
    total_timeout: float = 60.0,
    early_exit: bool = False,
    memory_mb: int = 1024,
    compile_timeout: float = 30.0,
    workers: int = 0,
    code_block: str = "last",
    details_limit: int = 5,
    sandbox_url: str = "",
) -> list[Score]:
    """Fraction (or all) of the row's unit tests the completion's code passes, run in a sandbox.

    Reads HumanEval (test, entry_point), MBPP (test_list, test_imports, test_setup_code),
    stdin/stdout (inputs, outputs), call-based (fn_name + inputs/outputs, APPS/TACO input_output)
    and open-r1 verification_info rows. ``per_test_timeout`` is CPU seconds per test (wall time
    allowed: twice that plus 1 s); ``total_timeout`` bounds all tests of a sample; ``early_exit``
    stops at the first failure (the rest count as failed; implied by ``mode="binary"``).
    ``backend="remote"`` runs on sandbox services at ``sandbox_url`` (comma-separated fleet, else
    ``$REWARDKIT_SANDBOX_URL``; token in ``$REWARDKIT_SANDBOX_TOKEN``).
    """
    _check_params(language, mode, code_block, {"per_test_timeout": per_test_timeout,
                                                "total_timeout": total_timeout, "memory_mb": memory_mb,
                                                "compile_timeout": compile_timeout})
    if not isinstance(workers, int) or workers < 0:
        raise RewardParamsError(f"workers must be 0 (one per CPU) or a positive integer, not {workers!r}")
    settings = RunSettings(float(per_test_timeout), float(total_timeout), bool(early_exit) or mode == "binary",
                           int(memory_mb), float(compile_timeout))
    prepared = [_prepare(s, language, code_block, settings) for s in samples]
    todo = [p for p in prepared if p.job is not None]
    if todo:
        try:
            sandbox = shared_sandbox(backend, workers, sandbox_url)
        except (SandboxError, ValueError) as exc:
            error = f"sandbox backend {backend!r} is unavailable: {exc}"
            return [p.score if p.job is None else Score.failed(error) for p in prepared]  # type: ignore[misc]
        results = sandbox.run_many([p.job.request for p in todo])  # type: ignore[union-attr]
        for p, result in zip(todo, results):
            p.score = _score(judge(p.job, result), p, mode, details_limit)  # type: ignore[arg-type]
    return [p.score for p in prepared]  # type: ignore[misc]


def _validate_syntax(*, language: str, code_block: str, backend: str, sandbox_url: str = "",
                     **_: object) -> None:
    _check_params(language, None, code_block, {})
    _check_backend(backend, sandbox_url)


@reward("code.syntax", domains=("code",), validate=_validate_syntax)
def syntax(sample: Sample, *, language: str = "auto", code_block: str = "last", backend: str = "auto",
           sandbox_url: str = "") -> Score:
    """1.0 when the completion's code parses (Python) or compiles (C/C++, ``-fsyntax-only``), else 0.0.

    Python is parsed in-process with ``compile()`` (which runs nothing); C/C++ go through the
    compiler in the sandbox. HumanEval bodies are checked together with the prompt.
    """
    _check_params(language, None, code_block, {})
    wanted = None if language == "auto" else language_from_tag(language)
    extracted = extract_code(sample.completion_text, wanted, code_block)  # type: ignore[arg-type]
    if not extracted.code.strip():
        return Score(0.0, reason="no code in the completion")
    try:
        suite = suite_from_sample(sample, wanted or extracted.language)
    except TestFormatError:
        suite = None
    lang = _choose_language(sample, language, extracted.language, suite.language if suite else None)
    code = extracted.code
    if suite is not None and suite.kind != "program":
        code = assemble(code, suite, lang.name, code_prompt(sample, suite.entry_point))
    if lang.name == "python":
        try:
            compile(code, "<completion>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
            return Score(0.0, reason="syntax error", details={"error": f"{type(exc).__name__}: {exc}"[:300]})
        return Score(1.0, reason="parses", details={"language": "python"})
    try:
        sandbox = shared_sandbox(backend, 0, sandbox_url)
    except (SandboxError, ValueError) as exc:
        return Score.failed(f"sandbox backend {backend!r} is unavailable: {exc}")
    compiler = lang.compile[0]
    std = next(a for a in lang.compile if a.startswith("-std="))
    result = sandbox.run_request(RunRequest(
        command=[compiler, std, "-fsyntax-only", lang.source], files={lang.source: code},
        limits=Limits(cpu_seconds=30, wall_seconds=60, memory_mb=2048)))
    if result.error:
        return Score.failed(f"the sandbox could not run {compiler}: {result.error}")
    if result.timed_out:
        return Score.failed(f"{compiler} -fsyntax-only timed out", timed_out=True)
    if result.exit_code == 0:
        return Score(1.0, reason="compiles", details={"language": lang.name})
    return Score(0.0, reason="does not compile", details={"error": result.stderr[-500:], "language": lang.name})
