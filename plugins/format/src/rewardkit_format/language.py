"""Language consistency: the share of the completion written in the prompt's language.

DeepSeek-R1-Zero mixed languages in its reasoning; DeepSeek-R1 added a reward for the proportion
of target-language words. Here the completion is cleaned of markup (code, LaTeX, tags, URLs) and
split into sentences and script runs. A run's script alone settles its language where the script
belongs to one language (Hangul, Kana, Thai, Greek, Hebrew; Han without Kana is Chinese) or
differs from the target's script; runs in the target's own script (Latin, Cyrillic, Arabic,
Devanagari) are identified with py3langid (naive Bayes: deterministic, offline). Runs are weighted
by words (CJK characters count one each; numbers count for no language)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from rewardkit import RewardParamsError, Sample, Score, reward

from .checks import whole
from .tokens import words

_SCRIPTS: tuple[tuple[str, str], ...] = (
    ("Latin", "A-Za-z\u00c0-\u024f\u1e00-\u1eff"),
    ("Han", "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"),
    ("Kana", "\u3040-\u30ff"),
    ("Hangul", "\u1100-\u11ff\uac00-\ud7af"),
    ("Cyrillic", "\u0400-\u04ff"),
    ("Greek", "\u0370-\u03ff"),
    ("Arabic", "\u0600-\u06ff"),
    ("Hebrew", "\u0590-\u05ff"),
    ("Devanagari", "\u0900-\u097f"),
    ("Thai", "\u0e00-\u0e7f"),
)
_SCRIPT_OF_CHAR = [(name, re.compile(f"[{ranges}]")) for name, ranges in _SCRIPTS]
#: Scripts that name their language outright.
_SCRIPT_LANGUAGE = {"Han": "zh", "Kana": "ja", "Hangul": "ko", "Greek": "el", "Hebrew": "he", "Thai": "th"}
#: The scripts a language is written in (Latin when not listed).
_LANGUAGE_SCRIPTS: dict[str, tuple[str, ...]] = {
    "zh": ("Han",),
    "ja": ("Han", "Kana"),
    "ko": ("Hangul",),
    "el": ("Greek",),
    "he": ("Hebrew",),
    "th": ("Thai",),
    "ru": ("Cyrillic",),
    "uk": ("Cyrillic",),
    "bg": ("Cyrillic",),
    "mk": ("Cyrillic",),
    "ar": ("Arabic",),
    "fa": ("Arabic",),
    "ur": ("Arabic",),
    "hi": ("Devanagari",),
    "mr": ("Devanagari",),
    "ne": ("Devanagari",),
}

#: Markup that is no language: fenced and inline code, LaTeX math and commands, tags, URLs.
_MARKUP = re.compile(
    r"```.*?(?:```|$)|~~~.*?(?:~~~|$)|`[^`\n]*`"
    r"|\\begin\{([A-Za-z]+\*?)\}.*?\\end\{\1\}|\[asy\].*?\[/asy\]"
    r"|\$\$.*?\$\$|\$[^$\n]*\$|\\\(.*?\\\)|\\\[.*?\\\]"
    r"|\\[A-Za-z]+|</?[A-Za-z_][\w.:-]*\s*/?>|https?://\S+",
    re.DOTALL,
)
#: Tokens where letters are under this share of the characters are formulas or code, not prose.
_MIN_LETTER_SHARE = 0.6
_SENTENCES = re.compile(r"[.!?;:\n\u3002\uff01\uff1f\uff1b]+")
_MIN_DETECT_WORDS = 6


def normalise_language(code: str) -> str:
    """``zh-CN`` / ``zh_tw`` / ``EN`` -> ``zh`` / ``zh`` / ``en`` (the base part)."""
    return code.strip().lower().replace("_", "-").split("-")[0]


def _script(ch: str) -> str | None:
    for name, rx in _SCRIPT_OF_CHAR:
        if rx.match(ch):
            return name
    return None


def _prose(run: str) -> str:
    """The prose of a run: whitespace-separated tokens that are mostly letters (so "3*3=<<9>>9",
    "f(x)" or leftover formula pieces drop out while the words around them stay)."""
    kept = [t for t in run.split() if sum(c.isalpha() for c in t) >= _MIN_LETTER_SHARE * len(t)]
    return " ".join(kept)


def _count(prose: str) -> int:
    """Words in ``prose`` (numbers belong to no language)."""
    return sum(1 for w in words(prose) if not w.isdigit())


def _runs(sentence: str) -> list[tuple[str, str]]:
    """(script, text) runs of one sentence; non-letters join the run they sit in."""
    runs: list[tuple[str, list[str]]] = []
    for ch in sentence:
        s = _script(ch)
        if runs and {s, runs[-1][0]} == {"Han", "Kana"}:
            # Japanese mixes kanji and kana: one run, and the kana mark it as Japanese
            runs[-1], s = ("Kana", runs[-1][1]), "Kana"
        if s is None or (runs and runs[-1][0] == s):
            if runs:
                runs[-1][1].append(ch)
            continue
        runs.append((s, [ch]))
    return [(s, "".join(chars)) for s, chars in runs]


class _Detector:
    """py3langid (naive Bayes over byte n-grams: deterministic, offline), loaded once, thread-safe."""

    def __init__(self) -> None:
        self._identifier: Any = None
        self._lock = threading.Lock()

    def __call__(self, text: str) -> dict[str, float]:
        """Language probabilities of ``text`` (normalised codes, the ten likeliest)."""
        with self._lock:
            if self._identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                self._identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        probs: dict[str, float] = {}
        for code, prob in self._identifier.rank(text)[:10]:
            key = normalise_language(code)
            probs[key] = probs.get(key, 0.0) + float(prob)
        return probs


detect_language = _Detector()
#: A same-script part counts as the target language when the detector gives the target at least
#: this probability: short sentences are ambiguous ("Expanding, we get"), and the question is
#: "is this plausibly the target language?", not "which language is it most?".
TARGET_MIN_PROB = 0.05
#: Below this top probability a prompt's language is undecided (e.g. "Compute $x^2$."): the
#: reward then uses ``fallback_language``.
PROMPT_MIN_PROB = 0.5


def _pick(probs: dict[str, float], target: str | None) -> str | None:
    if not probs:
        return None
    if target is not None and probs.get(target, 0.0) >= TARGET_MIN_PROB:
        return target
    return max(probs, key=probs.__getitem__)


@dataclass(frozen=True)
class Part:
    """A piece of text, its word count, and its language (None when undecided)."""

    text: str
    words: int
    script: str
    language: str | None


def clean(text: str) -> str:
    """``text`` with code, LaTeX, tags and URLs blanked out."""
    return _MARKUP.sub(" ", text)


def language_of(text: str, min_prob: float = PROMPT_MIN_PROB) -> str | None:
    """The main language of ``text`` (after removing markup); None if it has no prose or the
    detector is less sure than ``min_prob``."""
    counts: dict[str, int] = {}
    prose: dict[str, list[str]] = {}
    for sentence in _SENTENCES.split(clean(text)):
        for script, run in _runs(sentence):
            kept = _prose(run)
            counts[script] = counts.get(script, 0) + _count(kept)
            prose.setdefault(script, []).append(kept)
    if not any(counts.values()):
        return None
    script = max(counts, key=counts.__getitem__)
    if script in _SCRIPT_LANGUAGE:
        return _SCRIPT_LANGUAGE[script]
    probs = detect_language(". ".join(p for p in prose[script] if p))
    best = max(probs, key=probs.__getitem__) if probs else None
    return best if best is not None and probs[best] >= min_prob else None


def parts(text: str, target: str) -> list[Part]:
    """Split ``text`` into language-tagged parts, relative to the target language."""
    target_scripts = _LANGUAGE_SCRIPTS.get(target, ("Latin",))
    out: list[Part] = []
    pending: list[tuple[str, str, int]] = []  # same-script runs waiting for enough words to detect

    def flush(force: bool) -> None:
        n = sum(w for _, _, w in pending)
        if not pending or (n < _MIN_DETECT_WORDS and not force):
            return
        joined = " ".join(t for _, t, _ in pending)
        same_script = [p for p in out if p.script == pending[0][0] and p.language is not None]
        if n < _MIN_DETECT_WORDS and same_script:
            lang = same_script[-1].language  # a short tail ("So", "Thus,") goes with what precedes it
        else:
            lang = _pick(detect_language(joined), target)
        out.append(Part(joined, n, pending[0][0], lang))
        pending.clear()

    for sentence in _SENTENCES.split(clean(text)):
        for script, raw in _runs(sentence):
            run = _prose(raw)
            n = _count(run)
            if n == 0:
                continue
            if script in _SCRIPT_LANGUAGE:
                # kanji-only runs in a Japanese answer are Japanese, not Chinese
                lang = "ja" if target == "ja" and script == "Han" else _SCRIPT_LANGUAGE[script]
                out.append(Part(run, n, script, lang))
            elif script not in target_scripts:
                out.append(Part(run, n, script, None))  # wrong script: not the target, whatever it is
            else:
                if pending and pending[0][0] != script:
                    flush(force=True)
                pending.append((script, run, n))
        flush(force=False)
    flush(force=True)
    return out


def _check_language(*, language: str, fallback_language: str, min_words: int, **_: Any) -> None:
    whole("min_words", min_words, minimum=1, example="min_words: 3")
    for name, code in (("language", language), ("fallback_language", fallback_language)):
        if code and not (isinstance(code, str) and re.fullmatch(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]+)?", code)):
            raise RewardParamsError(f"{name} must be an ISO 639-1 code such as 'en' or 'zh', not {code!r}")


@reward("format.language", validate=_check_language)
def language_consistency(
    sample: Sample,
    *,
    language: str = "",
    language_column: str = "",
    fallback_language: str = "en",
    min_words: int = 3,
) -> Score:
    """Share of the completion's words in the target language (1.0 = all of it).

    The target is ``params.language`` (ISO 639-1, e.g. ``en``, ``zh``), else the row's
    ``language_column`` when named, else the prompt's detected language; when the prompt is too
    short to tell (e.g. "Compute $x^2$."), ``fallback_language`` (``""``: not applicable). Code,
    LaTeX, tags, URLs and numbers are ignored. Completions with fewer than ``min_words`` words of
    prose are not applicable.
    """
    target = language or (sample.column(language_column) if language_column else None)
    source = "param" if language else "column"
    if not target:
        target, source = language_of(sample.prompt_text), "prompt"
        if target is None:
            target, source = fallback_language, "fallback"
        if not target:
            return Score.not_applicable("cannot tell the prompt's language; set params.language")
    target = normalise_language(str(target))
    pieces = parts(sample.completion_text, target)
    total = sum(p.words for p in pieces)
    if total < min_words:
        return Score.not_applicable(f"fewer than {min_words} words of prose to check", target=target)
    same = sum(p.words for p in pieces if p.language == target)
    by_language: dict[str, int] = {}
    for p in pieces:
        key = p.language or f"?{p.script}"
        by_language[key] = by_language.get(key, 0) + p.words
    return Score(
        same / total,
        reason=f"{same}/{total} words in {target}",
        details={"target": target, "target_from": source, "words_by_language": by_language},
    )
