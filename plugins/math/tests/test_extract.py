"""Answer extraction: boxed (last, nested), <answer> tags, "The answer is", ####, last number."""

import pytest
from rewardkit import RewardParamsError

from rewardkit_math import extract
from rewardkit_math.extract import answer_is, answer_tag, boxed, hashes, last_number


def test_boxed_takes_the_last_box_and_keeps_nested_braces():
    text = r"First \boxed{1}, then $\boxed{\frac{\sqrt{2}}{2}}$ and finally \boxed{\left(3, \frac{\pi}{2}\right)}."
    assert boxed(text) == r"\left(3, \frac{\pi}{2}\right)"
    assert boxed(r"\boxed{\frac{a}{b}}") == r"\frac{a}{b}"


def test_boxed_variants():
    assert boxed(r"\boxed{\boxed{5}}") == "5"
    assert boxed(r"answer: \fbox{7}") == "7"
    assert boxed(r"so $\boxed 12$") == "12"
    assert boxed(r"\boxed{\{1, 2\}}") == r"\{1, 2\}"  # escaped braces are not grouping
    assert boxed("no box here") is None


def test_unclosed_last_box_falls_back_to_the_previous_complete_one():
    assert boxed(r"\boxed{4} ... wait, \boxed{5") == "4"
    assert boxed(r"\boxed{5") is None


def test_ten_thousand_nested_braces_and_a_megabyte():
    deep = r"\boxed{" + "{" * 10_000 + "1" + "}" * 10_000 + "}"
    assert boxed(deep) == "{" * 10_000 + "1" + "}" * 10_000
    big = "x " * 500_000 + r"\boxed{42}"
    assert boxed(big) == "42"
    assert last_number(big) == "42"


def test_answer_tag_and_answer_is():
    assert answer_tag("<think>2+2</think> <answer> 4 </answer>") == "4"
    assert answer_tag(r"<answer>The result is \boxed{x^2}</answer>") == "x^2"
    assert answer_tag("<answer>$\\frac{1}{2}$</answer>") == "\\frac{1}{2}"
    assert answer_tag("no tags") is None
    assert answer_is("Thus the answer is 18.") == "18"
    assert answer_is("Final Answer: $x = 2$") == "x = 2"
    assert answer_is(r"The final answer is $\boxed{7}$. I hope it is correct.") == "7"
    assert answer_is("nothing to see") is None


def test_hashes_and_last_number():
    assert hashes("She makes 9 * 2 = $18.\n#### 18") == "18"
    assert hashes("#### 1,234\n") == "1,234"
    assert last_number("It costs 1,234.50 dollars, not 12.") == "12"
    assert last_number("The total is -1,234.5") == "-1,234.5"
    assert last_number("temperature fell to −7") == "−7"
    assert last_number("no digits") is None


def test_resolve_orders_and_rejects_unknown_names():
    assert extract.resolve("auto", "math") == ("minerva", "boxed", "answer_tag", "answer_is", "math_verify",
                                               "last_number")
    assert "math_verify" not in extract.resolve("auto", "gsm8k")
    with pytest.raises(RewardParamsError, match="math_verify"):
        extract.resolve("math_verify", "gsm8k")  # math.accuracy only: it needs the worker
    assert extract.extract("We get \\[ 5 \\]", ("boxed", "math_verify")) == ("We get \\[ 5 \\]", "math_verify")
    assert extract.resolve("answer_tag, boxed") == ("answer_tag", "boxed")
    text = "The answer is 3.\nOr rather \\boxed{4}"
    assert extract.extract(text, ("answer_is", "boxed")) == ("3", "answer_is")
    assert extract.extract(text, ("boxed", "answer_is")) == ("4", "boxed")
    assert extract.extract("nothing", ("boxed",)) == (None, None)
    with pytest.raises(RewardParamsError, match="boxed"):
        extract.resolve("boxes")
