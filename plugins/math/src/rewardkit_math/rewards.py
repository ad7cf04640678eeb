"""The math rewards: ``math.accuracy``, ``math.gsm8k`` and ``math.multiple_choice``.

All three return 1.0 / 0.0, and None ("not scorable", never 0) when the row has no usable gold
answer; unscorable golds are counted in :func:`rewardkit_math.stats`.
"""

from __future__ import annotations

import math
import re
from typing import Any, Sequence

from rewardkit import RewardParamsError, Sample, Score, reward

from . import checker, equivalence
from . import extract as extraction
from .numbers import to_number

GOLD_COLUMNS = ("answer", "ground_truth", "solution", "reference", "label")


def gold_text(sample: Sample, answer_column: str) -> str | None:
    """The gold answer as text: a full solution is reduced to its ``\\boxed{}`` or ``####`` answer."""
    value = sample.column(answer_column) if answer_column else None
    if value is None:
        value = sample.reference
    if value is None:
        return None
    if isinstance(value, (list, tuple)):  # some datasets store a list of acceptable answers
        value = value[0] if value else None
        if value is None:
            return None
    text = str(value).strip()
    final = extraction.boxed(text) if "\\boxed" in text or "\\fbox" in text else None
    if final is None and "####" in text:
        final = extraction.hashes(text)
    text = final if final is not None else text
    return extraction.strip_math_delimiters(text) or None


def _failure(verdict: checker.Verdict, failure_score: float | None, details: dict[str, Any]) -> Score:
    # A timeout or crash on an answer is the answer's fault (sympy choked on it): score it like a
    # wrong answer by default so training goes on, but keep the error visible.
    return Score(failure_score, reason=verdict.how, details=details, error=verdict.error,
                 timed_out=verdict.timed_out)


@reward("math.accuracy", mode="batch", domains=("math",))
def accuracy(
    samples: Sequence[Sample],
    *,
    answer_column: str = "answer",
    extract: str = "auto",
    timeout: float = 5.0,
    executor: str = "auto",
    workers: int = 0,
    memory_limit_mb: int = 1024,
    max_answer_chars: int = 1000,
    failure_score: float | None = 0.0,
    fast_path: bool = True,
) -> list[Score]:
    """1.0 when the completion's final answer is mathematically equivalent to the gold (math-verify + sympy).

    ``extract``: "auto" (minerva, boxed, answer_tag, answer_is, math_verify, last_number) or a comma
    list of those; ``math_verify`` is math-verify's own extraction of the whole completion.
    Each distinct (gold, answer) check runs in a worker process killed after ``timeout`` seconds
    (``executor``: auto, process, inline, ray; ``workers``: 0 = one per core; ``memory_limit_mb``
    caps each worker). Answers longer than ``max_answer_chars`` or explosive (power towers, huge
    factorials) score 0 without sympy. A check that times out or crashes scores ``failure_score``
    (None to report it as not scored). ``fast_path: false`` sends every check to math-verify.
    A gold that cannot be parsed gives None (not scorable), counted in ``rewardkit_math.stats()``.
    """
    order = extraction.resolve(extract, "math")
    config = checker.CheckerConfig(timeout=float(timeout), executor=checker.resolve_executor(executor),
                                   workers=int(workers), memory_limit_mb=memory_limit_mb or None,
                                   max_answer_chars=int(max_answer_chars), fast_path=bool(fast_path))
    results: list[Score | None] = [None] * len(samples)
    pairs: list[tuple[str, str]] = []
    where: list[tuple[int, dict[str, Any]]] = []
    for i, sample in enumerate(samples):
        gold = gold_text(sample, answer_column)
        if gold is None:
            checker._count("unscorable_gold")
            results[i] = Score.not_applicable("no gold answer", column=answer_column)
            continue
        text = sample.completion_text
        answer, how = extraction.extract(text, order)
        details: dict[str, Any] = {"gold": gold, "extracted": answer, "extractor": how}
        if answer is None:
            results[i] = Score(0.0, reason="no answer found", details=details)
            continue
        if how == extraction.MATH_VERIFY:
            # No cue, box or tag: what math-verify's own extraction reads (the extractors after it in
            # ``order`` are its fallback). Its plain last formula is checked as an answer; anything
            # else is read by math-verify itself in the worker, under the deadline.
            tail = text[-equivalence.WHOLE_TEXT_CHARS :]
            fallback, _ = extraction.extract(text, order[order.index(how) + 1 :])
            formula = extraction.last_formula(tail)
            if formula is not None:
                answer = checker.Answer(formula, whole=False, fallback=fallback, completion=tail)
                details["extracted"] = formula
            else:
                answer = checker.Answer(tail, fallback=fallback)
                details["extracted"] = None  # the worker reports what math-verify extracted
        pairs.append((gold, answer))
        where.append((i, details))
    for (i, details), verdict in zip(where, checker.check_pairs(pairs, config)):
        details = {**details, "method": verdict.how, **verdict.details}
        if verdict.how == "unscorable-gold":
            checker._count("unscorable_gold")
            results[i] = Score.not_applicable("gold answer cannot be parsed", **details)
        elif verdict.equal is None:
            results[i] = _failure(verdict, failure_score, details)
        elif verdict.how == "guard":
            results[i] = Score(0.0, reason=f"answer rejected before sympy: {verdict.details['rejected']}",
                               details=details)
        else:
            results[i] = Score(float(verdict.equal), reason="equivalent" if verdict.equal else "not equivalent",
                               details=details)
    return results  # type: ignore[return-value]


@reward("math.gsm8k", domains=("math",))
def gsm8k(
    sample: Sample,
    *,
    answer_column: str = "answer",
    extract: str = "auto",
    rel_tol: float = 0.0,
) -> Score:
    """1.0 when the completion's final number equals the GSM8K gold number (``#### 1,234``; $, %, units ignored).

    ``extract``: "auto" (hashes, boxed, answer_tag, answer_is, last_number) or a comma list.
    """
    if rel_tol < 0 or math.isnan(rel_tol):
        raise RewardParamsError(f"rel_tol must be >= 0 (0 means exact), not {rel_tol!r}")
    order = extraction.resolve(extract, "gsm8k")
    gold_raw = gold_text(sample, answer_column)
    gold = to_number(gold_raw, lenient=True) if gold_raw is not None else None
    if gold is None:
        checker._count("unscorable_gold")
        return Score.not_applicable("no numeric gold answer", gold=gold_raw)
    text = sample.completion_text
    details: dict[str, Any] = {"gold": str(gold)}
    for name in order:
        found = extraction.EXTRACTORS[name](text)
        value = to_number(found, lenient=True) if found else None
        if value is None:
            continue  # e.g. a box holding words: try the next way of finding the answer
        details.update(extracted=found, extractor=name, value=str(value))
        equal = value == gold or (rel_tol > 0 and abs(value - gold) <= rel_tol * max(abs(gold), abs(value)))
        return Score(float(equal), reason="equal" if equal else "not equal", details=details)
    return Score(0.0, reason="no number found", details=details)


_LETTER_PAREN = re.compile(r"\(([A-Z])\)")
_STANDALONE = re.compile(r"(?<![A-Za-z])([A-Z])(?![A-Za-z])")


def _letter(text: str, choices: str) -> str | None:
    """The choice letter in a short answer: "(C)", "C", "\\text{C}", "C. 42", "Option C"."""
    text = re.sub(r"\\(?:text|textbf|mathrm|mathbf)\{([^{}]*)\}", r"\1", text).strip()
    for rx in (_LETTER_PAREN, _STANDALONE):
        for m in rx.finditer(text):
            if m.group(1) in choices:
                return m.group(1)
    return None


def last_letter(text: str, choices: str = "ABCDE") -> str | None:
    """The last "(C)" in the text, else the last capital choice letter standing alone."""
    for rx in (_LETTER_PAREN, _STANDALONE):
        found = [m.group(1) for m in rx.finditer(text[-20_000:]) if m.group(1) in choices]
        if found:
            return found[-1]
    return None


@reward("math.multiple_choice", domains=("math",))
def multiple_choice(
    sample: Sample,
    *,
    answer_column: str = "answer",
    choices: str = "ABCDE",
    extract: str = "boxed,answer_tag,answer_is,last_letter",
) -> Score:
    """1.0 when the completion picks the gold choice letter (A-E by default; gold "C", "(C)" or an index).

    ``extract``: comma list of boxed, answer_tag, answer_is, last_letter.
    """
    choices = choices.upper()
    if not choices.isalpha():
        raise RewardParamsError(f"choices must be letters such as 'ABCD', not {choices!r}")
    names = [n.strip() for n in extract.split(",") if n.strip()]
    allowed = ("boxed", "answer_tag", "answer_is", "last_letter")
    if not names or any(n not in allowed for n in names):
        raise RewardParamsError(f"extract must be a comma list of {', '.join(allowed)}; got {extract!r}")
    raw = sample.column(answer_column) if answer_column else None
    raw = sample.reference if raw is None else raw
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw < len(choices):
        gold = choices[raw]
    else:
        gold = _letter(str(raw), choices) if raw is not None else None
    if gold is None:
        checker._count("unscorable_gold")
        return Score.not_applicable(f"gold is not one of the choices {choices}", gold=None if raw is None else str(raw))
    text = sample.completion_text
    for name in names:
        if name == "last_letter":
            got = last_letter(text, choices)
        else:
            found = extraction.EXTRACTORS[name](text)
            got = _letter(found, choices) if found else None
        if got is not None:
            return Score(float(got == gold), reason="same choice" if got == gold else "other choice",
                         details={"gold": gold, "extracted": got, "extractor": name})
    return Score(0.0, reason="no choice found", details={"gold": gold})
