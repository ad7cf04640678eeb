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
    with _SEGMENTER_LOCK:
        pieces = _segmenter().segment(text)
    return [p for p in pieces if p.strip()]


def detect_language(text: str) -> str | None:
    """ISO 639-1 code langdetect gives ``text`` (deterministic), or None when it cannot tell."""
    from langdetect import DetectorFactory, LangDetectException, detect

    DetectorFactory.seed = 0  # langdetect samples n-grams at random; a fixed seed makes it repeatable
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
