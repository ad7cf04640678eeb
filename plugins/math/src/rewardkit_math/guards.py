"""Cheap pre-checks that keep hopeless inputs away from sympy.

An answer such as ``9^{9^{9^{9}}}`` or ``100000!`` would make sympy evaluate numbers with billions
of digits. The worker deadline and memory cap would stop it, but only after burning a core for the
whole deadline and restarting a worker; these checks reject it in microseconds instead. They are
deliberately conservative: real answers (``2^{10}``, ``10!``, ``\\binom{50}{2}``) pass.
"""

from __future__ import annotations

import math
import re

#: Defaults for the ``max_answer_chars`` param and the structural caps.
MAX_ANSWER_CHARS = 1000
MAX_BRACE_DEPTH = 30
MAX_EXPONENT_DIGITS = 5  # 2^{99999} is fine for sympy; 2^{10^{6}}-sized exponents are not
MAX_FACTORIAL = 2000

_POW = re.compile(r"\^|\*\*")
_FACT = re.compile(r"(\d+)\s*!|\\?factorial\s*\(\s*(\d+)")
_BIG_LITERAL_EXP = re.compile(r"(?:\^|\*\*)\s*\{?\s*[-+]?\(?\s*(\d+)")


def brace_depth(s: str) -> int:
    depth = best = 0
    for c in s:
        if c in "{([":
            depth += 1
            best = max(best, depth)
        elif c in "})]":
            depth -= 1
    return best


def _exponent_operand(s: str, i: int) -> str:
    """The operand right after a ``^``/``**`` that ends at index ``i``: a {group}, (group) or token."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i < len(s) and s[i] in "{(":
        opening, closing = s[i], "}" if s[i] == "{" else ")"
        depth = 0
        for j in range(i, len(s)):
            depth += (s[j] == opening) - (s[j] == closing)
            if depth == 0:
                return s[i : j + 1]
        return s[i:]
    m = re.match(r"[-+]?[\w.\\]+", s[i:])
    return m.group(0) if m else ""


# A numeric power inside an exponent: "10^{10}", "9^{9", "10**10" (base and exponent as written).
_INNER_POWER = re.compile(r"(\d+(?:\.\d+)?)\s*\}?\s*(?:\^|\*\*)\s*\{?\s*\(?\s*(\d+)")
# Bounds of sums, products and integrals use ^ without meaning a power.
_BOUND = re.compile(r"\\(?:sum|prod|int|oint|iint|bigcup|bigcap|coprod)\s*(?:_\s*(?:\{[^{}]*\}|\S))?\s*$")
#: An exponent that is itself a numeric power above 10**3 makes the value astronomically large.
MAX_INNER_POWER_LOG10 = 3.0


def _inner_power_log10(operand: str) -> float:
    best = 0.0
    for m in _INNER_POWER.finditer(operand):
        base, exp = float(m.group(1)), m.group(2)
        if base > 1:
            best = max(best, (float("inf") if len(exp) > 15 else int(exp)) * math.log10(base))
    return best


def power_tower(s: str) -> bool:
    """True for exponents that are themselves big numeric powers: ``2^{10^{10}}``, ``9^{9^{9^{9}}}``,
    ``10**10**10``. Symbolic ones (``e^{-x^2}``, ``x^{x^{x}}``) stay: sympy keeps them unevaluated."""
    for m in _POW.finditer(s):
        if m.group(0) == "^" and _BOUND.search(s[max(0, m.start() - 60) : m.start()]):
            continue
        operand = _exponent_operand(s, m.end())
        rest = s[m.end() :].lstrip(" ")[len(operand) :].lstrip(" ")
        if rest.startswith("**") or (m.group(0) == "^" and rest.startswith("^")):
            operand = operand + rest[: 2 if rest.startswith("**") else 1] + _exponent_operand(
                rest, 2 if rest.startswith("**") else 1)  # a**b**c is a**(b**c)
        if _inner_power_log10(operand) > MAX_INNER_POWER_LOG10:
            return True
    return False


def unsafe_reason(s: str, *, max_chars: int = MAX_ANSWER_CHARS) -> str | None:
    """Why ``s`` should not reach sympy, or None when it is fine."""
    if len(s) > max_chars:
        return f"answer longer than {max_chars} characters"
    if brace_depth(s) > MAX_BRACE_DEPTH:
        return f"brackets nested deeper than {MAX_BRACE_DEPTH}"
    if _POW.search(s):
        if power_tower(s):
            return "an exponent that is itself a huge power (power tower)"
        for m in _BIG_LITERAL_EXP.finditer(s):
            if len(m.group(1)) > MAX_EXPONENT_DIGITS and not _BOUND.search(s[max(0, m.start() - 60) : m.start()]):
                return f"exponent with more than {MAX_EXPONENT_DIGITS} digits"
    for m in _FACT.finditer(s):
        n = m.group(1) or m.group(2)
        if len(n) > 6 or int(n) > MAX_FACTORIAL:
            return f"factorial of a number above {MAX_FACTORIAL}"
    return None
