"""Host-side judging of what a program printed or returned against the expected output."""

from __future__ import annotations

import math
import re
from typing import Any

# The runner hashes outputs in these same canonical forms (one implementation for both sides).
from .runner import canon_tokens, canon_value

__all__ = ["canon_tokens", "canon_value", "expected_values", "output_is_tolerant", "outputs_match", "tokens",
           "value_is_tolerant", "values_match"]

_FLOATISH = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+)$")
TOLERANCE = 1e-6


def tokens(text: str) -> list[str]:
    return text.split()


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def outputs_match(actual: str, expected: str) -> bool:
    """Token-wise equality, as competitive-programming checkers do: whitespace and line breaks are
    not significant; a token the expected output writes as a decimal (``0.333333``) matches any
    number within 1e-6 (absolute or relative); integers and words must match exactly."""
    got, want = tokens(actual), tokens(expected)
    if got == want:
        return True
    if len(got) != len(want):
        return False
    for g, w in zip(got, want):
        if g == w:
            continue
        if not _FLOATISH.match(w):
            return False
        try:
            if not _close(float(g), float(w)):
                return False
        except ValueError:
            return False
    return True


def output_is_tolerant(expected: str) -> bool:
    """Whether a token-hash mismatch may still pass (the expected output has decimals)."""
    return any(_FLOATISH.match(t) for t in tokens(expected))


def values_match(actual: Any, expected: Any) -> bool:
    """Equality of plain JSON values with float tolerance; APPS wraps many expected return values in
    a one-element list, so ``[x]`` also accepts ``x``."""
    if _equal(actual, expected):
        return True
    return isinstance(expected, list) and len(expected) == 1 and _equal(actual, expected[0])


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or (isinstance(a, float) or isinstance(b, float)) and _close(float(a), float(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def expected_values(expected: Any) -> list[Any]:
    """The forms of an expected return value :func:`values_match` accepts (for the runner's hashes)."""
    forms = [expected]
    if isinstance(expected, list) and len(expected) == 1:
        forms.append(expected[0])
    return forms


def value_is_tolerant(expected: Any) -> bool:
    if isinstance(expected, float):
        return True
    if isinstance(expected, list):
        return any(value_is_tolerant(v) for v in expected)
    if isinstance(expected, dict):
        return any(value_is_tolerant(v) for v in expected.values())
    return False
