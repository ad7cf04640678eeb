"""Reading a judge's verdict out of its free-form text.

A judge writes its reasoning first and its verdict last, so the parser takes the *last* verdict, and
prefers the form the templates ask for (``Verdict: 7``, ``[[A]]``, ``Verdict: PASS``) over looser ones
(``Score: 7/10``, ``**Rating:** 8``, ``Response A is better``). Markdown emphasis is ignored; text
after ``</think>`` is preferred when a reasoning model wraps its thoughts. Numbers outside 1-10 (or on
another scale, ``4/5``) are rejected, not clipped: a verdict that cannot be trusted is ``None`` with
the reason, never a guess.

:class:`Verdict` ``.value`` is always a reward in [0, 1]: pointwise ``(score - 1) / 9``, reference
PASS = 1 / FAIL = 0, pairwise A = 1 / B = 0 / tie = 0.5 (from response A's side).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Kind = Literal["pointwise", "reference", "pairwise"]
KINDS: tuple[Kind, ...] = ("pointwise", "reference", "pairwise")
SCORE_MIN, SCORE_MAX = 1.0, 10.0


@dataclass(frozen=True)
class Verdict:
    """One parsed judgement.

    ``value``: the reward in [0, 1], or None when no valid verdict was found (``reason`` says why).
    ``label``: the verdict as the judge wrote it, normalised (``"7"``, ``"PASS"``, ``"A"``, ``"TIE"``).
    ``score``: the raw 1-10 score (pointwise only). ``matched``: the text the verdict was read from.
    """

    value: float | None
    label: str | None = None
    reason: str = ""
    score: float | None = None
    matched: str = ""

    @property
    def ok(self) -> bool:
        return self.value is not None


def _clean(text: str) -> str:
    """The part of ``text`` that holds the verdict, without markdown emphasis or code ticks."""
    if "</think>" in text:  # reasoning models: the verdict follows the thoughts
        tail = text.rsplit("</think>", 1)[1]
        if tail.strip():
            text = tail
    text = re.sub(r"\*\*|__|`", "", text)
    return re.sub(r"^\s*#+\s*", "", text, flags=re.MULTILINE)


def _last(patterns: list[re.Pattern[str]], text: str,
          label: Callable[[re.Match[str]], str] | None = None) -> re.Match[str] | None:
    """The match that ends last among ``patterns`` (one tier of equally trusted forms).

    With ``label``, a line that holds two different verdicts is skipped: it lists the options
    (a judge echoing its instructions: '"[[A]]" if A is better, "[[B]]" if ...'), it does not choose.
    """
    found = [m for pattern in patterns for m in pattern.finditer(text)]
    if label is not None:
        by_line: dict[int, set[str]] = {}
        for m in found:
            by_line.setdefault(text.count("\n", 0, m.start()), set()).add(label(m))
        found = [m for m in found if len(by_line[text.count("\n", 0, m.start())]) == 1]
    return max(found, key=lambda m: m.end(), default=None)


# -- shared pieces --------------------------------------------------------------------------------
_GAP = r"[^\S\n]*(?:\([^)\n]{0,20}\))?[^\S\n]*"  # spaces, maybe "(1-10)"
_LABEL_END = r"[:=][^\S\n]*[\[\"'(]{0,2}[^\S\n]*"  # ": ", " = [[", ': "'


# -- pointwise: a 1-10 score -----------------------------------------------------------------------
# a number, maybe "/10" or "out of 10" after it, but not the start of a range ("1 to 10", "1-10")
_NUM = r"(?P<num>\d+(?:\.\d+)?)(?!\s*(?:-|–|to)\s*\d)(?:\s*(?:/|out\s+of)\s*(?P<den>\d+))?"
_POINTWISE_TIERS = [
    # a labelled verdict, as the templates ask: "Score: 7", "Verdict: 7/10", "Rating = [[8]]", "[[7]]"
    [re.compile(r"\b(?:(?:final|overall)\s+)?(?:verdict|score|rating|grade)\b" + _GAP + _LABEL_END + _NUM, re.IGNORECASE),
     re.compile(r"\[\[\s*" + _NUM + r"\s*\]\]")],
    # in prose: "I give it a score of 6", "the rating is 8", "rate it 7"
    [re.compile(r"\b(?:verdict|score|rating|grade|rate\s+(?:it|this|the\s+\w+))\b" + _GAP
                + r"(?:(?:is|of|would\s+be|a|an|at)\s+){0,3}" + _NUM, re.IGNORECASE)],
    # a bare "7/10" or "7 out of 10"
    [re.compile(r"(?<![\d.])(?P<num>\d+(?:\.\d+)?)\s*(?:/|out\s+of)\s*(?P<den>10)\b", re.IGNORECASE)],
    # the whole last line is a number
    [re.compile(r"(?:^|\n)[^\S\n]*(?P<num>\d+(?:\.\d+)?)[^\S\n]*[.!]?[^\S\n]*$")],
]


def _parse_pointwise(text: str) -> Verdict:
    for tier in _POINTWISE_TIERS:
        m = _last(tier, text)
        if m is None:
            continue
        matched = m.group(0).strip()
        score = float(m.group("num"))
        den = m.groupdict().get("den")
        if den is not None and float(den) != SCORE_MAX:
            return Verdict(None, reason=f"score {matched!r} is not on the 1-10 scale", matched=matched)
        if not SCORE_MIN <= score <= SCORE_MAX:
            return Verdict(None, reason=f"score {score:g} is outside 1-10 ({matched!r})", matched=matched)
        label = f"{score:g}"
        return Verdict((score - SCORE_MIN) / (SCORE_MAX - SCORE_MIN), label=label, reason=f"score {label}/10",
                       score=score, matched=matched)
    return Verdict(None, reason="no 1-10 score found (expected a last line like 'Score: 7')")


# -- reference: PASS / FAIL ------------------------------------------------------------------------
_PASS_WORDS = {"pass", "passed", "correct", "right", "yes", "true", "match", "matches", "equivalent", "same"}
_FAIL_WORDS = {"fail", "failed", "incorrect", "wrong", "no", "false", "mismatch", "different"}
_WORD = r"(?P<neg>not\s+)?(?P<word>" + "|".join(sorted(_PASS_WORDS | _FAIL_WORDS, key=len, reverse=True)) + r")\b"
_REFERENCE_TIERS = [
    # a labelled verdict: "Verdict: PASS", "Final verdict: [[FAIL]]", "Judgement = correct", "[[PASS]]"
    [re.compile(r"\b(?:verdict|judge?ment|decision|result|grade|assessment|conclusion)\b" + _GAP + _LABEL_END
                + _WORD, re.IGNORECASE),
     re.compile(r"\[\[\s*(?P<neg>not\s+)?(?P<word>pass|fail|correct|incorrect|yes|no)\s*\]\]", re.IGNORECASE)],
    # an upper-case PASS / FAIL / CORRECT / INCORRECT on its own
    [re.compile(r"\b(?P<neg>NOT\s+)?(?P<word>PASS|FAIL|CORRECT|INCORRECT)\b")],
    # in prose: "my verdict is FAIL", "the verdict would be pass"
    [re.compile(r"\bverdict\s+(?:is|would\s+be)\s+" + _WORD, re.IGNORECASE)],
]


def _pass_fail(m: re.Match[str]) -> str:
    return "PASS" if (m.group("word").lower() in _PASS_WORDS) != bool(m.group("neg")) else "FAIL"


def _parse_reference(text: str) -> Verdict:
    for tier in _REFERENCE_TIERS:
        m = _last(tier, text, _pass_fail)
        if m is None:
            continue
        label = _pass_fail(m)
        return Verdict(1.0 if label == "PASS" else 0.0, label=label, reason=label, matched=m.group(0).strip())
    return Verdict(None, reason="no PASS/FAIL verdict found (expected a last line like 'Verdict: PASS')")


# -- pairwise: A / B / tie -------------------------------------------------------------------------
_WHO_PREFIX = r"(?:(?i:response|assistant|answer|output)\s+)?"
_PAIRWISE_TIERS = [
    # "[[A]]", "[[B]]", "[[C]]" (MT-Bench's tie), "Verdict: B", "Final verdict: Response A", "Winner: tie"
    [re.compile(r"\[\[\s*" + _WHO_PREFIX + r"(?P<who>A|B|C|(?i:tie))\s*\]\]"),
     re.compile(r"(?i:\b(?:verdict|winner|better\s+(?:response|answer)|choice|decision)\b)" + _GAP + _LABEL_END
                + _WHO_PREFIX + r"(?P<who>A|B|(?i:tie))\b")],
    # in prose: "Response A is better", "Answer B is more accurate" (quality, not "more detailed"),
    # "I prefer Assistant B", "Answer B wins", "it's a tie"
    [re.compile(r"(?i:\b(?:response|assistant|answer|output)\s+)(?P<who>A|B)\s+(?i:is\s+(?:better|superior|"
                r"preferred|the\s+better|more\s+(?:accurate|correct|helpful|complete|precise|relevant)))"),
     re.compile(r"(?i:\bprefer\s+(?:response|assistant|answer|output)\s+)(?P<who>A|B)\b"),
     re.compile(r"(?i:\b(?:response|assistant|answer|output)\s+)(?P<who>A|B)(?i:\s+wins)\b"),
     re.compile(r"\b(?i:it'?s|is)\s+a\s+(?P<who>(?i:tie))\b")],
]


def _who(m: re.Match[str]) -> str:
    who = m.group("who").upper()
    return "TIE" if who in ("C", "TIE") else who


def _parse_pairwise(text: str) -> Verdict:
    for tier in _PAIRWISE_TIERS:
        m = _last(tier, text, _who)
        if m is None:
            continue
        who = _who(m)
        if who == "TIE":
            return Verdict(0.5, label="TIE", reason="tie", matched=m.group(0).strip())
        return Verdict(1.0 if who == "A" else 0.0, label=who, reason=f"{who} is better", matched=m.group(0).strip())
    return Verdict(None, reason="no A/B verdict found (expected a last line like '[[A]]', '[[B]]' or '[[C]]')")


_PARSERS: dict[str, Callable[[str], Verdict]] = {
    "pointwise": _parse_pointwise,
    "reference": _parse_reference,
    "pairwise": _parse_pairwise,
}


def parse_verdict(kind: str, text: str | None) -> Verdict:
    """Parse the judge output ``text`` for a judgement of ``kind`` (pointwise, reference, pairwise)."""
    parser = _PARSERS.get(kind)
    if parser is None:
        raise ValueError(f"unknown verdict kind {kind!r}; use one of {', '.join(KINDS)}")
    if not text or not text.strip():
        return Verdict(None, reason="the judge returned no text")
    return parser(_clean(text))
