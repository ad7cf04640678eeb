"""Plain-number parsing (GSM8K and the fast path) and the pre-checks that keep sympy safe."""

from fractions import Fraction

import pytest

from rewardkit_math import to_number
from rewardkit_math.checker import fast_verdict
from rewardkit_math.guards import unsafe_reason


@pytest.mark.parametrize("text, value", [
    ("1,234", 1234), ("-3.50", Fraction(-7, 2)), ("\\$18.90", Fraction(189, 10)), ("32,\\!348", 32348),
    ("\\frac{3}{4}", Fraction(3, 4)), ("-\\dfrac{1}{2}", Fraction(-1, 2)), ("3/4", Fraction(3, 4)), (".5", Fraction(1, 2)),
    ("−7", -7), ("+2", 2),
])
def test_strict_numbers(text, value):
    assert to_number(text) == value


@pytest.mark.parametrize("text", ["x", "1,23", "2\\sqrt{2}", "(1, 2)", "1e5", "50\\%", "18 dollars", "", "1/0"])
def test_strict_rejects_non_numbers(text):
    assert to_number(text) is None


@pytest.mark.parametrize("text, value", [
    ("$18", 18), ("18 dollars", 18), ("50%", 50), ("50\\%", 50), ("\\$1,000.00", 1000), ("1,000 apples", 1000),
    ("\\text{5 cm}", 5), ("€ 3.5", Fraction(7, 2)), ("-12 degrees", -12),
])
def test_lenient_numbers_drop_currency_units_and_percent(text, value):
    assert to_number(text, lenient=True) == value


def test_a_huge_numeral_is_not_a_number():
    assert to_number("9" * 5000) is None


@pytest.mark.parametrize("gold, answer, equal", [
    ("\\frac{14}{3}", "\\dfrac{14}{3}", True), ("\\left( 3, \\frac{\\pi}{2} \\right)", "\\left(3,  \\frac{\\pi}{2}\\right)", True),
    ("5", "x = 5", True), ("1.25", "\\frac{5}{4}", True), ("10", "11", False), ("0.15", "3", False),
    ("90^\\circ", "90", True), ("145^\\circ", "150", False),
])
def test_fast_verdicts(gold, answer, equal):
    verdict = fast_verdict(gold, answer)
    assert verdict is not None and verdict.equal is equal


@pytest.mark.parametrize("gold, answer", [
    ("\\frac{1}{3}", "0.333333"),  # math-verify rounds decimals: only it can say
    ("58,500", "58, 500"), ("\\$32,\\!348", "\\$32, \\!348"),  # a space after a comma may make a list
    ("2\\sqrt{2}", "\\sqrt{8}"), ("5", "x = 4 + 1"), ("x=5", "5"),
])
def test_fast_path_defers_when_unsure(gold, answer):
    assert fast_verdict(gold, answer) is None


@pytest.mark.parametrize("answer", [
    "9^{9^{9^{9}}}", "10**10**10**10", "2^{10^{10}}", "100000!", "10^{1000000}", "{" * 40 + "1" + "}" * 40,
    "1" * 2000, "(x+1)^{(2^{20})}", "factorial(99999)",
])
def test_guards_reject_explosive_answers(answer):
    assert unsafe_reason(answer) is not None


@pytest.mark.parametrize("answer", [
    "2^{10}", "e^{-x^2}", "x^{x^{x}}", "10!", "\\binom{50}{2}", "\\sum_{k=1}^{10^{12}} k", "2^{3^{2}}",
    "\\int_0^1 e^{-x^{2}}\\,dx", "(2^{10})^{10}", "x^5 - x^4 + x^3 - x^2 + x - 1",
])
def test_guards_let_real_answers_through(answer):
    assert unsafe_reason(answer) is None
