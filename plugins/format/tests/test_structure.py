"""format.think, format.answer_tags, format.tag_count, format.code_block, format.steps."""

import pytest
from rewardkit import RewardParamsError
from rewardkit.testing import score_one
from rewardkit_format import answer_tags, code_block, reasoning_steps, tag_count, think_format

R1 = "<think>\nWe add 2 and 3.\n</think>\nThe answer is 5."
R1_TAGGED = "<think>\nWe add 2 and 3.\n</think>\n<answer>\n5\n</answer>"


@pytest.mark.parametrize(
    "completion, strict, answer_tag",
    [
        (R1, True, ""),
        (R1 + "\n", True, ""),
        (R1_TAGGED, True, "answer"),
        ("  <think>We add.</think>   The answer is 5.", False, ""),
        ("<think>We add.</think><answer>5</answer>", False, "answer"),
        (R1_TAGGED, False, "answer"),
    ],
)
def test_think_accepts(completion, strict, answer_tag):
    s = score_one(think_format, completion, params={"strict": strict, "answer_tag": answer_tag})
    assert s.value == 1.0, s.reason
    assert s.details["form"] == ("strict" if strict else "lenient")


@pytest.mark.parametrize(
    "completion, strict, answer_tag, why",
    [
        ("The answer is 5.", False, "", "no <think>"),
        ("<think>\nthinking forever", False, "", "never closed"),
        ("<think>\n\n</think>\n5", False, "", "empty thinking"),
        ("<think>\nok\n</think>\n   ", False, "", "no answer"),
        ("<think>a</think><think>b</think> 5", False, "", "expected exactly one"),
        ("Sure! <think>\nok\n</think>\n5", False, "", "text before"),
        ("</think> 5 <think>", False, "", "comes before"),
        ("<think>ok</think>5", True, "", "own lines"),
        ("<think>\nok\n</think>5", True, "", "newline right after"),
        ("<think>\nok\n</think>\n<answer>5</answer>", True, "answer", "strict form"),
        ("<think>\nok\n</think>\n<answer>\n5\n</answer> trailing", True, "answer", "strict form"),
        ("<think>ok</think> 5", False, "answer", "expected one <answer>"),
        ("<think>ok</think> so <answer>5</answer>", False, "answer", "only whitespace"),
        ("<think>ok</think><answer> </answer>", False, "answer", "empty <answer>"),
    ],
)
def test_think_rejects(completion, strict, answer_tag, why):
    s = score_one(think_format, completion, params={"strict": strict, "answer_tag": answer_tag})
    assert s.value == 0.0
    assert why in s.reason


def test_think_prefilled_by_the_chat_template():
    # DeepSeek-R1's template ends the prompt with "<think>\n": the completion starts inside it.
    completion = "We add 2 and 3.\n</think>\nThe answer is 5."
    assert score_one(think_format, completion).value == 0.0
    assert score_one(think_format, completion, params={"prefilled": True, "strict": True}).value == 1.0
    detected = score_one(think_format, completion, prompt="What is 2+3?\n<think>\n")
    assert detected.value == 1.0 and detected.details["prefilled"] is True


def test_think_custom_tags_and_chat_messages():
    msgs = [{"role": "assistant", "content": "<reasoning>\nhmm\n</reasoning>\n42"}]
    assert score_one(think_format, msgs, params={"think_tag": "reasoning", "strict": True}).value == 1.0
    assert score_one(think_format, msgs).value == 0.0


def test_think_rejects_bracketed_tag_param():
    with pytest.raises(RewardParamsError, match="bare tag name such as 'think'"):
        score_one(think_format, R1, params={"think_tag": "<think>"})


def test_answer_tags():
    assert score_one(answer_tags, "so <answer>5</answer>\n").value == 1.0
    assert score_one(answer_tags, "so <answer>5</answer>").details["answer"] == "5"
    assert score_one(answer_tags, "so 5").value == 0.0
    assert score_one(answer_tags, "<answer>5</answer><answer>6</answer>").value == 0.0
    assert score_one(answer_tags, "<answer>  </answer>").value == 0.0
    assert score_one(answer_tags, "</answer>5<answer>").value == 0.0
    hedge = "<answer>5</answer> or maybe 6"
    assert score_one(answer_tags, hedge).reason == "text after </answer>"
    assert score_one(answer_tags, hedge, params={"allow_text_after": True}).value == 1.0
    assert score_one(answer_tags, "<final>5</final>", params={"tag": "final"}).value == 1.0


@pytest.mark.parametrize(
    "completion, value",
    [
        ("<think>\na\n</think>\n<answer>\n5\n</answer>", 1.0),
        ("<think>a</think> 5", 0.5),  # answer tags missing
        ("<think>a</think><answer>5", 0.75),  # closing answer tag missing
        ("<think>a</think><think>b</think><answer>5</answer>", 0.5),  # think tags twice: no credit for them
        ("plain text", 0.0),
    ],
)
def test_tag_count_partial_credit(completion, value):
    assert score_one(tag_count, completion).value == pytest.approx(value)


def test_tag_count_custom_tags_and_details():
    s = score_one(tag_count, "<plan>x</plan> <answer>1</answer>", params={"tags": ["plan"]})
    assert s.value == 1.0 and s.details["counts"] == {"<plan>": 1, "</plan>": 1}
    with pytest.raises(RewardParamsError, match="at least one"):
        score_one(tag_count, "x", params={"tags": []})


CODE = "Here it is:\n```python\ndef add(a, b):\n    return a + b\n```\nDone."


def test_code_block_accepts_language_and_aliases():
    assert score_one(code_block, CODE).value == 1.0
    assert score_one(code_block, CODE.replace("```python", "```py")).value == 1.0
    assert (
        score_one(code_block, CODE.replace("```python", "~~~python3").replace("```\n", "~~~\n")).value == 1.0
    )
    assert score_one(code_block, "```js\nlet x = 1;\n```", params={"language": "javascript"}).value == 1.0
    assert score_one(code_block, "```\nx = 1\n```", params={"language": ""}).value == 1.0


def test_code_block_rejects():
    assert score_one(code_block, "def add(a, b): return a + b").reason == "no closed fenced code block"
    assert score_one(code_block, "```python\ndef add(a, b):\n    return a + b\n").value == 0.0  # never closed
    wrong = score_one(code_block, "```cpp\nint main(){}\n```")
    assert wrong.value == 0.0 and "found: cpp" in wrong.reason
    assert score_one(code_block, "```python\n\n```").reason == "the code block is empty"


def test_code_block_syntax_check():
    bad = CODE.replace("return a + b", "return a +")
    assert score_one(code_block, bad).value == 1.0
    checked = score_one(code_block, bad, params={"check_syntax": True})
    assert checked.value == 0.0 and "SyntaxError" in checked.details["errors"][0]
    assert score_one(code_block, CODE, params={"check_syntax": True}).value == 1.0
    with pytest.raises(RewardParamsError, match="Python only"):
        score_one(code_block, CODE, params={"language": "rust", "check_syntax": True})


def test_code_block_on_real_mbpp_solutions(shared_mbpp):
    # Every sanitized MBPP reference, fenced as a model would answer, passes the syntax check.
    for row in shared_mbpp[:50]:
        completion = f"Solution:\n```python\n{row['code']}\n```"
        assert score_one(code_block, completion, params={"check_syntax": True}).value == 1.0


def test_steps():
    three = "Step 1: read.\nStep 2: add.\nStep 3: answer."
    assert score_one(reasoning_steps, three).value == 1.0
    assert score_one(reasoning_steps, "1. read\n2. add").value == pytest.approx(2 / 3)
    assert (
        score_one(reasoning_steps, "First, read.\nNext, add.\n- check\nFinally, answer.").details["steps"]
        == 4
    )
    assert score_one(reasoning_steps, "The answer is 5.").value == 0.0
    # "first" mid-sentence and numbers inside a line are no markers
    assert score_one(reasoning_steps, "I first thought 2.5 was right.").value == 0.0
    assert (
        score_one(reasoning_steps, "Claim A. Claim B.", params={"pattern": r"Claim", "min_steps": 2}).value
        == 1.0
    )


def test_steps_params():
    with pytest.raises(RewardParamsError, match="min_steps"):
        score_one(reasoning_steps, "x", params={"min_steps": 0})
    with pytest.raises(RewardParamsError, match="not a valid regular expression"):
        score_one(reasoning_steps, "x", params={"pattern": "("})
