"""Text measurements the instruction checkers share: words, sentences, language, count relations."""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

#: Relations the count-based instructions accept. IFEval itself uses "less than" and "at least";
#: the others come from the Tulu 3 RLVR constraints ("at most", "around", exact counts).
RELATIONS = ("less than", "at least", "at most", "more than", "exactly", "around")

_WORD = re.compile(r"\w+")


class InstructionArgsError(ValueError):
    """An instruction was given arguments it does not accept, or values it cannot use."""


def words(text: str) -> list[str]:
    """Runs of word characters: IFEval's word unit (what nltk's RegexpTokenizer(r"\\w+") yields)."""
    return _WORD.findall(text)


@lru_cache(maxsize=1)
def _segmenter() -> Any:
    import pysbd  # rule-based: no model data to download, unlike nltk's punkt

    return pysbd.Segmenter(language="en", clean=False)


_SEGMENTER_LOCK = threading.Lock()  # pysbd's Segmenter keeps per-call state on the instance


def sentences(text: str) -> list[str]:
    """Sentences of ``text`` (pysbd's English rules), without empty pieces."""
    text = text.strip()
    if not text:
        return []
    if len(text) > 1 and text[0] == '"' and text[-1] == '"':
        # pysbd keeps a quotation as one sentence; a response wrapped whole in quotes (as
        # startend:quotation asks) is still counted sentence by sentence.
        text = text[1:-1]
    out: list[str] = []
    for block in _blocks(text):
        if not _small(block):
            # Only a run with no full stop before a space and no line break is left this long:
            # one (run-on) sentence, and too slow to hand to pysbd.
            out.append(block)
            continue
        with _SEGMENTER_LOCK:
            pieces = _segmenter().segment(block)
        out.extend(p for p in pieces if p.strip())
    return out


#: pysbd's time grows faster than the text does (with the number of lines, quadratically); it is
#: fed blocks of at most about this many characters and lines.
_BLOCK_CHARS = 4000
_BLOCK_LINES = 100
_BLANK_LINE = re.compile(r"\n\s*\n")
#: Where a long paragraph may be cut: after a full stop, else at a line break.
#: Zero-width, so that the pieces join back into the exact text.
_CUTS = (re.compile(r"(?<=[.!?]\s)(?=\S)"), re.compile(r"(?<=\n)"))


def _blocks(text: str) -> list[str]:
    """Cut ``text`` where no sentence can continue (blank lines) and cut long paragraphs after
    sentence-ending punctuation (else at line breaks), so that segmenting stays
    linear in the length of the response."""
    blocks: list[str] = []
    for para in _BLANK_LINE.split(text):
        if para.strip():
            blocks.extend(_cut(para, 0))
    return blocks


def _small(text: str) -> bool:
    return len(text) <= _BLOCK_CHARS and text.count("\n") <= _BLOCK_LINES


def _cut(text: str, level: int) -> list[str]:
    if _small(text) or level == len(_CUTS):
        return [text]
    blocks: list[str] = []
    current = ""
    for piece in _CUTS[level].split(text):
        if not _small(piece):
            if current:
                blocks.append(current)
                current = ""
            blocks.extend(_cut(piece, level + 1))
            continue
        if current and not _small(current + piece):
            blocks.append(current)
            current = ""
        current += piece
    if current:
        blocks.append(current)
    return blocks


_LANGDETECT_LOCK = threading.Lock()
_langdetect_ready = False


def detect_language(text: str) -> str | None:
    """ISO 639-1 code langdetect gives ``text`` (deterministic), or None when it cannot tell."""
    global _langdetect_ready
    from langdetect import DetectorFactory, LangDetectException, detect
    from langdetect.detector_factory import init_factory

    if not _langdetect_ready:
        # langdetect loads its profiles (shipped in the wheel) into a global on first use; two
        # threads doing that at once could see a half-loaded factory, so load it once, locked.
        with _LANGDETECT_LOCK:
            DetectorFactory.seed = 0  # it samples n-grams at random; a fixed seed makes it repeatable
            init_factory()
            _langdetect_ready = True
    try:
        return detect(text)
    except LangDetectException:  # no letters to go on (digits, emoji, empty)
        return None


def compare(count: int, relation: str, n: int) -> bool:
    """``count <relation> n`` for one of :data:`RELATIONS`."""
    if relation == "less than":
        return count < n
    if relation == "at least":
        return count >= n
    if relation == "at most":
        return count <= n
    if relation == "more than":
        return count > n
    if relation == "exactly":
        return count == n
    if relation == "around":  # within 10% (at least 1) either side, as Tulu 3's word constraint reads it
        return abs(count - n) <= max(round(n * 0.1), 1)
    raise InstructionArgsError(f"relation must be one of {', '.join(map(repr, RELATIONS))}, not {relation!r}")


def check_relation(relation: Any) -> str:
    """Validate a relation argument up front (so a bad one fails even on an empty response)."""
    if relation not in RELATIONS:
        raise InstructionArgsError(
            f"relation must be one of {', '.join(map(repr, RELATIONS))}, not {relation!r}"
        )
    return relation
