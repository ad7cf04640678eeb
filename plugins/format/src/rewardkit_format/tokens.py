"""Counting completion length in tokens, the unit every length reward is defined on.

Three sources, best first, and every length reward reports which one it used in
``details["length_method"]``:

1. ``completion_ids``: the token ids TRL passes to reward functions (exact, free).
2. ``tokenizer``: a Hugging Face tokenizer (hub name or local folder), loaded lazily and cached.
3. ``approx``: a regex count of word pieces, punctuation marks and CJK characters. It is
   deterministic and dependency-free, but BPE tokenizers usually produce more tokens than this
   for English text (sub-word splits), so set budgets in the same unit you measure with.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from rewardkit import RewardParamsError, Sample

#: CJK ideographs, kana and hangul count one piece per character (as most tokenizers roughly do).
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_PIECE = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|[^\w\s]", re.UNICODE)
#: Words only (no punctuation), CJK characters one by one: the unit of n-gram repetition.
_WORD = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+", re.UNICODE)


@dataclass(frozen=True)
class Length:
    """A token count and how it was obtained (``completion_ids``, ``tokenizer:<name>`` or ``approx``)."""

    tokens: int
    method: str


def approx_pieces(text: str) -> list[str]:
    """The approximate tokens of ``text``: word pieces, single punctuation marks, CJK characters."""
    return _PIECE.findall(text)


def words(text: str) -> list[str]:
    """Lower-cased words of ``text`` (CJK characters one by one), punctuation dropped."""
    return [w.lower() for w in _WORD.findall(text)]


_tokenizers: dict[str, Any] = {}
_lock = threading.Lock()


def load_tokenizer(name: str) -> Any:
    """Load (once per process) a Hugging Face tokenizer by hub name or local path."""
    with _lock:
        tok = _tokenizers.get(name)
        if tok is not None:
            return tok
        try:
            from transformers import AutoTokenizer
        except ImportError as exc:  # pragma: no cover - transformers is optional
            raise RewardParamsError(
                f"params.tokenizer={name!r} needs transformers: pip install 'rewardkit-format[tokenizer]', "
                "or drop params.tokenizer to use completion_ids or the approximate count"
            ) from exc
        try:
            tok = AutoTokenizer.from_pretrained(name)
        except Exception as exc:
            raise RewardParamsError(
                f"could not load tokenizer {name!r} ({type(exc).__name__}: {exc}); pass the path of a "
                "folder written by tokenizer.save_pretrained(), or drop params.tokenizer to use "
                "completion_ids or the approximate count"
            ) from exc
        _tokenizers[name] = tok
        return tok


def count_text(text: str, tokenizer: str | None = None) -> Length:
    """Tokens in ``text`` with ``tokenizer`` when given, else the approximation."""
    if tokenizer:
        tok = load_tokenizer(tokenizer)
        return Length(len(tok.encode(text, add_special_tokens=False)), f"tokenizer:{tokenizer}")
    return Length(len(approx_pieces(text)), "approx")


def completion_length(
    sample: Sample, tokenizer: str | None = None, ids_column: str = "completion_ids"
) -> Length:
    """The completion's length: its token ids when the row carries them, else :func:`count_text`."""
    ids = sample.column(ids_column)
    if ids is not None:
        try:
            return Length(len(ids), ids_column)
        except TypeError:  # a scalar or an odd object: fall through to counting the text
            pass
    return count_text(sample.completion_text, tokenizer)


def segment_length(
    sample: Sample, segment: str, tokenizer: str | None = None, ids_column: str = "completion_ids"
) -> Length:
    """Tokens in ``segment``, a part of the completion (e.g. the thinking).

    With a tokenizer the segment is tokenized directly. With only ``completion_ids`` the exact
    count of a part is unknown, so the ids are shared out in proportion to the approximate pieces
    (method ``completion_ids~share``). Otherwise the approximation.
    """
    if tokenizer:
        return count_text(segment, tokenizer)
    whole = completion_length(sample, None, ids_column)
    if whole.method == ids_column:
        total = len(approx_pieces(sample.completion_text))
        part = len(approx_pieces(segment))
        tokens = whole.tokens if total == 0 or part >= total else round(whole.tokens * part / total)
        return Length(tokens, f"{ids_column}~share")
    return count_text(segment)
