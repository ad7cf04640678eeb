"""Reading each dataset's test columns, splitting assert tests, assembling programs, comparing outputs."""

import json

import pytest
from rewardkit.testing import make_sample

from rewardkit_code import TestFormatError, split_python_tests, suite_from_sample
from rewardkit_code.compare import outputs_match, values_match
from rewardkit_code.program import assemble

HE_TEST = '''
METADATA = {'author': 'jt'}

def check(candidate):
    assert candidate(1) == 2
    x = candidate(2)
    assert x == 3, "This prints if this assert fails 1 (good for debugging!)"
    assert True, "This prints if this assert fails 2 (also good for debugging!)"
    for i in range(3):
        assert candidate(i) == i + 1
'''


def test_humaneval_check_is_split_assert_by_assert():
    setup, tests = split_python_tests(HE_TEST, "inc")
    assert "METADATA" in setup and setup.endswith("candidate = inc")
    assert len(tests) == 3  # `assert True` markers test nothing and are dropped
    assert tests[1] == "x = candidate(2)\nassert x == 3, 'This prints if this assert fails 1 (good for debugging!)'"
    assert tests[2].startswith("x = candidate(2)\nfor i in range(3):")


def test_unsplittable_test_runs_whole():
    setup, tests = split_python_tests("def check(c):\n    c()\n", "f")
    assert setup == "" and tests == ["def check(c):\n    c()\n\ncheck(f)\n"]
    _, tests = split_python_tests("this is not python(", "f")
    assert tests == ["this is not python(\ncheck(f)\n"]


def test_plain_asserts_without_check():
    setup, tests = split_python_tests("import math\nassert f(1) == 1\nassert f(4) == 2\n", None)
    assert setup == "" and tests == ["import math\nassert f(1) == 1", "import math\nassert f(4) == 2"]


def test_mbpp_row():
    suite = suite_from_sample(make_sample("", "Write f.", test_list=["assert f(1)==1", "assert f(2)==4"],
                                          test_imports=["import math"], test_setup_code="K = 3"))
    assert suite.kind == "assert" and suite.source == "mbpp" and len(suite) == 2
    assert suite.setup == "import math\nK = 3"


def test_stdio_and_call_rows():
    suite = suite_from_sample(make_sample("", inputs=["1 2\n", ["3", "4"]], outputs=["3\n", "7\n"]))
    assert suite.kind == "stdio" and suite.tests == ("1 2\n", "3\n4\n") and suite.expected == ("3\n", "7\n")
    suite = suite_from_sample(make_sample("", inputs=json.dumps([[1, 2], [3, 4]]), outputs=[3, 7], fn_name="add"))
    assert suite.kind == "call" and suite.tests == ([1, 2], [3, 4]) and suite.fn_name == "add"


def test_apps_and_open_r1_rows():
    io = json.dumps({"inputs": [[[1, 2]]], "outputs": [[3]], "fn_name": "total"})
    suite = suite_from_sample(make_sample("", input_output=io))
    assert suite.kind == "call" and suite.source == "apps" and suite.expected == ([3],)
    info = {"language": "cpp", "test_cases": [{"input": "1\n", "output": "2\n", "type": "stdin_stdout"}]}
    suite = suite_from_sample(make_sample("", verification_info=json.dumps(info)))
    assert suite.kind == "stdio" and suite.language == "cpp" and suite.source == "open-r1"


def test_cpp_test_column_is_a_test_program():
    suite = suite_from_sample(make_sample("", test="int main(){}", entry_point="f"), "cpp")
    assert suite.kind == "program" and suite.tests == ("int main(){}",)


def test_rows_without_tests_and_malformed_rows():
    assert suite_from_sample(make_sample("x", answer="3")) is None
    with pytest.raises(TestFormatError, match="2 inputs but 1 outputs"):
        suite_from_sample(make_sample("", inputs=["a", "b"], outputs=["c"]))
    with pytest.raises(TestFormatError, match="not valid JSON"):
        suite_from_sample(make_sample("", input_output="{oops"))


PROMPT = 'from typing import List\n\n\ndef inc(x: int) -> int:\n    """Add one."""\n'


def test_assemble_body_full_function_and_dedented_body():
    suite = suite_from_sample(make_sample("", test=HE_TEST, entry_point="inc"))
    assert assemble("    return x + 1\n", suite, "python", PROMPT) == PROMPT + "    return x + 1\n"
    assert assemble("return x + 1\n", suite, "python", PROMPT) == PROMPT + "    return x + 1\n"
    full = "def inc(x):\n    return x + 1\n"
    assert assemble(full, suite, "python", PROMPT) == PROMPT.rstrip("\n") + "\n\n" + full
    # MBPP's prompt is prose: never prepended
    mbpp = suite_from_sample(make_sample("", test_list=["assert inc(1) == 2"]))
    assert assemble(full, mbpp, "python", "Write a function inc.") == full


def test_assemble_cpp_body_and_test_main():
    prompt = "#include <vector>\nusing namespace std;\nint twice(int x){\n"
    suite = suite_from_sample(make_sample("", test="int main(){ return twice(2) == 4 ? 0 : 1; }",
                                          entry_point="twice"), "cpp")
    got = assemble("    return 2 * x;\n}\n", suite, "cpp", prompt)
    # the test comes first (the prompt's header, a declaration from the prompt's signature), with its
    # main renamed and made to return 0; the program follows; a harness main runs the test's
    header = "#include <vector>\nusing namespace std;\nint twice(int x);\n#define main rk_"
    assert header in got and got.index(header) < got.index("int twice(int x){\n    return 2 * x;\n}")
    assert "return twice(2) == 4 ? 0 : 1; \n    return 0;\n}\n#undef main" in got
    assert got.count("int main(int rk_") == 1 and "_done(rk_" in got
    full = assemble("int twice(int x) { return x + x; }", suite, "cpp", prompt)
    assert full.index("int twice(int x);") < full.index("#define main") < full.index("int twice(int x) { return x + x; }")
    # without a trusted signature the test has to follow the program (still behind the token check)
    bare = assemble("int twice(int x) { return x + x; }", suite, "cpp", None)
    assert bare.index("int twice(int x) {") < bare.index("#define main")


def test_output_comparison():
    assert outputs_match("1 2\n3\n", "1 2 3")
    assert outputs_match("0.3333333", "0.333333")
    assert not outputs_match("3", "3.5") and not outputs_match("4", "3")
    assert not outputs_match("1 2", "1 2 3") and not outputs_match("YES", "NO")
    assert not outputs_match("3.0000001", "3")  # integers must match exactly


def test_value_comparison():
    assert values_match([1, 2], [1, 2]) and values_match(5, [5]) and values_match(0.1 + 0.2, 0.3)
    assert not values_match(True, 1) and not values_match("1", 1) and not values_match([1], [1, 2])
    assert not values_match({"__repr__": "<obj>"}, 3)


def test_judge_never_takes_a_pass_verdict_for_output_tests():
    from rewardkit_sandbox import RunResult

    from rewardkit_code.execute import RunSettings, build_job, judge
    from rewardkit_code.languages import LANGUAGES

    suite = suite_from_sample(make_sample("", inputs=["1\n", "2\n"], outputs=["1\n", "4\n"]))
    job = build_job("print(1)", suite, LANGUAGES["python"], RunSettings())
    stdout = ("{'event': 'compile', 'ok': True}\n{'i': 0, 'status': 'done', 'out': '1\\n'}\n"
              "{'i': 1, 'status': 'pass'}\n{'event': 'done'}\n")
    outcome = judge(job, RunResult(0, stdout, "", False, 0.1, False, False, "process"))
    assert [(r.passed, r.status) for r in outcome.results] == [(True, "pass"), (False, "error")]
