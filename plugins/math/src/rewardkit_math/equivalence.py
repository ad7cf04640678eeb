"""Answer equivalence with math-verify and sympy: the part that runs inside worker processes.

math-verify's own timeouts use ``signal.alarm`` and only work on a main thread, so they are switched
off here (``parsing_timeout=None``, ``timeout_seconds=None``); the deadline is enforced by the parent,
which kills the worker process (see :mod:`rewardkit_math.checker`).

Gold answers are parsed *inside math delimiters*: math-verify reads a bare ``2\\sqrt{2}`` as ``2`` and
a bare ``(1,\\frac{9}{2})`` as ``9/2`` (it falls back to the last plain expression it can find).
"""

from __future__ import annotations

import logging
import math
import re
import signal
import threading
import time
from functools import lru_cache
from typing import Any

from . import guards

# math-verify logs a warning on every call made with its timeouts disabled; we do that on purpose.
logging.getLogger("math_verify").setLevel(logging.ERROR)

_CONFIG: Any = None


#: The ANTLR runtime math-verify's LaTeX grammar was generated for (its ``antlr4_13_2`` extra).
ANTLR_SERIES = "4.13."


def antlr_problem(installed: str | None) -> str | None:
    """Why LaTeX answers would be misread with ANTLR runtime ``installed`` (None: not installed), or None.

    omegaconf and hydra (verl's, NeMo's) pin 4.9.3; with it math-verify's LaTeX parser silently loses
    answers such as ``25\\%`` = 0.25, so verdicts get worse than math-verify's own without any error.
    """
    if installed is not None and installed.startswith(ANTLR_SERIES):
        return None
    what = "is not installed" if installed is None else f"{installed} is installed"
    return (f"antlr4-python3-runtime {what}, but math-verify's LaTeX parser needs {ANTLR_SERIES}x: LaTeX "
            "answers (e.g. 25\\%) may be misread and right answers scored 0. Fix: "
            "pip install 'antlr4-python3-runtime==4.13.2' (omegaconf/hydra pin 4.9.3 but run with 4.13.2)")


def _warn_on_wrong_antlr() -> None:
    import warnings
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed: str | None = version("antlr4-python3-runtime")
    except PackageNotFoundError:
        installed = None
    problem = antlr_problem(installed)
    if problem:
        logging.getLogger("rewardkit_math").warning(problem)
        warnings.warn(problem, RuntimeWarning, stacklevel=3)


def _config() -> Any:
    global _CONFIG
    if _CONFIG is None:
        _warn_on_wrong_antlr()
        from math_verify import ExprExtractionConfig, LatexExtractionConfig

        # Inside "$...$" the whole string is one LaTeX expression; the plain-expression config reads
        # answers like "3*x+1" or "10**2" that are not LaTeX.
        _CONFIG = [LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig()]
    return _CONFIG


_CURRENCY = re.compile(r"\\\$|\\!")
_DELIMITED = re.compile(r"(?<!\\)\$|\\\(|\\\[")


def _wrap(text: str) -> str:
    # An escaped dollar is a currency sign, not a math delimiter: drop it (and \! thin negative spaces).
    text = _CURRENCY.sub("", text)
    return text if _DELIMITED.search(text) else f"${text}$"


@lru_cache(maxsize=4096)
def parse_expression(text: str) -> tuple[Any, ...]:
    """math-verify's parse of one answer (gold or predicted) written with or without ``$``.

    Cached per process: a GRPO group's gold is parsed once per worker, not once per completion.
    """
    from math_verify import parse

    return tuple(parse(_wrap(text), extraction_config=_config(), parsing_timeout=None))


#: Two constants whose values differ by more than this (relative) cannot be equal under math-verify,
#: which compares constants exactly or, with a decimal involved, rounded to 6 places.
_DISTINCT = 1e-4


def clearly_different(gold: Any, answer: Any) -> bool:
    """True when math-verify would surely say "not equal", after trying the simplifications that make
    a wrong answer's check slow: two plain constants (no symbols, relations, matrices or percentages)
    with clearly different values, or one constant against a tuple, set or interval of several."""
    from sympy import Expr, FiniteSet, Interval, Tuple, Union, UnevaluatedExpr

    def constant(e: Any) -> bool:
        return isinstance(e, Expr) and not e.free_symbols and not e.has(UnevaluatedExpr)

    def several(e: Any) -> bool:
        # Two or more distinct constant elements, or a proper interval: never equal to one number.
        if isinstance(e, (Tuple, FiniteSet)):
            return len(e.args) >= 2 and all(constant(x) for x in e.args) and len(set(e.args)) >= 2
        if isinstance(e, Interval):
            return constant(e.start) and constant(e.end) and bool(e.start != e.end) and not e.free_symbols
        return isinstance(e, Union) and not e.free_symbols

    if (constant(gold) and several(answer)) or (several(gold) and constant(answer)):
        return True
    if not (constant(gold) and constant(answer)):
        return False
    try:
        g, a = complex(gold.evalf(30)), complex(answer.evalf(30))
    except (TypeError, ValueError, OverflowError):
        return False
    if any(map(math.isnan, (g.real, g.imag, a.real, a.imag))) or math.isinf(abs(g)) or math.isinf(abs(a)):
        return False
    return abs(g - a) > _DISTINCT * max(1.0, abs(g), abs(a))


#: The end of a completion that math-verify's own extraction reads (its regexes are slow on megabytes).
WHOLE_TEXT_CHARS = 50_000


def parse_completion(text: str) -> tuple[Any, ...]:
    """math-verify's own reading of a whole completion, library defaults (its priorities: the
    "final answer is" sentence, boxes, "answer" cues, then the last LaTeX span or plain expression)."""
    from math_verify import parse

    return tuple(parse(text[-WHOLE_TEXT_CHARS:], parsing_timeout=None))


def check(gold: str, answer: str, fast: bool = True, whole: bool = False,
          fallback: str | None = None) -> dict[str, Any]:
    """Compare one answer with one gold answer. Returns a JSON-able verdict.

    ``{"equal": bool | None, "gold_parsed": str, "answer_parsed": str}``; ``equal`` is None when the
    gold cannot be parsed (the sample is not scorable), False when the answer cannot. ``fast``
    allows :func:`clearly_different` to skip math-verify's simplification of two distinct constants.
    ``whole``: ``answer`` is a whole completion, read by math-verify's own extraction (then
    ``fallback``, the extractors' next pick, when it finds nothing); the verdict adds ``extracted``.
    """
    from math_verify import verify

    gold_parsed = parse_expression(gold)
    if not gold_parsed or isinstance(gold_parsed[0], str):
        # Only the raw string came back: math-verify could not read it, and a string-only comparison
        # would grade every answer 0 against a broken gold. Not scorable instead.
        return {"equal": None, "gold_parsed": None, "answer_parsed": None}
    extra: dict[str, Any] = {}
    if whole:
        answer_parsed = parse_completion(answer)
        if answer_parsed:
            # what math-verify read (its raw string may belong to an earlier match that did not parse)
            extra = {"extracted": str(answer_parsed[0])}
        elif fallback:
            answer_parsed, extra = parse_expression(fallback), {"extracted": fallback, "fallback": True}
        why = guards.unsafe_reason(extra["extracted"]) if extra else None
        if why is not None:  # same pre-check as for the extractors' answers
            return {"equal": False, "by": "guard", "rejected": why, "gold_parsed": str(gold_parsed[0]),
                    "answer_parsed": None, **extra}
    else:
        answer_parsed = parse_expression(answer)
    out = {"gold_parsed": str(gold_parsed[0]),
           "answer_parsed": str(answer_parsed[0]) if answer_parsed else None, **extra}
    if all(isinstance(x, str) for x in answer_parsed):
        out["unparsed"] = True  # no sympy object, at most math-verify's raw string
    if not answer_parsed:
        return {"equal": False, **out}
    if fast and gold_parsed[-1] != answer_parsed[-1] and clearly_different(gold_parsed[0], answer_parsed[0]):
        return {"equal": False, "by": "numeric", **out}
    equal = verify(list(gold_parsed), list(answer_parsed), timeout_seconds=None)
    return {"equal": bool(equal), **out}


class Alarm(BaseException):
    """Raised by SIGALRM. A BaseException, because sympy and math-verify swallow ``Exception``."""


_armed = False


def _on_alarm(signum: int, frame: Any) -> None:
    if _armed:  # an alarm that lands after the check finished is ignored
        raise Alarm()


#: (verdict dict or None, error or None, timed out)
Result = tuple["dict[str, Any] | None", "str | None", bool]


def check_with_alarm(gold: str, answer: str, timeout: float, fast: bool = True, whole: bool = False,
                     fallback: str | None = None) -> Result:
    """:func:`check` under a SIGALRM deadline when on a main thread (a worker process, or the caller's
    main thread); elsewhere without one. Never raises."""
    global _armed
    on_main = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    previous, pending, start = None, (0.0, 0.0), time.monotonic()
    try:
        if on_main:
            # Someone else's alarm (pytest-timeout, a trainer's watchdog) is put back afterwards.
            pending = signal.getitimer(signal.ITIMER_REAL)
            previous = signal.signal(signal.SIGALRM, _on_alarm)
            _armed = True
            # Re-fire every 50 ms past the deadline in case one alarm lands in code that eats it.
            signal.setitimer(signal.ITIMER_REAL, timeout, 0.05)
        return check(gold, answer, fast, whole, fallback), None, False
    except Alarm:
        return None, f"TimeoutError: check exceeded its {timeout:g}s deadline", True
    except Exception as exc:  # noqa: BLE001 - sympy raises anything on odd input
        return None, f"{type(exc).__name__}: {exc}", False
    finally:
        if on_main:
            _armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if pending[0] > 0:
                signal.setitimer(signal.ITIMER_REAL, max(0.001, pending[0] - (time.monotonic() - start)), pending[1])


def check_group(gold: str, answers: list[tuple[str, bool, "str | None"]], timeout: float,
                fast: bool = True) -> list[Result]:
    """All distinct ``(answer, whole, fallback)`` to one gold in one call: the gold is parsed exactly
    once, and each answer gets its own ``timeout`` (SIGALRM: worker processes run calls on their main
    thread). The parent still kills the whole call if it overruns a backstop deadline (C code hangs)."""
    return [check_with_alarm(gold, answer, timeout, fast, whole, fallback)
            for answer, whole, fallback in answers]


def _address_space_mb() -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def start_worker(memory_limit_mb: int | None) -> None:
    """Worker initializer: import math-verify, then cap the address space at what the worker already
    uses plus ``memory_limit_mb``. Relative, because a worker re-imports the caller's main module
    first (forkserver), and a training script's torch alone maps more than a fixed 1 GB cap."""
    parse_expression("1")
    if memory_limit_mb:
        import resource

        base = _address_space_mb() or 0.0
        limit = int((base + memory_limit_mb) * 1024 * 1024)
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def warm_up() -> None:
    """Import math-verify, sympy and the LaTeX parser now, so no call pays for it under its deadline."""
    for gold, answer in _WARM_UP:
        check(gold, answer)
    check("5", "We get \\[ x = 5 \\]", whole=True)


# One of each kind of comparison, so the lazy imports and caches of sympy are filled before a worker
# gets its first deadline.
_WARM_UP = [
    ("\\frac{1}{2}", "0.5"),
    ("2\\sqrt{2}", "\\sqrt{8}"),
    ("(1,\\frac{9}{2})", "(1, 4.5)"),
    ("[-2, 7]", "x \\in [-2,7]"),
    ("x^2 + 2x + 1", "(x+1)^2"),
    ("\\text{Evelyn}", "Evelyn"),
    ("90^\\circ", "\\frac{\\pi}{2}"),
    ("6 - 5i", "6-5i"),
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ 3 \\end{pmatrix}"),
    ("3, 5, 7", "\\{3,5,7\\}"),
    ("y = 2x + 3", "2x+3"),
    ("50\\%", "0.5"),
]


def plain_math_verify(pairs: list[tuple[str, str]], choices: str | None = None) -> list[bool]:
    """The yardstick for audits and benchmarks: math-verify alone, library defaults, one verdict per
    (gold, completion): ``verify(parse(f"${gold}$"), parse(completion))``. With ``choices`` (e.g.
    ``"ABCDE"``) both sides are read by its string extraction of those letters instead."""
    from math_verify import StringExtractionConfig, parse, verify

    config = [StringExtractionConfig(strings=tuple(choices))] if choices else None
    out = []
    for gold, completion in pairs:
        if config:
            out.append(bool(verify(parse(gold, config), parse(completion, config))))
        else:
            out.append(bool(verify(parse(f"${gold}$"), parse(completion))))
    return out
