"""Getting the program out of a completion: fenced code blocks, or the whole text when unfenced."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .languages import language_from_tag

Choice = Literal["last", "first", "longest", "all"]
CHOICES: tuple[str, ...] = ("last", "first", "longest", "all")

# An opening fence (3+ backticks or tildes, optional info string) and its matching closer, or the
# end of the text for a completion cut off mid-block.
_FENCE = re.compile(
    r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)(?:^[ \t]*(?P=fence)[ \t]*$|\Z)",
    re.MULTILINE | re.DOTALL,
)
_THINK_END = re.compile(r"</think>", re.IGNORECASE)


@dataclass(frozen=True)
class CodeBlock:
    """A block of code and the language its fence names (None when untagged)."""

    code: str
    language: str | None
    tag: str = ""


@dataclass(frozen=True)
class Extracted:
    """The program taken from a completion."""

    code: str
    #: Language named by the chosen fence ("python", "cpp"...), None when untagged or unfenced.
    language: str | None
    fenced: bool
    blocks: int = 0


def code_blocks(text: str) -> list[CodeBlock]:
    """Every fenced block in ``text``, in order (an unclosed last fence runs to the end)."""
    blocks = []
    for m in _FENCE.finditer(text):
        info = m.group("info").strip()
        tag = info.split()[0].lower() if info else ""
        tag = tag.lstrip("{.").rstrip("}")
        blocks.append(CodeBlock(m.group("body"), language_from_tag(tag), tag))
    return blocks


def strip_reasoning(text: str) -> str:
    """Drop an R1-style ``<think>...</think>`` prefix: code drafted while thinking is not the answer."""
    parts = _THINK_END.split(text)
    return parts[-1] if len(parts) > 1 else text


def extract_code(text: str, language: str | None = None, choice: Choice = "last",
                 defines: str | None = None) -> Extracted:
    """The program in ``text``.

    With fences, blocks tagged ``language`` (or untagged) are preferred over blocks in other
    languages, and, when ``defines`` names a function, blocks that define it over the others (a
    usage example after the solution is not the solution); ``choice`` then picks the last
    (default: models usually end with the final version), first, longest, or all of them joined.
    Without fences the whole text is the code.
    """
    if choice not in CHOICES:
        raise ValueError(f"code_block must be one of {CHOICES}, not {choice!r}")
    text = strip_reasoning(text)
    blocks = [b for b in code_blocks(text) if b.code.strip()]
    if not blocks:
        return Extracted(text, None, False, 0)
    if language:
        preferred = [b for b in blocks if b.language == language]
        untagged = [b for b in blocks if b.language is None and not b.tag]
        blocks = preferred or untagged or blocks
    else:
        # without a wanted language, keep the blocks of the language most blocks are in
        tagged = [b.language for b in blocks if b.language]
        if tagged:
            main = max(set(tagged), key=lambda lang: (tagged.count(lang), -tagged[::-1].index(lang)))
            blocks = [b for b in blocks if b.language in (main, None)]
    if defines:
        pattern = re.compile(rf"\b(def\s+{re.escape(defines)}\b|{re.escape(defines)}\s*\([^;]*\)\s*(const\s*)?\{{)")
        defining = [b for b in blocks if pattern.search(b.code)]
        blocks = defining or blocks
    if choice == "all":
        return Extracted("\n\n".join(b.code for b in blocks), blocks[-1].language, True, len(blocks))
    if choice == "first":
        chosen = blocks[0]
    elif choice == "longest":
        chosen = max(blocks, key=lambda b: len(b.code))
    else:
        chosen = blocks[-1]
    return Extracted(chosen.code, chosen.language, True, len(blocks))
