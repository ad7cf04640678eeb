"""Language consistency: the share of the completion written in the prompt's language.

R1-Zero mixed languages in its reasoning; DeepSeek-R1 added a reward for the proportion of target-
language words. Here the completion is cleaned of markup (code, LaTeX math, tags, URLs) and split
into sentences and script runs. A run's script alone settles its language where the script
belongs to one language (Hangul, Kana, Thai, Greek, Hebrew; Han without Kana is Chinese) or
differs from the target's script; runs in the target's own script (Latin, Cyrillic, Arabic,
Devanagari) are identified with langdetect, seeded for determinism. Runs are weighted by words
(CJK characters count one each).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from rewardkit import RewardParamsError, Sample, Score, reward

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
#: The script a language is written in (Latin when not listed).
_LANGUAGE_SCRIPT = {
    "zh": "Han", "ja": "Han+Kana", "ko": "Hangul", "el": "Greek", "he": "Hebrew", "th": "Thai",
    "ru": "Cyrillic", "uk": "Cyrillic", "bg": "Cyrillic", "mk": "Cyrillic",
    "ar": "Arabic", "fa": "Arabic", "ur": "Arabic",
    "hi": "Devanagari", "mr": "Devanagari", "ne": "Devanagari",
}
_ANY_LETTER = re.compile("[" + "".join(r for _, r in _SCRIPTS) + "]")

#: Markup that is no language: fenced and inline code, LaTeX math and commands, tags, URLs.
_MARKUP = re.compile(
    r"```.*?(?:```|$)|~~~.*?(?:~~~|$)|`[^`\n]*`"
    r"|\$\$.*?\$\$|\$[^$\n]*\$|\\\(.*?\\\)|\\\[.*?\\\]"
    r"|\\[A-Za-z]+|</?[A-Za-z_][\w.:-]*\s*/?>|https?://\S+",
    re.DOTALL,
)
_SENTENCES = re.compile(r"[.!?;:\n\u3002\uff01\uff1f\uff1b]+")
_MIN_DETECT_WORDS = 6


def normalise_language(code: str) -> str:
    """``zh-CN`` / ``zh_tw`` / ``EN`` -> ``zh`` / ``zh`` / ``en`` (langdetect's codes, base part)."""
    return code.strip().lower().replace("_", "-").split("-")[0]


def _script(ch: str) -> str | None:
    for name, rx in _SCRIPT_OF_CHAR:
        if rx.match(ch):
            return name
    return None


def _runs(sentence: str) -> list[tuple[str, str]]:
    """(script, text) runs of one sentence; non-letters join the run they sit in."""
    runs: list[tuple[str, list[str]]] = []
    for ch in sentence:
        s = _script(ch)
        if s == "Han" and runs and runs[-1][0] == "Kana" or s == "Kana" and runs and runs[-1][0] == "Han":
            s = "Kana"  # Japanese mixes kanji and kana: one run, and kana marks it as Japanese
            if runs[-1][0] == "Han":
                runs[-1] = ("Kana", runs[-1][1])
        if s is None or (runs and runs[-1][0] == s):
            if runs:
                runs[-1][1].append(ch)
            continue
        runs.append((s, [ch]))
    return [(s, "".join(chars)) for s, chars in runs]


class _Detector:
    """langdetect with its own factory: profiles loaded once, seed fixed (results repeat)."""

    def __init__(self) -> None:
        self._factory: Any = None
        self._lock = threading.Lock()

    def __call__(self, text: str) -> dict[str, float]:
        """Language probabilities of ``text`` (normalised codes), empty when undetectable."""
        from langdetect.lang_detect_exception import LangDetectException

        with self._lock:
            if self._factory is None:
                from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

                factory = DetectorFactory()
                factory.load_profile(PROFILES_DIRECTORY)
                factory.set_seed(0)
                self._factory = factory
        detector = self._factory.create()
        detector.append(text)
        try:
            found = detector.get_probabilities()
        except LangDetectException:
            return {}
        probs: dict[str, float] = {}
        for item in found:
            code = normalise_language(item.lang)
            probs[code] = probs.get(code, 0.0) + item.prob
        return probs


detect_language = _Detector()
#: A same-script part counts as the target language when langdetect gives the target at least
#: this probability: short sentences are ambiguous between close languages (ru/bg, es/pt), and
#: the question is "is this plausibly the target language?", not "which language is it most?".
TARGET_MIN_PROB = 0.2


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
    return _MARKUP.sub(" ", text)


def language_of(text: str) -> str | None:
    """The main language of ``text`` (after removing markup), or None if it has no letters."""
    text = clean(text)
    counts: dict[str, int] = {}
    for sentence in _SENTENCES.split(text):
        for script, run in _runs(sentence):
            counts[script] = counts.get(script, 0) + len(words(run))
    if not counts:
        return None
    script = max(counts, key=counts.__getitem__)
    if script in _SCRIPT_LANGUAGE:
        return _SCRIPT_LANGUAGE[script]
    return _pick(detect_language(text), None)


def parts(text: str, target: str) -> list[Part]:
    """Split ``text`` into language-tagged parts, relative to the target language."""
    target_script = _LANGUAGE_SCRIPT.get(target, "Latin")
    out: list[Part] = []
    pending: list[tuple[str, str, int]] = []  # same-script runs waiting for enough words to detect

    def flush(force: bool) -> None:
        n = sum(w for _, _, w in pending)
        if not pending or (n < _MIN_DETECT_WORDS and not force):
            return
        joined = " ".join(t for _, t, _ in pending)
        lang = _pick(detect_language(joined), target)
        if lang is None and out:
            lang = out[-1].language
        out.append(Part(joined, n, pending[0][0], lang))
        pending.clear()

    for sentence in _SENTENCES.split(clean(text)):
        for script, run in _runs(sentence):
            n = len(words(run))
            if n == 0:
                continue
            if script in _SCRIPT_LANGUAGE:
                # kanji-only runs in a Japanese answer are Japanese, not Chinese
                lang = "ja" if target == "ja" and script == "Han" else _SCRIPT_LANGUAGE[script]
                out.append(Part(run, n, script, lang))
            elif script not in target_script.split("+"):
                out.append(Part(run, n, script, None))  # wrong script: not the target, whatever it is
            else:
                if pending and pending[0][0] != script:
                    flush(force=True)
                pending.append((script, run, n))
        flush(force=False)
    flush(force=True)
    return out


@reward("format.language")
def language_consistency(
    sample: Sample,
    *,
    language: str = "",
    language_column: str = "",
    min_words: int = 3,
) -> Score:
    """Share of the completion's words in the target language (1.0 = all of it).

    The target is ``params.language`` (ISO 639-1, e.g. ``en``, ``zh``), else the row's
    ``language_column`` when named, else the prompt's detected language. Code, LaTeX, tags and
    URLs are ignored. Completions with fewer than ``min_words`` words of text are not applicable.
    """
    if isinstance(min_words, bool) or not isinstance(min_words, int) or min_words < 1:
        raise RewardParamsError(f"min_words must be a whole number >= 1 (e.g. min_words: 3), not {min_words!r}")
    if language and not re.fullmatch(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]+)?", language):
        raise RewardParamsError(f"language must be an ISO 639-1 code such as 'en' or 'zh', not {language!r}")
    target = language or (sample.column(language_column) if language_column else None)
    source = "param" if language else "column"
    if not target:
        target, source = language_of(sample.prompt_text), "prompt"
        if target is None:
            return Score.not_applicable("the prompt has no text to detect a language from; set params.language")
    target = normalise_language(str(target))
    pieces = parts(sample.completion_text, target)
    total = sum(p.words for p in pieces)
    if total < min_words:
        return Score.not_applicable(f"fewer than {min_words} words of text to check", target=target)
    same = sum(p.words for p in pieces if p.language == target)
    by_language: dict[str, int] = {}
    for p in pieces:
        key = p.language or f"?{p.script}"
        by_language[key] = by_language.get(key, 0) + p.words
    return Score(same / total, reason=f"{same}/{total} words in {target}",
                 details={"target": target, "target_from": source, "words_by_language": by_language})
