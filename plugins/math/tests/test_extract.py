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


def test_final_boxes_reads_a_run_of_boxes_as_one_list():
    from rewardkit_math.extract import final_boxes

    assert final_boxes(r"The roots are $\boxed{1}$, $\boxed{2}$, and $\boxed{3}$.") == "1, 2, 3"
    assert final_boxes(r"$\boxed{1}, \boxed{234}$") == "1, 234"  # a list, never the number 1,234
    assert final_boxes(r"\boxed{5}, \boxed{5}") == "5"  # the same box twice is one answer
    far = r"First \boxed{4}. That was wrong: redoing the whole computation carefully from the top, \boxed{5}"
    assert final_boxes(far) == "5"  # far apart and no separator: the last box alone
    assert final_boxes(r"\boxed{\boxed{5}}") == "5"
    assert final_boxes(r"\boxed{4} ... wait, \boxed{5") == "4"
    assert final_boxes(r"so $\boxed 12$") == "12"
    assert final_boxes("no box") is None


def test_final_boxes_is_linear_on_box_spam():
    from rewardkit_math.extract import final_boxes

    spam = "".join(f"\\boxed{{{i}}}, " for i in range(50_000))
    assert final_boxes(spam).count(",") == 49_999  # one (long, later guarded) list, built in one pass
    assert final_boxes("\\boxed{" * 3000 + "1" + "}" * 3000) == "1"


def test_minerva_sentence_and_answer_cues():
    from rewardkit_math.extract import minerva

    text = "Work \\boxed{4}\nFinal Answer: The final answer is $\\frac{1}{2}$. I hope it is correct."
    assert minerva(text) == "\\frac{1}{2}"
    assert minerva("The final answer is 7. I hope it is correct.") == "7"
    assert minerva("The final answer is 7.") is None  # only the full sentence (answer_is reads this one)
    assert answer_is(text) == "\\frac{1}{2}"  # the innermost cue on the line
    assert answer_is("We are done.\n\n**Final answer:** $5$") == "5"
    assert answer_is("The answer isn't 8, let me recount.") is None  # "isn't" is no cue
    assert answer_is("Recall that the answer is an integer between one and ten.") is None  # prose, no math
    assert answer_is("The answer is $5$ and the sum is $7$.") == "5"  # the first formula after the cue
    assert answer_is("The answer is $1$, $2$, and $3$.") == "$1$ and $2$ and $3$"  # a list, as math-verify joins it
    assert answer_is("The answer is $\\$5$ each.") == "\\$5"


def test_strip_math_delimiters_only_strips_one_span():
    from rewardkit_math.extract import strip_math_delimiters

    assert strip_math_delimiters("$x^2$") == "x^2"
    assert strip_math_delimiters("\\(x\\)") == "x"
    assert strip_math_delimiters("$$\\frac{1}{2}$$") == "\\frac{1}{2}"
    assert strip_math_delimiters("$5$ dollars") == "5"
    assert strip_math_delimiters("$1$ and $2$") == "$1$ and $2$"


def test_last_formula_is_what_math_verify_reads_first_or_none():
    from rewardkit_math.extract import last_formula

    assert last_formula("Putting it together we obtain\n\\[ \\frac{1}{8} \\]") == "\\frac{1}{8}"
    assert last_formula("Hence $D = (0, 1)$.") == "D = (0, 1)"
    # anything math-verify ranks higher, or reads differently, is left to math-verify itself
    assert last_formula("The answer: $5$") is None  # an answer cue
    assert last_formula("so $\\boxed{5}$ then $6$") is None  # a box
    assert last_formula("Thus $x = 5$ after 3 tries") is None  # a number after it
    assert last_formula("the roots are $1$ and $2$") is None  # a list of formulas
    assert last_formula("so $50$%") is None  # a percentage
    assert last_formula("no formula") is None
