"""Plain numbers without sympy: ``1,234``, ``-3.50``, ``\\$18``, ``50\\%``, ``\\frac{3}{4}`` -> exact Fractions.

Used by ``math.gsm8k`` (numeric answers) and as the fast path of ``math.accuracy``: when gold and
answer are both plain numbers the verdict needs no parser at all.
"""

from __future__ import annotations

import re
from fractions import Fraction

from .extract import NUMBER

#: Longer numerals are not answers (and int() refuses > 4300 digits anyway).
MAX_DIGITS = 1000

_PLAIN = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+]?\.\d+")
_FRACTION = re.compile(r"([-+]?)\\[dt]?frac\{([-+]?\d+)\}\{([-+]?\d+)\}|([-+]?\d+)/(\d+)")
# Spacing, and the dollar sign: "\\$18.90" is the number 18.90 in MATH and GSM8K alike.
# Degrees too: math-verify reads 90^\\circ as 90.
_LATEX_NOISE = re.compile(r"\\[!,;:$]|\\ |~|\{,\}|\\left|\\right|\\displaystyle|\^\s*\{?\s*\\circ\s*\}?")
_CURRENCY = re.compile(r"\\\$|\$|€|£|¥|\\euro|\\pounds|\bUSD\b|\bdollars?\b|\bcents?\b", re.IGNORECASE)
_PERCENT = re.compile(r"\\?%|\bpercent\b", re.IGNORECASE)
_TEXT = re.compile(r"\\(?:text|mbox|mathrm|textbf|mathbf)\{([^{}]{0,100})\}")


_THOUSANDS = re.compile(r",\\!\s*|\{,\}")  # LaTeX thousands separators: "32,\!348", "32{,}348"


def _clean(s: str) -> str:
    s = _THOUSANDS.sub(",", s.replace("−", "-").replace("–", "-"))
    s = _LATEX_NOISE.sub("", s)
    return s.strip().strip("$").strip()


def to_number(text: str, *, lenient: bool = False) -> Fraction | None:
    """The exact value of a plain number, or None.

    Strict (the default) accepts only a bare numeral or integer fraction (``1,234``, ``-0.5``,
    ``\\frac{3}{4}``, ``3/4``). ``lenient`` also drops currency, percent signs, units and words around
    it and reads the first number left (GSM8K's "$18 per day" -> 18).
    """
    if not text or len(text) > 2 * MAX_DIGITS:
        return None
    s = _clean(text)
    if lenient:
        s = _TEXT.sub(r" \1 ", s)
        s = _PERCENT.sub(" ", _CURRENCY.sub(" ", s)).strip()
        s = s.rstrip(".").strip()
    value = _exact(s)
    if value is not None or not lenient:
        return value
    found = NUMBER.search(s)
    return _exact(found.group(0)) if found else None


def _exact(s: str) -> Fraction | None:
    if re.search(r",\s", s):
        return None  # "1, 234" is a list of two numbers, not 1234
    s = s.replace(" ", "")
    if len(s) > MAX_DIGITS:
        return None
    if _PLAIN.fullmatch(s):
        return Fraction(s.replace(",", "").replace("+", ""))
    m = _FRACTION.fullmatch(s)
    if m:
        if m.group(2) is not None:
            num, den = int(m.group(2)), int(m.group(3))
            sign = -1 if m.group(1) == "-" else 1
        else:
            num, den, sign = int(m.group(4)), int(m.group(5)), 1
        return None if den == 0 else sign * Fraction(num, den)
    return None


def canonical(value: Fraction) -> str:
    """A numeral math-verify reads unambiguously (no thousands commas, which it could take for a tuple)."""
    if value.denominator == 1:
        return str(value.numerator)
    return f"\\frac{{{value.numerator}}}{{{value.denominator}}}"
