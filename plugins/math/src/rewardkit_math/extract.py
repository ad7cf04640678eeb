"""Find the final answer in a completion: ``\\boxed{}``, ``<answer>`` tags, "The answer is", ``####``, last number.

Every extractor is a plain ``fn(text) -> str | None`` that runs in time linear in the text (no
backtracking regexes over the whole completion), so a 1 MB completion or 10,000 nested braces cost
milliseconds. They are registered as parsers (``math.boxed`` ...) for other plugins to reuse.
"""

from __future__ import annotations

import re
from typing import Callable

from rewardkit import RewardParamsError

Extractor = Callable[[str], "str | None"]

_BOXED = re.compile(r"\\(?:boxed|fbox)\b")
#: How many ``\boxed`` occurrences (from the end) are tried before giving up on unbalanced ones.
_MAX_BOXED_TRIES = 8


def _balanced_group(text: str, start: int) -> int | None:
    """Index just past the ``}`` matching the ``{`` at ``start``, or None when it never closes."""
    depth = 0
    i, n = start, len(text)
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


def _boxed_at(text: str, match: re.Match[str]) -> str | None:
    i = match.end()
    while i < len(text) and text[i] == " ":
        i += 1
    if i < len(text) and text[i] == "{":
        end = _balanced_group(text, i)
        return None if end is None else text[i + 1 : end - 1]
    # "\boxed 5" (no braces): the next token
    token = re.match(r"[^\s$]+", text[i : i + 200])
    return token.group(0) if token and match.end() < i else None


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


def answer_tag(text: str) -> str | None:
    """Content of the last ``<answer>...</answer>`` (R1 format); a box inside it wins."""
    # rfind, not a regex: "<answer>" repeated without a closing tag makes a lazy regex quadratic.
    low = text.lower()
    end = low.rfind("</answer>")
    start = low.rfind("<answer>", 0, end) if end >= 0 else -1
    if start < 0:
        return None
    content = text[start + len("<answer>") : end].strip()
    inner = boxed(content)
    return strip_math_delimiters(inner if inner is not None else content) or None


# "The answer is 5", "Final Answer: $x=2$", "the final answer is: \(3\pi\)"; the answer runs to the end of
# the line. Bounded quantifiers keep this linear.
_ANSWER_IS = re.compile(r"(?:final\s+answer|answer)\s{0,3}(?:is|:|=)\s{0,3}:?\s{0,3}([^\n]{1,500})", re.IGNORECASE)


def answer_is(text: str) -> str | None:
    """What follows the last "answer is" / "Answer:" on its line, minus math delimiters and a final period."""
    last = None
    for last in _ANSWER_IS.finditer(text):
        pass
    if last is None:
        return None
    content = last.group(1).strip()
    inner = boxed(content)
    if inner is not None:
        return inner
    content = strip_math_delimiters(content)
    # "The answer is 5 apples." -> keep the sentence; a trailing period is never part of an answer
    content = re.sub(r"[.\s]+$", "", content)
    return content or None


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


def strip_math_delimiters(s: str) -> str:
    s = s.strip()
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if s.startswith(left) and s.endswith(right) and len(s) >= len(left) + len(right):
            return s[len(left) : len(s) - len(right)].strip()
    if s.count("$") == 2 and s.startswith("$"):  # "$5$ dollars"
        return s[1 : s.index("$", 1)].strip()
    return s


EXTRACTORS: dict[str, Extractor] = {
    "boxed": boxed,
    "answer_tag": answer_tag,
    "answer_is": answer_is,
    "hashes": hashes,
    "last_number": last_number,
}

#: ``extract: auto`` for each reward: tried in order, the first that finds something wins.
AUTO = {
    "math": ("boxed", "answer_tag", "answer_is", "last_number"),
    "gsm8k": ("hashes", "boxed", "answer_tag", "answer_is", "last_number"),
}


def resolve(extract: str | list[str] | tuple[str, ...], kind: str = "math") -> tuple[str, ...]:
    """Turn the ``extract`` param ("auto", "boxed", "boxed,answer_is" or a list) into extractor names."""
    if isinstance(extract, str):
        names = AUTO[kind] if extract.strip() == "auto" else tuple(p.strip() for p in extract.split(",") if p.strip())
    else:
        names = tuple(extract)
    unknown = [n for n in names if n not in EXTRACTORS]
    if unknown or not names:
        raise RewardParamsError(
            f"extract must be 'auto' or a comma-separated list of {', '.join(EXTRACTORS)}; got {extract!r}"
        )
    return names


def extract(text: str, order: tuple[str, ...]) -> tuple[str | None, str | None]:
    """The first answer found by the extractors in ``order``: ``(answer, extractor name)``."""
    for name in order:
        found = EXTRACTORS[name](text)
        if found:
            return found, name
    return None, None
