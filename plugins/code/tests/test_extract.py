"""Code extraction from completions: fences, languages, reasoning, truncation."""

from rewardkit_code import code_blocks, extract_code
from rewardkit_code.languages import get_language, language_from_tag

import pytest


def test_unfenced_completion_is_the_code():
    got = extract_code("def f():\n    return 1\n")
    assert got.code == "def f():\n    return 1\n" and not got.fenced and got.language is None


def test_last_block_of_the_language_wins_by_default():
    text = "Idea:\n```python\nx = 1\n```\nFinal:\n```python\nx = 2\n```\nDone."
    assert extract_code(text).code == "x = 2\n"
    assert extract_code(text, choice="first").code == "x = 1\n"
    assert extract_code(text, choice="all").code == "x = 1\n\n\nx = 2\n"


def test_wanted_language_beats_other_blocks():
    text = "```bash\npip install x\n```\n```cpp\nint main(){}\n```\n```py\nprint(1)\n```\n```text\nout\n```"
    assert extract_code(text, "cpp").code == "int main(){}\n"
    got = extract_code(text, "python")
    assert got.code == "print(1)\n" and got.language == "python"


def test_untagged_block_used_when_no_block_has_the_language():
    got = extract_code("```\nprint(3)\n```", "python")
    assert got.code == "print(3)\n" and got.fenced and got.language is None


def test_fence_tag_gives_the_language():
    assert extract_code("```c++\nint x;\n```").language == "cpp"
    assert extract_code("~~~python3 title=x\ny=1\n~~~").language == "python"


def test_truncated_generation_keeps_the_open_block():
    assert extract_code("Here:\n```python\ndef f():\n    return 4").code == "def f():\n    return 4"


def test_reasoning_before_think_end_is_ignored():
    text = "<think>try\n```python\nwrong()\n```\n</think>\nAnswer:\n```python\nright()\n```"
    assert extract_code(text, choice="first").code == "right()\n"


def test_longest_and_empty_blocks():
    text = "```python\n\n```\n```python\na = 1\nb = 2\n```\n```python\nc = 3\n```"
    assert extract_code(text, choice="longest").code == "a = 1\nb = 2\n"
    assert len(code_blocks(text)) == 3


def test_bad_choice_is_rejected():
    with pytest.raises(ValueError, match="code_block must be one of"):
        extract_code("x", choice="middle")  # type: ignore[arg-type]


def test_language_aliases():
    assert language_from_tag("Py3") == "python" and language_from_tag("cxx") == "cpp"
    assert language_from_tag("rust") is None
    assert get_language("c").compile[0] == "gcc"
    with pytest.raises(ValueError, match="unsupported language 'rust'"):
        get_language("rust")


def test_block_defining_the_function_beats_a_later_usage_example():
    text = ("```python\ndef add(a, b):\n    return a + b\n```\nUsage:\n```python\nprint(add(1, 2))\n```")
    assert extract_code(text).code == "print(add(1, 2))\n"
    assert extract_code(text, defines="add").code == "def add(a, b):\n    return a + b\n"
    cpp = "```cpp\nint add(int a, int b) { return a + b; }\n```\n```cpp\nint main() { add(1, 2); }\n```"
    assert extract_code(cpp, "cpp", defines="add").code.startswith("int add(")
    assert extract_code(text, defines="missing").code == "print(add(1, 2))\n"
