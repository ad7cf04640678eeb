"""Find the final answer in a completion: ``\\boxed{}``, ``<answer>`` tags, "The answer is", ``####``, last number.

``math.accuracy`` tries them in math-verify's order of trust (the Minerva "final answer is ... I hope it
is correct" sentence, then boxes, then answer cues); a completion with none of them is read by
math-verify's own extraction (in the worker, see :mod:`rewardkit_math.equivalence`) before the last
number is tried. Where a cheap extractor and math-verify would read the same text differently, the
extractor follows math-verify (a run of adjacent boxes is one list, as math-verify reads it).

Every extractor is a plain ``fn(text) -> str | None`` that runs in time linear in the text (no
backtracking regexes over the whole completion), so a 1 MB completion or 10,000 nested braces cost
milliseconds. They are registered as parsers (``math.boxed`` ...) for other plugins to reuse.
"""

from __future__ import annotations

import functools
import re
from typing import Callable

from rewardkit import RewardParamsError

Extractor = Callable[[str], "str | None"]

_BOXED = re.compile(r"\\(?:boxed|fbox)\b")
#: How many ``\boxed`` occurrences (from the end) are tried before giving up on unbalanced ones.
_MAX_BOXED_TRIES = 8


def _balanced_group(text: str, start: int, stop: int | None = None) -> int | None:
    """Index just past the ``}`` matching the ``{`` at ``start``, or None when it does not close
    before ``stop`` (default: the end of the text)."""
    depth = 0
    i, n = start, len(text) if stop is None else min(stop, len(text))
    while i < n:
        c = text[i]
        if c == "\\":  # \{ and \} are literal braces, not grouping
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def _boxed_span(text: str, match: re.Match[str], stop: int | None = None) -> tuple[str, int] | None:
    """(content, index just past the box) of the box at ``match``, or None when it does not close."""
    i = match.end()
    while i < len(text) and text[i] == " ":
        i += 1
    if i < len(text) and text[i] == "{":
        end = _balanced_group(text, i, stop)
        return None if end is None else (text[i + 1 : end - 1], end)
    # "\boxed 5" (no braces): the next token
    token = re.match(r"[^\s$]+", text[i : i + 200])
    if not token or match.end() == i or (stop is not None and i + token.end() > stop):
        return None
    return token.group(0), i + token.end()


def _boxed_at(text: str, match: re.Match[str]) -> str | None:
    span = _boxed_span(text, match)
    return None if span is None else span[0]


def boxed(text: str) -> str | None:
    """Content of the last complete ``\\boxed{...}`` (or ``\\fbox{...}``), nested braces kept.

    ``\\boxed{\\boxed{5}}`` gives ``5``; an unclosed last box falls back to the one before it.
    """
    matches = list(_BOXED.finditer(text))
    for match in reversed(matches[-_MAX_BOXED_TRIES:]):
        content = _boxed_at(text, match)
        if content is not None:
            inner = boxed(content) if _BOXED.match(content.strip()) else None
            return (inner if inner is not None else content).strip()
    return None


# math-verify (latex2sympy2_extended's box reading) takes boxes that follow each other closely as one
# answer: "\boxed{1}, \boxed{2}" is the list 1, 2. Same thresholds here, so a list written box by box
# matches a listed gold, and a row of candidate boxes is a list, not a free choice of its last one.
_RUN_NEAR = 10  # closer boxes always belong together
_RUN_SEPARATED = 70  # up to this far apart when separated by "and", "or", "," or ";"
_RUN_SEPARATOR = re.compile(r"\b(?:and|or)\b|[,;]")


def final_boxes(text: str) -> str | None:
    """The last box, or the run of boxes that ends with it joined as a list (``"1, 2, 3"``).

    Boxes closer than 10 characters, or different ones up to 70 characters apart with "and", "or",
    "," or ";" between them, form one answer (math-verify reads them so). Linear time: a box that
    encloses the next (``\\boxed{\\boxed{5}}``) or never closes is skipped, at most 8 in a row.
    """
    matches = list(_BOXED.finditer(text))
    run: list[tuple[str, int]] = []  # (content, start of its \boxed), last box first
    i = len(matches) - 1
    while i >= 0 and len(matches) - i <= _MAX_BOXED_TRIES:
        span = _boxed_span(text, matches[i])
        i -= 1
        if span is not None:
            run.append((span[0].strip(), matches[i + 1].start()))
            break
    if not run:
        return None
    misses = 0
    while i >= 0 and misses < _MAX_BOXED_TRIES:
        match, start = matches[i], run[-1][1]
        i -= 1
        span = _boxed_span(text, match, stop=start)  # must close before the box after it starts
        if span is None:
            misses += 1
            continue
        content, gap = span[0].strip(), text[span[1] : start]
        if len(gap) < _RUN_NEAR or (content != run[-1][0] and len(gap) < _RUN_SEPARATED
                                    and _RUN_SEPARATOR.search(gap)):
            run.append((content, match.start()))
            misses = 0
        else:
            break
    contents: list[str] = []
    for content, _ in reversed(run):
        if content and (not contents or contents[-1] != content):  # "\boxed{5} \boxed{5}" is one 5
            contents.append(content)
    return ", ".join(contents) or None


def answer_tag(text: str) -> str | None:
    """Content of the last ``<answer>...</answer>`` (R1 format); a box inside it wins."""
    # rfind, not a regex: "<answer>" repeated without a closing tag makes a lazy regex quadratic.
    low = text.lower()
    end = low.rfind("</answer>")
    start = low.rfind("<answer>", 0, end) if end >= 0 else -1
    if start < 0:
        return None
    return _answer_text(text[start + len("<answer>") : end])


# "The answer is 5", "Final Answer: $x=2$", "the final answer is: \(3\pi\)"; the answer runs to the end of
# the line. Bounded quantifiers keep this linear.
_ANSWER_IS = re.compile(r"(?:final\s+answer|answer)\s{0,3}(?:is(?![\w'’])|:|=)\s{0,3}:?\s{0,3}([^\n]{1,500})",
                        re.IGNORECASE)
_HOPE = re.compile(r"\.?\s*I hope it is correct\.?\s*$", re.IGNORECASE)
_TRAILING = re.compile(r"[.\s]+$")
# Anything that can be part of a math answer; prose has none of these.
_MATHY = re.compile(r"[\d$\\=^_{}()\[\]<>+\-*/|]")
_WORD = re.compile(r"[A-Za-z]{2,}")
#: How far a display formula opened right after an answer cue may run.
_MAX_DISPLAY_CHARS = 2000


# Math spans after a cue: $$...$$, $...$, \(...\), \[...\] (an escaped \$ is a currency sign).
_SPAN = re.compile(r"\$\$(?:[^$]|\$(?!\$)){1,1000}?\$\$|(?<!\\)\$(?:\\\$|[^$\n]){1,1000}?(?<!\\)\$"
                   r"|\\\((?:[^\\]|\\(?!\))){1,1000}?\\\)|\\\[(?:[^\\]|\\(?!\])){1,1000}?\\\]")
# What may stand between the spans of one listed answer: "$1$, $2$, and $3$", "$x=1$ or $x=2$".
_LIST_JOINER = re.compile(r"\s*(?:,?\s*(?:and|or)|,)\s*")


def _answer_text(content: str) -> str | None:
    """The answer in what follows a cue: a box inside wins; else the first math span, with the spans
    listed right after it (``$1$, $2$ and $3$`` stays whole: math-verify reads it as a list, and
    ``$5$ and the sum is $7$`` is 5, as math-verify reads the text after an "answer" cue)."""
    content = content.strip().strip("*").strip()  # markdown bold: "**Final answer:** $5$"
    inner = final_boxes(content)
    if inner is not None:
        return inner
    first = _SPAN.search(content)
    if first is not None:
        spans, end = [first.group(0)], first.end()
        for span in _SPAN.finditer(content, end):
            if not _LIST_JOINER.fullmatch(content, end, span.start()):
                break
            spans.append(span.group(0))
            end = span.end()
        if len(spans) > 1:  # math-verify joins up to 6 spans written "$a$ and $b$" (not "$a$, and $b$")
            return " and ".join(spans)
        content = first.group(0)
    content = _TRAILING.sub("", strip_math_delimiters(content))
    return content or None


def answer_is(text: str) -> str | None:
    """What follows the last "answer is" / "Answer:" on its line, minus math delimiters, markdown and
    a final period. "Final Answer: The final answer is $5$. I hope it is correct." gives ``5``; a
    phrase with no math in it ("the answer is an even number of steps") is no answer."""
    last = None
    for last in _ANSWER_IS.finditer(text):
        pass
    if last is None:
        return None
    start, end = last.span(1)
    while True:  # the innermost cue on the line: "Final Answer: The final answer is $X$"
        inner = None
        for inner in _ANSWER_IS.finditer(text, start, end):
            pass
        if inner is None:
            break
        start, end = inner.span(1)
    content = text[start:end]
    opened = content.lstrip()
    for left, right in (("\\[", "\\]"), ("$$", "$$")):
        # "our answer: \[" with the formula on the next lines: take the display whole
        if opened.startswith(left) and right not in opened[len(left) :]:
            close = text.find(right, end, end + _MAX_DISPLAY_CHARS)
            if close >= 0:
                content = text[start : close + len(right)]
            break
    content = _HOPE.sub("", content)
    if not _MATHY.search(content) and len(_WORD.findall(content)) >= 3:
        return None
    return _answer_text(content)


# Minerva / Tulu 3 MATH format: "Final Answer: The final answer is $X$. I hope it is correct."
_FINAL_IS = "final answer is"
_HOPE_TEXT = "i hope it is correct"


def minerva(text: str) -> str | None:
    """The answer in the last "final answer is X. I hope it is correct." (math-verify trusts this
    sentence above everything else, boxes included)."""
    low = text.lower()
    hope = low.rfind(_HOPE_TEXT)
    if hope < 0:
        return None
    cue = low.rfind(_FINAL_IS, max(0, hope - 600), hope)
    if cue < 0:
        return None
    content = text[cue + len(_FINAL_IS) : hope].strip()
    return _answer_text(content[1:] if content.startswith(":") else content)


_HASHES = re.compile(r"####\s{0,5}([^\n]{1,200})")


def hashes(text: str) -> str | None:
    """What follows the last ``#### `` (the GSM8K convention)."""
    last = None
    for last in _HASHES.finditer(text):
        pass
    if last is None:
        return None
    return last.group(1).strip().rstrip(".") or None


# A number: sign (ASCII or Unicode minus), thousands separators, decimals. Finds "1,234.5", "-3", ".5".
NUMBER = re.compile(r"(?<![\w.])[-−+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\d])|(?<![\w.])[-−+]?\.\d+")


def last_number(text: str) -> str | None:
    """The last number in the text (``1,234.5``, ``-3``), as written."""
    last = None
    for last in NUMBER.finditer(text[-100_000:]):  # the final answer is at the end
        pass
    return last.group(0) if last else None


_LEADING_SPAN = re.compile(r"\$((?:\\\$|[^$])+)\$")


def strip_math_delimiters(s: str) -> str:
    """``$x$``, ``$$x$$``, ``\\(x\\)``, ``\\[x\\]`` -> ``x``; ``$5$ dollars`` -> ``5``. Text with several
    math spans (``$1$ and $2$``) is returned as it is, for math-verify to read as a list."""
    s = s.strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if s.startswith(left) and s.endswith(right) and len(s) >= len(left) + len(right):
            inner = s[len(left) : len(s) - len(right)]
            body = inner.replace("\\$", "")  # an escaped dollar is a currency sign
            if left not in body and right not in body:
                return inner.strip()
    if s.startswith("$") and s.replace("\\$", "").count("$") == 2:  # "$5$ dollars"
        m = _LEADING_SPAN.match(s)
        if m:
            return m.group(1).strip()
    return s


# Every pattern math-verify ranks above "the last formula" needs one of these words in the text.
_MATH_VERIFY_CUES = re.compile(r"answer|\\boxed|\\fbox", re.IGNORECASE)
_DIGIT = re.compile(r"\d")


@functools.lru_cache(maxsize=1)
def _formula_regex() -> "re.Pattern[str]":
    from math_verify import LatexExtractionConfig
    from math_verify.parser import lazy_latex_regex

    (pattern,) = [p for p, priority in lazy_latex_regex(LatexExtractionConfig()) if priority == 300]
    return pattern


def last_formula(text: str) -> str | None:
    """The formula math-verify's own extraction tries first in ``text``, when that is plainly its last
    formula: no "answer" cue and no box anywhere (its higher-priority patterns), no digit after the
    formula (its plain-number pattern would end later), one formula rather than a list joined by
    "and", and no percent sign. Found with math-verify's own regex; None means "ask math-verify".

    ``math.accuracy`` checks this formula like any extracted answer (deduplicated, with the fast
    paths) and reads the whole completion with math-verify only if it does not parse, as math-verify
    then moves on to the formula before it.
    """
    if _MATH_VERIFY_CUES.search(text):
        return None
    last = None
    for last in _formula_regex().finditer(text):
        pass
    if last is None or _DIGIT.search(text, last.end()):
        return None
    found = {name: value for name, value in last.groupdict().items() if value}
    latex = [name for name in found if "_latex" in name]
    if len(latex) != 1 or any(name.endswith("percent") for name in found):
        return None
    return found[latex[0]].strip() or None


EXTRACTORS: dict[str, Extractor] = {
    "minerva": minerva,
    "boxed": final_boxes,
    "answer_tag": answer_tag,
    "answer_is": answer_is,
    "hashes": hashes,
    "last_number": last_number,
}

#: Not a function of the text here: ``math.accuracy`` hands the whole completion to math-verify's own
#: extraction (its priorities: answer cues, then the last LaTeX span or plain expression) in a worker,
#: where sympy parsing runs under the deadline. Extractors listed after it are its fallback.
MATH_VERIFY = "math_verify"

#: ``extract: auto`` for each reward: tried in order, the first that finds something wins.
AUTO = {
    "math": ("minerva", "boxed", "answer_tag", "answer_is", MATH_VERIFY, "last_number"),
    "gsm8k": ("hashes", "boxed", "answer_tag", "answer_is", "last_number"),
}


def resolve(extract: str | list[str] | tuple[str, ...], kind: str = "math") -> tuple[str, ...]:
    """Turn the ``extract`` param ("auto", "boxed", "boxed,answer_is" or a list) into extractor names.
    ``math_verify`` is only known to ``kind="math"`` (``math.accuracy``)."""
    if isinstance(extract, str):
        names = AUTO[kind] if extract.strip() == "auto" else tuple(p.strip() for p in extract.split(",") if p.strip())
    else:
        names = tuple(extract)
    known = [*EXTRACTORS, MATH_VERIFY] if kind == "math" else list(EXTRACTORS)
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise RewardParamsError(
            f"extract must be 'auto' or a comma-separated list of {', '.join(known)}; got {extract!r}"
        )
    return names


def extract(text: str, order: tuple[str, ...]) -> tuple[str | None, str | None]:
    """The first answer found by the extractors in ``order``: ``(answer, extractor name)``.

    Reaching ``math_verify`` returns ``(text, "math_verify")``: the caller lets math-verify read it."""
    for name in order:
        if name == MATH_VERIFY:
            if text.strip():
                return text, name
            continue
        found = EXTRACTORS[name](text)
        if found:
            return found, name
    return None, None
