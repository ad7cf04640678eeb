"""Reasoning-format rewards: ``<think>`` blocks, answer tags, tag counts, code fences, step markers.

All return 1.0 / 0.0 (``format.tag_count`` and ``format.steps`` give partial credit) with a
``reason`` that names what was wrong, so a monitor can tell *why* a format reward stayed at 0.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from rewardkit import RewardParamsError, Sample, Score, reward

from .checks import whole

_TAG_NAME = re.compile(r"^[A-Za-z_][\w.:-]*$")


def _check_tag(param: str, tag: str) -> str:
    if not isinstance(tag, str) or not _TAG_NAME.match(tag):
        bare = str(tag).strip("</>") or "think"
        raise RewardParamsError(f"{param} must be a bare tag name such as {bare!r}, not {tag!r}")
    return tag


def _answer_after(rest: str, answer_tag: str, strict: bool) -> tuple[str | None, str]:
    """Check what follows ``</think>``; returns (failure reason or None, the answer text)."""
    if not answer_tag:
        if strict and not rest.startswith("\n"):
            return "strict form needs a newline right after </think>", ""
        answer = rest.strip()
        return (None if answer else "no answer after the thinking"), answer
    a_open, a_close = f"<{answer_tag}>", f"</{answer_tag}>"
    n_open, n_close = rest.count(a_open), rest.count(a_close)
    if n_open != 1 or n_close != 1:
        found = f"found {n_open} {a_open} and {n_close} {a_close}"
        return f"expected one {a_open}...{a_close} after the thinking, {found}", ""
    if strict:
        m = re.fullmatch(rf"\n{re.escape(a_open)}\n(.*?)\n{re.escape(a_close)}\s*", rest, re.DOTALL)
        if m is None:
            return f"strict form is '</think>\\n{a_open}\\n...\\n{a_close}' with nothing else", ""
        answer = m.group(1)
    else:
        m = re.fullmatch(rf"\s*{re.escape(a_open)}(.*?){re.escape(a_close)}\s*", rest, re.DOTALL)
        if m is None:
            return f"only whitespace may surround {a_open}...{a_close}", ""
        answer = m.group(1)
    return (None if answer.strip() else f"empty {a_open}"), answer.strip()


def _check_think(*, think_tag: str, answer_tag: str, **_: Any) -> None:
    _check_tag("think_tag", think_tag)
    if answer_tag:
        _check_tag("answer_tag", answer_tag)


@reward("format.think", validate=_check_think)
def think_format(
    sample: Sample,
    *,
    strict: bool = False,
    think_tag: str = "think",
    answer_tag: str = "",
    prefilled: bool | None = None,
) -> Score:
    """1.0 when the completion is a ``<think>...</think>`` block followed by an answer (R1 style).

    * ``strict``: exactly ``<think>\\n...\\n</think>\\n`` then the answer (with ``answer_tag``:
      ``<answer>\\n...\\n</answer>``), nothing before, only trailing whitespace after.
      Lenient (default): the same structure with any whitespace around the tags.
    * Both: one opening and one closing tag, non-empty thinking, non-empty answer.
    * ``prefilled``: the chat template already opened ``<think>`` in the prompt (DeepSeek-R1's
      does), so the completion starts inside the thinking. ``None`` detects it when the prompt
      text ends with the opening tag.
    """
    form = "strict" if strict else "lenient"
    text = sample.completion_text
    t_open, t_close = f"<{think_tag}>", f"</{think_tag}>"
    if prefilled is None:
        prefilled = sample.prompt_text.rstrip().endswith(t_open)
    if prefilled and not text.lstrip().startswith(t_open):
        text = f"{t_open}\n{text}"

    def fail(why: str) -> Score:
        return Score(0.0, reason=why, details={"form": form, "prefilled": prefilled})

    n_open, n_close = text.count(t_open), text.count(t_close)
    if n_open == 0:
        return fail(f"no {t_open} tag")
    if n_open > 1 or n_close > 1:
        return fail(f"{n_open} {t_open} and {n_close} {t_close} tags (expected exactly one each)")
    if n_close == 0:
        return fail(f"the thinking is never closed: no {t_close}")
    start, end = text.index(t_open), text.index(t_close)
    if end < start:
        return fail(f"{t_close} comes before {t_open}")
    if text[:start].strip() or (strict and start > 0):
        return fail(f"text before {t_open}")
    thinking = text[start + len(t_open) : end]
    if strict and not (thinking.startswith("\n") and thinking.endswith("\n") and len(thinking) >= 2):
        return fail(f"strict form puts {t_open} and {t_close} on their own lines")
    if not thinking.strip():
        return fail("empty thinking")
    why, answer = _answer_after(text[end + len(t_close) :], answer_tag, strict)
    if why:
        return fail(why)
    return Score(
        1.0,
        reason=f"{form} format",
        details={
            "form": form,
            "prefilled": prefilled,
            "thinking_chars": len(thinking.strip()),
            "answer_chars": len(answer),
        },
    )


def _check_answer_tags(*, tag: str, **_: Any) -> None:
    _check_tag("tag", tag)


@reward("format.answer_tags", validate=_check_answer_tags)
def answer_tags(sample: Sample, *, tag: str = "answer", allow_text_after: bool = False) -> Score:
    """1.0 when the completion holds exactly one non-empty ``<answer>...</answer>``.

    Unless ``allow_text_after``, only whitespace may follow the closing tag (text after the answer
    is a common way for a policy to hedge).
    """
    text = sample.completion_text
    t_open, t_close = f"<{tag}>", f"</{tag}>"
    n_open, n_close = text.count(t_open), text.count(t_close)
    if n_open != 1 or n_close != 1:
        return Score(0.0, reason=f"found {n_open} {t_open} and {n_close} {t_close} (expected one each)")
    start, end = text.index(t_open), text.index(t_close)
    if end < start:
        return Score(0.0, reason=f"{t_close} comes before {t_open}")
    content = text[start + len(t_open) : end].strip()
    if not content:
        return Score(0.0, reason=f"empty {t_open}")
    if not allow_text_after and text[end + len(t_close) :].strip():
        return Score(0.0, reason=f"text after {t_close}")
    return Score(1.0, reason="one answer block", details={"answer": content[:200]})


def _tag_names(tags: str | Sequence[str]) -> list[str]:
    return [tags] if isinstance(tags, str) else list(tags)


def _check_tags(*, tags: str | Sequence[str], **_: Any) -> None:
    names = _tag_names(tags)
    if not names:
        raise RewardParamsError("tags must list at least one tag name, e.g. tags: [think, answer]")
    for name in names:
        _check_tag("each of tags", name)


@reward("format.tag_count", validate=_check_tags)
def tag_count(sample: Sample, *, tags: Sequence[str] = ("think", "answer")) -> Score:
    """Partial credit per tag: each opening and closing tag that appears exactly once earns
    ``1 / (2 * len(tags))``, so a completion learns the format piece by piece.

    ``value = (1 / 2T) * sum over tags t of ([count(<t>) == 1] + [count(</t>) == 1])``.
    """
    names = _tag_names(tags)
    text = sample.completion_text
    counts = {}
    for name in names:
        counts[f"<{name}>"] = text.count(f"<{name}>")
        counts[f"</{name}>"] = text.count(f"</{name}>")
    good = sum(1 for c in counts.values() if c == 1)
    value = good / len(counts)
    wrong = [f"{marker} x{c}" for marker, c in counts.items() if c != 1]
    return Score(
        value,
        reason="all tags once" if not wrong else "not once: " + ", ".join(wrong),
        details={"counts": counts},
    )


#: Fence info strings that mean the same language.
_ALIASES = {
    "python": {"python", "py", "python3", "py3"},
    "javascript": {"javascript", "js", "node", "nodejs"},
    "typescript": {"typescript", "ts"},
    "cpp": {"cpp", "c++", "cxx", "cc"},
    "c": {"c", "h"},
    "bash": {"bash", "sh", "shell", "zsh"},
    "csharp": {"csharp", "c#", "cs"},
    "rust": {"rust", "rs"},
    "go": {"go", "golang"},
    "java": {"java"},
    "sql": {"sql"},
    "lean": {"lean", "lean4"},
}
#: A fenced block: ``` or ~~~ (3+), an info string, the body, the same fence closing it.
_FENCE = re.compile(
    r"^[ ]{0,3}(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)^[ ]{0,3}(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


def _language_names(language: str) -> set[str]:
    key = language.strip().lower()
    for names in _ALIASES.values():
        if key in names:
            return names
    return {key}


def _check_code(*, language: str, check_syntax: bool, **_: Any) -> None:
    if not isinstance(language, str):
        raise RewardParamsError(
            f'language must be a fence language such as python, or "" for any, not {language!r}'
        )
    if check_syntax and language and "python" not in _language_names(language):
        raise RewardParamsError(
            f"check_syntax works for Python only; set check_syntax: false for {language!r}"
        )


@reward("format.code_block", domains=("code",), validate=_check_code)
def code_block(sample: Sample, *, language: str = "python", check_syntax: bool = False) -> Score:
    """1.0 when the completion has a closed, non-empty fenced code block in ``language``.

    ``language: ""`` accepts any (or no) info string; aliases such as ``py``/``python3`` count as
    ``python``. ``check_syntax`` (Python only) also requires the block to parse with ``ast``.
    """
    wanted = _language_names(language) if language else set()
    blocks = [
        (m.group("info").strip().split(" ")[0].lower(), m.group("body"))
        for m in _FENCE.finditer(sample.completion_text)
    ]
    infos = [info for info, _ in blocks]
    if not blocks:
        return Score(0.0, reason="no closed fenced code block", details={"blocks": infos})
    candidates = [body for info, body in blocks if not wanted or info in wanted]
    if not candidates:
        return Score(
            0.0,
            reason=f"no {language} block (found: {', '.join(i or '<none>' for i in infos)})",
            details={"blocks": infos},
        )
    non_empty = [body for body in candidates if body.strip()]
    if not non_empty:
        return Score(0.0, reason="the code block is empty", details={"blocks": infos})
    if check_syntax:
        errors = []
        for body in non_empty:
            try:
                ast.parse(body)
                return Score(1.0, reason="python block parses", details={"blocks": infos})
            except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
        return Score(0.0, reason="no block parses as Python", details={"blocks": infos, "errors": errors})
    return Score(1.0, reason=f"{language or 'fenced'} block found", details={"blocks": infos})


#: Step markers: "Step 3:", numbered lines, bullets, and ordinal transition words at line start.
DEFAULT_STEP_PATTERN = (
    r"(?im)^[ \t]*(?:"
    r"(?:\*\*)?step\s*\d+\b"
    r"|\d+[.)][ \t]"
    r"|[-*\u2022][ \t]"
    r"|(?:first|second|third|next|then|finally|lastly)\b,?"
    r")"
)


@lru_cache(maxsize=64)
def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise RewardParamsError(
            f"pattern is not a valid regular expression ({exc}); fix it or drop it"
        ) from exc


def _check_steps(*, min_steps: int, pattern: str, **_: Any) -> None:
    whole("min_steps", min_steps, minimum=1, example="min_steps: 3")
    _compile(pattern or DEFAULT_STEP_PATTERN)


@reward("format.steps", validate=_check_steps)
def reasoning_steps(sample: Sample, *, min_steps: int = 3, pattern: str = "") -> Score:
    """Partial credit for explicit reasoning steps: ``min(1, markers / min_steps)``.

    Markers (each counted at a line start): ``Step N``, ``1.`` / ``1)``, ``-`` / ``*`` bullets,
    and ``First,``/``Second,``/``Next,``/``Then,``/``Finally,``. ``pattern`` replaces them with
    your own regular expression (each match counts as one step).
    """
    rx = _compile(pattern or DEFAULT_STEP_PATTERN)
    found = len(rx.findall(sample.completion_text))
    return Score(min(1.0, found / min_steps), reason=f"{found} step markers", details={"steps": found})
