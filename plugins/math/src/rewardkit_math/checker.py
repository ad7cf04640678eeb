"""Check many (gold, answer) pairs fast and safely: dedupe, fast paths, then a supervised worker pool.

The GRPO shape is G completions sharing one gold answer, many of them identical. So:

1. identical (gold, answer) pairs are checked once;
2. pairs decided without sympy are decided in this process: normalised string equality, plain
   numbers compared exactly, and answers rejected by :mod:`rewardkit_math.guards`;
3. the rest go to worker processes (``rewardkit.executors.ProcessExecutor``), one call per gold:
   the gold is parsed once, each answer runs under its own SIGALRM deadline inside the worker, and
   the parent kills and replaces a worker whose call overruns a backstop deadline (a hang in C
   code), then retries that call's pairs one by one. Workers have an address-space cap.

The caller never needs a signal handler, so this works from any thread and inside Ray tasks. Inside
the engine's own worker processes (daemonic: they cannot fork) checks run inline, with a SIGALRM
deadline on that worker's main thread.
"""

from __future__ import annotations

import atexit
import functools
import multiprocessing
import os
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

from rewardkit import RewardParamsError

from . import equivalence, guards
from .numbers import canonical, to_number

EXECUTORS = ("auto", "process", "ray", "inline")


@dataclass
class Verdict:
    """The outcome of one (gold, answer) check."""

    equal: bool | None  # None: not decided (unscorable gold, timeout, crash)
    how: str  # "string", "number", "sympy", "guard", "timeout", "error", "unscorable-gold", "no-answer"
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    timed_out: bool = False


@dataclass(frozen=True)
class Answer:
    """An answer with more to it than one string (plain strings are one extracted expression).

    ``whole=True``: ``text`` is a whole completion for math-verify's own extraction (in a worker,
    under the deadline); ``fallback`` (an answer string, e.g. the last number) is checked instead
    when math-verify finds nothing in it. ``whole=False``: ``text`` is the formula math-verify would
    try first in ``completion``; when it does not parse, ``completion`` is read whole instead (as
    math-verify moves on to the formula before it). Only ``text`` and ``whole`` tell answers apart:
    equal formulas from different completions are checked once.
    """

    text: str
    whole: bool = True
    fallback: str | None = field(default=None, compare=False)
    completion: str | None = field(default=None, compare=False)


# -- counters: unscorable golds, timeouts and guard rejections are counted, not hidden ------------
_STATS: Counter[str] = Counter()
_STATS_LOCK = threading.Lock()


def _count(key: str, n: int = 1) -> None:
    with _STATS_LOCK:
        _STATS[key] += n


def stats() -> dict[str, int]:
    """Counts since start (or the last :func:`reset_stats`): distinct checks by how they were decided
    (``check:string``, ``check:number``, ``check:guard``, ``check:sympy``, ``check:timeout``,
    ``check:error``) and samples whose gold could not be scored (``unscorable_gold``). Log them beside
    training metrics: a rising ``unscorable_gold`` means the data, not the model, is wrong."""
    with _STATS_LOCK:
        return dict(_STATS)


def reset_stats() -> None:
    with _STATS_LOCK:
        _STATS.clear()


# -- fast paths ------------------------------------------------------------------------------------
_COMMA_SPACE = re.compile(r",(?:\s|\\[,;: ])+")
_NOISE = re.compile(r"\\left|\\right|\\displaystyle|\\[!,;: ]|\s|\$|\\\(|\\\)|\\\[|\\\]|\.$")


def normalise(s: str) -> str:
    """A spelling-insensitive form for the string fast path (never makes different answers equal)."""
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    # "58, 500" may be a list and "58,500" a number: a space after a comma is kept as a difference.
    s = _NOISE.sub("", _COMMA_SPACE.sub("\x00", s))
    return s.rstrip(".").replace("\x00", ", ")


_ASSIGNMENT = re.compile(r"^\s*[a-zA-Z]\s*=\s*([^=<>]+)$")
#: Two decimals this far apart stay different after math-verify rounds them to 6 places.
_FLOAT_GAP = 1e-5


def fast_verdict(gold: str, answer: str) -> Verdict | None:
    """Decide without sympy when the verdict is certain (and what math-verify would say); None when
    the full check is needed."""
    if normalise(gold) == normalise(answer):
        return Verdict(True, "string")
    if "=" not in gold:
        m = _ASSIGNMENT.match(answer)
        if m:  # "x = 5" against gold "5": math-verify compares the right-hand side too
            answer = m.group(1)
            if normalise(gold) == normalise(answer):
                return Verdict(True, "string")
    g, a = to_number(gold), to_number(answer)
    if g is not None and a is not None:
        if g == a:
            return Verdict(True, "number")
        # math-verify compares exact values unless a decimal is involved, then rounds to 6 places
        has_decimal = "." in gold or "." in answer
        if not has_decimal or abs(g - a) > _FLOAT_GAP:
            return Verdict(False, "number")
    return None


def _worker_answer(answer: str | Answer) -> WorkerAnswer:
    """(text, whole, fallback) as :func:`equivalence.check_group` takes them."""
    if isinstance(answer, Answer) and answer.whole:
        return answer.text, True, answer.fallback and _for_sympy(answer.fallback)
    return _for_sympy(answer if isinstance(answer, str) else answer.text), False, None


def _for_sympy(text: str) -> str:
    """Rewrite numbers with thousands separators so math-verify cannot read them as a set
    (it parses "11,\\! 111,\\! 100" as {11, 100, 111})."""
    value = to_number(text) if "," in text else None
    return canonical(value) if value is not None else text


# -- executors -------------------------------------------------------------------------------------
_POOLS: dict[tuple[Any, ...], Any] = {}
_POOLS_LOCK = threading.Lock()


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _preload_forkserver() -> None:
    # Forked workers then start with sympy and the LaTeX parser already imported (~1 s saved per
    # restart after a killed call). Has no effect if a forkserver already runs; the warm-up then pays.
    try:
        from multiprocessing import forkserver

        forkserver.set_forkserver_preload(["rewardkit_math._preload"])
    except Exception:  # noqa: BLE001 - an optimisation only
        pass


def get_executor(kind: str, workers: int, memory_limit_mb: int | None) -> Any:
    """The shared executor for these settings, started (and warmed up) on first use."""
    key = (kind, workers, memory_limit_mb, os.getpid())
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            from rewardkit.executors import ProcessExecutor, RayExecutor

            if kind == "ray":
                pool = RayExecutor(workers)
            else:
                _preload_forkserver()
                # The memory cap is set by our initializer, relative to the worker's own footprint.
                pool = ProcessExecutor(workers, initializer=functools.partial(equivalence.start_worker, memory_limit_mb))
                # Start every worker now, without a deadline, so no real check pays for the imports.
                pool.run_calls([(equivalence.warm_up, (), {})] * workers, timeout=None)
            _POOLS[key] = pool
        return pool


@atexit.register
def close_executors() -> None:
    """Stop the worker processes (also done at interpreter exit)."""
    with _POOLS_LOCK:
        for pool in _POOLS.values():
            pool.close()
        _POOLS.clear()


def resolve_executor(executor: str) -> str:
    if executor not in EXECUTORS:
        raise RewardParamsError(f"executor must be one of {', '.join(EXECUTORS)}, not {executor!r}")
    if executor == "auto":
        # Daemonic processes (the engine's own process workers) may not start children.
        return "inline" if multiprocessing.current_process().daemon else "process"
    return executor


@dataclass(frozen=True)
class CheckerConfig:
    """How :func:`check_pairs` runs the checks (the ``math.accuracy`` params of the same names)."""

    timeout: float = 5.0
    executor: str = "auto"
    workers: int = 0
    memory_limit_mb: int | None = 1024
    max_answer_chars: int = guards.MAX_ANSWER_CHARS
    #: False sends every distinct pair to math-verify (auditing the fast paths); guards still apply.
    fast_path: bool = True


#: What the workers get for one answer: (text, whole completion?, fallback answer).
WorkerAnswer = tuple[str, bool, "str | None"]


def check_pairs(pairs: Sequence[tuple[str, "str | Answer"]],
                config: CheckerConfig = CheckerConfig()) -> list[Verdict]:
    """Verdicts for (gold, answer) pairs, in order; an answer is a string (one expression) or an
    :class:`Answer` (a whole completion for math-verify to read). Never raises for bad input. Each
    distinct sympy check is cut off after ``config.timeout`` seconds inside its worker; a worker stuck
    in C code is killed ``_BACKSTOP_GRACE`` seconds later."""
    if config.timeout <= 0:
        raise RewardParamsError(f"timeout must be a positive number of seconds, not {config.timeout!r}")
    unique: dict[tuple[str, str | Answer], Verdict | None] = dict.fromkeys(pairs)
    slow: list[tuple[str, str | Answer]] = []
    for gold, answer in unique:
        verdict = None
        # A whole completion has no fast path: math-verify must read it first.
        text = answer if isinstance(answer, str) else None if answer.whole else answer.text
        if text is not None:
            verdict = fast_verdict(gold, text) if config.fast_path else None
            if verdict is None:
                why = guards.unsafe_reason(text, max_chars=config.max_answer_chars)
                if why is not None:
                    verdict = Verdict(False, "guard", {"rejected": why})
        if verdict is None:
            slow.append((gold, answer))
        else:
            unique[(gold, answer)] = verdict
            _count(f"check:{verdict.how}")
    if slow:
        for pair, verdict in zip(slow, _run_slow(slow, config)):
            unique[pair] = verdict
            _count(f"check:{verdict.how}")
    verdicts: list[Verdict] = [unique[p] for p in pairs]  # type: ignore[misc]
    # A formula that did not parse: math-verify would go on to read the rest of its completion.
    redo: list[tuple[int, str, Answer]] = [
        (k, gold, Answer(answer.completion, fallback=answer.fallback)) for k, (gold, answer) in enumerate(pairs)
        if isinstance(answer, Answer) and answer.completion and verdicts[k].details.get("unparsed")]
    if redo:
        for (k, _, _), verdict in zip(redo, check_pairs([(gold, whole) for _, gold, whole in redo], config)):
            verdicts[k] = verdict
    return verdicts


#: Per-answer allowance in a group call's backstop deadline (legit checks take milliseconds).
_GROUP_ALLOWANCE = 0.25
#: Seconds past the per-check deadline before the parent kills a worker (see _run_pool).
_BACKSTOP_GRACE = 2.0


def _run_slow(slow: list[tuple[str, str | Answer]], config: CheckerConfig) -> list[Verdict]:
    kind = resolve_executor(config.executor)
    args = [(_for_sympy(g), _worker_answer(a)) for g, a in slow]
    if kind == "inline":
        raw = [equivalence.check_with_alarm(g, text, config.timeout, config.fast_path, whole, fallback)
               for g, (text, whole, fallback) in args]
    else:
        raw = _run_pool(kind, args, config)
    verdicts = []
    for value, error, timed_out in raw:
        if timed_out:
            verdicts.append(Verdict(None, "timeout", error=error, timed_out=True))
        elif error is not None or value is None:
            verdicts.append(Verdict(None, "error", error=error or "no result"))
        elif value["equal"] is None:
            verdicts.append(Verdict(None, "unscorable-gold", value))
        elif value.get("by") == "guard":
            verdicts.append(Verdict(False, "guard", value))
        else:
            verdicts.append(Verdict(value["equal"], "sympy", value))
    return verdicts


def _run_pool(kind: str, args: list[tuple[str, WorkerAnswer]], config: CheckerConfig) -> list[equivalence.Result]:
    """One call per gold (parsed once, each answer under its own in-worker deadline); a call the
    parent had to kill (a hang in C code) is retried pair by pair under the plain deadline."""
    workers = config.workers or default_workers()
    pool = get_executor(kind, workers, config.memory_limit_mb)
    groups: dict[str, list[int]] = {}
    for i, (gold, _) in enumerate(args):
        groups.setdefault(gold, []).append(i)
    # Biggest groups first, so no long call starts last while the other workers sit idle.
    members = sorted(groups.values(), key=len, reverse=True)
    # The per-answer deadline is enforced in the worker (SIGALRM). The parent's kill is the backstop
    # for hangs in C code; its grace also covers a restarted worker's imports, which run before the
    # worker's own clock starts.
    largest = max(len(m) for m in members)
    backstop = config.timeout + _BACKSTOP_GRACE
    if largest > 1:  # room for one answer that runs into its deadline, plus the others
        backstop += config.timeout + _GROUP_ALLOWANCE * largest
    calls = [(equivalence.check_group, (args[m[0]][0], [args[i][1] for i in m], config.timeout, config.fast_path),
              {}) for m in members]
    raw: list[equivalence.Result | None] = [None] * len(args)
    retry: list[int] = []
    for m, outcome in zip(members, pool.run_calls(calls, timeout=backstop)):
        if outcome.ok:
            for i, result in zip(m, outcome.value):
                raw[i] = result
        elif len(m) == 1:
            raw[m[0]] = (None, outcome.error, outcome.timed_out)
        else:
            retry.extend(m)
    if retry:
        single = [(equivalence.check, (args[i][0], args[i][1][0], config.fast_path, *args[i][1][1:]), {})
                  for i in retry]
        for i, outcome in zip(retry, pool.run_calls(single, timeout=config.timeout)):
            raw[i] = (outcome.value, outcome.error, outcome.timed_out)
    return raw  # type: ignore[return-value]
