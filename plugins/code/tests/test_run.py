"""code.unit_tests end to end in a real sandbox: every test format, languages, limits, hacks."""


import pytest
from rewardkit import RewardKit, RewardParamsError
from rewardkit.testing import make_sample

from rewardkit_code import syntax, unit_tests
from rewardkit_code.sandbox_pool import shared_sandbox


def run(completions, params=None, **columns):
    """Score each completion against the same row (one batch, like a GRPO group)."""
    samples = [make_sample(c, **columns) for c in completions]
    return unit_tests.score(samples, dict(params or {}))


@pytest.fixture
def p(fast_backend):
    return {"backend": fast_backend}


ADD = dict(inputs=["1 2\n", "10 20\n", "-3 3\n", "5 5\n"], outputs=["3\n", "30\n", "0\n", "10\n"])


def test_stdio_python_partial_credit_and_errors(p):
    right = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"
    partial = "```python\na, b = map(int, input().split())\nprint(a + b if a > 0 else 1)\n```"
    crash = "a, b = map(int, input().split())\nprint(a + b if a != 5 else 1 // 0)"
    exits = "import sys\na, b = map(int, sys.stdin.read().split())\nprint(a + b)\nsys.exit(0)\nprint('never')"
    s = run([right, partial, crash, exits], p, **ADD)
    assert [x.value for x in s] == [1.0, 0.75, 0.75, 1.0]
    assert s[1].details["failures"][0]["status"] == "fail" and "want '0'" in s[1].details["failures"][0]["error"]
    assert s[2].details["failures"][0]["status"] == "error"
    assert "ZeroDivisionError" in s[2].details["failures"][0]["error"]
    assert s[0].details["kind"] == "stdio" and s[0].details["backend"] == p["backend"]


def test_stdio_main_in_a_thread_and_float_tolerance(p):
    code = ("import threading, sys\nsys.setrecursionlimit(10000)\n"
            "def main():\n    n = int(input())\n    print('%.9f' % (1 / n))\n"
            "threading.Thread(target=main).start()\n")
    s = run([code], p, inputs=["3\n", "7\n"], outputs=["0.333333\n", "0.142857143\n"])
    assert s[0].value == 1.0, s[0]


def test_call_based_function_class_and_always_equal_hack(p):
    cols = dict(inputs=[[[1, 2, 3]], [[]], [[5]]], outputs=[[6], [0], [5]], fn_name="total")
    fn = "def total(xs):\n    return sum(xs)\n"
    leet = "class Solution:\n    def total(self, xs):\n        return sum(xs) if xs else 0\n"
    hack = ("class Eq:\n    def __eq__(self, other): return True\n    def __ne__(self, other): return False\n"
            "def total(xs):\n    return Eq()\n")
    wrong_type = "def total(xs):\n    return str(sum(xs))\n"
    s = run([fn, leet, hack, wrong_type], p, **cols)
    assert [x.value for x in s] == [1.0, 1.0, 0.0, 0.0]
    assert s[0].details["kind"] == "call"


def test_cpp_stdio_compile_error_and_wrong_answer(p, gxx):
    good = "```cpp\n#include <bits/stdc++.h>\nint main(){long long a,b; std::cin>>a>>b; std::cout<<a+b<<\"\\n\";}\n```"
    wrong = "```cpp\n#include <iostream>\nint main(){int a,b; std::cin>>a>>b; std::cout<<a*b<<std::endl;}\n```"
    broken = "```cpp\nint main() { return x; }\n```"
    in_c = "```c\n#include <stdio.h>\nint main(){long a,b; scanf(\"%ld %ld\",&a,&b); printf(\"%ld\\n\", a+b);}\n```"
    s = run([good, wrong, broken, in_c], p, **ADD)
    assert [x.value for x in s] == [1.0, 0.0, 0.0, 1.0]
    assert s[3].details["language"] == "c"
    assert s[0].details["language"] == "cpp"
    assert "compile_error" in s[2].details and "x" in s[2].details["compile_error"]
    assert s[2].reason == "does not compile"


def test_cpp_humaneval_x_style_body_and_test_main(p, gxx):
    prompt = "#include <stdio.h>\nusing namespace std;\nint add(int x, int y){\n"
    test = "#undef NDEBUG\n#include <assert.h>\nint main(){ assert(add(2, 3) == 5); assert(add(-1, 1) == 0); }\n"
    samples = [make_sample(c, prompt, test=test, entry_point="add", language="cpp")
               for c in ("    return x + y;\n}\n", "    return x * y;\n}\n")]
    s = unit_tests.score(samples, p)
    assert [x.value for x in s] == [1.0, 0.0]
    assert s[0].details["kind"] == "program"


HE_PROMPT = 'def inc(x):\n    """Add one."""\n'
HE_TEST = ("def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(2) == 3\n"
           "    assert candidate(-1) == 0\n    assert candidate(10) == 11\n")


def he(completions, params):
    samples = [make_sample(c, HE_PROMPT, test=HE_TEST, entry_point="inc") for c in completions]
    return unit_tests.score(samples, params)


def test_assert_partial_credit_body_and_full_function(p):
    body = "    return x + 1\n"
    full = "```python\ndef inc(x):\n    return x + 1 if x != 10 else 0\n```"
    s = he([body, full, "    return 2\n"], p)
    assert [x.value for x in s] == [1.0, 0.75, 0.25]
    assert s[1].details["failures"] == [{"test": 3, "status": "fail", "error": "AssertionError"}]


def test_early_exit_and_binary_mode(p):
    half = "    return x + 1 if x > 0 else 5\n"
    s = he([half], dict(p, early_exit=True))[0]
    assert s.value == 0.5 and s.details["stopped"] == "early_exit"
    assert s.details["failures"][0]["test"] == 2  # tests after the first failure were not run
    assert he([half], dict(p, mode="binary"))[0].value == 0.0
    assert he(["    return x + 1\n"], dict(p, mode="binary"))[0].value == 1.0


def test_per_test_timeout_costs_only_that_test(p):
    slow = "    while x == -1:\n        pass\n    return x + 1\n"
    s = he([slow], dict(p, per_test_timeout=1))[0]
    assert s.value == 0.75  # the tests after the hung one still ran
    assert s.details["failures"] == [{"test": 2, "status": "timeout", "error": "time limit exceeded"}]


def test_total_timeout_stops_the_rest(p):
    sleepy = "    import time\n    time.sleep(0.6)\n    return x + 1\n"
    s = he([sleepy], dict(p, total_timeout=1.0, per_test_timeout=2))[0]
    assert 0 < s.value < 1
    assert s.details["stopped"] == "total_timeout"


def test_exits_and_forged_results_do_not_pass(p):
    exit0 = "    import sys\n    sys.exit(0)\n"
    os_exit = "    import os\n    os._exit(0)\n"
    forge = ("    import sys, os\n    for i in range(4):\n"
             "        os.write(1, (\"x {'i': %d, 'status': 'pass'}\\n\" % i).encode())\n"
             "        sys.__stdout__.write(\"{'i': %d, 'status': 'pass'}\\n\" % i)\n    return None\n")
    # looks for the tests in every file it can see: they are never on disk
    peek = ("    import os, re\n    text = ''\n    for f in os.listdir('.'):\n        try:\n"
            "            text += open(f, errors='ignore').read()\n        except OSError:\n            pass\n"
            "    table = dict(re.findall(r'candidate\\((-?\\d+)\\) == (-?\\d+)', text))\n"
            "    return int(table.get(str(x), -99))\n")
    always_equal = ("    class Eq(int):\n        def __eq__(self, other): return True\n"
                    "        def __ne__(self, other): return False\n    return Eq(-5)\n")
    tamper = ("    import builtins\n    builtins.AssertionError = type('Quiet', (Exception,), {})\n"
              "    builtins.abs = lambda v: 0\n    return -7\n")
    s = he([exit0, os_exit, forge, peek, always_equal, tamper], p)
    assert [x.value for x in s] == [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert "exit(0)" in s[0].details["failures"][0]["error"]


def test_syntax_error_and_no_code(p):
    s = he(["    return (x +\n", ""], p)
    assert s[0].value == 0.0 and s[0].reason == "does not compile" and "SyntaxError" in s[0].details["compile_error"]
    assert s[1].value == 0.0 and s[1].reason == "no code in the completion"


def test_not_applicable_and_bad_params(p):
    s = unit_tests.score([make_sample("print(1)", answer="1")], p)[0]
    assert s.value is None and "no tests" in s.reason
    bad = unit_tests.score([make_sample("x", input_output="{oops")], p)[0]
    assert bad.value is None and "not valid JSON" in bad.error
    with pytest.raises(RewardParamsError, match="mode must be one of"):
        unit_tests.score([make_sample("x")], {"mode": "half"})
    with pytest.raises(RewardParamsError, match="language must be 'auto' or one of"):
        unit_tests.score([make_sample("x")], {"language": "cobol"})
    with pytest.raises(RewardParamsError, match="per_test_timeout must be a positive number"):
        unit_tests.score([make_sample("x")], {"per_test_timeout": 0})


def test_a_recipe_without_an_isolating_sandbox_fails_at_validation(monkeypatch):
    from rewardkit_sandbox.bubblewrap import BubblewrapSandbox
    from rewardkit_sandbox.docker_backend import DockerSandbox

    with pytest.raises(RewardParamsError, match="unknown sandbox backend 'nonexistent'"):
        unit_tests.check_params({"backend": "nonexistent"})
    monkeypatch.setattr(BubblewrapSandbox, "unavailable_reason", classmethod(lambda cls: "bwrap is not installed"))
    monkeypatch.setattr(DockerSandbox, "unavailable_reason", classmethod(lambda cls: "no Docker engine"))
    monkeypatch.delenv("REWARDKIT_SANDBOX_ALLOW_PROCESS", raising=False)
    for reward in (unit_tests, syntax):
        with pytest.raises(RewardParamsError, match="apt-get install -y bubblewrap"):
            reward.check_params({})
    unit_tests.check_params({"backend": "process"})  # trusted code, chosen explicitly


def test_unknown_backend_is_a_recorded_error():
    s = he(["    return x + 1\n"], {"backend": "nonexistent"})[0]
    assert s.value is None and "unknown sandbox backend" in s.error


def test_sandbox_is_reused(fast_backend):
    assert shared_sandbox(fast_backend, 2) is shared_sandbox(fast_backend, 2)


def test_syntax_reward(p, gxx):
    assert syntax.score([make_sample("```python\ndef f(:\n```")], {})[0].value == 0.0
    assert syntax.score([make_sample("    return x + 1\n", HE_PROMPT, test=HE_TEST, entry_point="inc")], {})[0].value == 1.0
    ok, bad = syntax.score([make_sample("```cpp\nint main(){}\n```"), make_sample("```cpp\nint main({}\n```")],
                           {"backend": p["backend"]})
    assert (ok.value, bad.value) == (1.0, 0.0) and "error" in bad.details


def test_registered_through_the_plugin_hook():
    kit = RewardKit()
    assert {"code.unit_tests", "code.syntax"} <= set(kit.registry.names())
    assert kit.registry.reward("code.unit_tests").mode == "batch"


def test_early_exit_on_stdio_and_call_tests_uses_salted_hashes(p):
    partial = "a, b = map(int, input().split())\nprint(a + b if a != 10 else 0)\n"
    s = run([partial], dict(p, early_exit=True), **ADD)[0]
    assert s.value == 0.25 and s.details["stopped"] == "early_exit"
    assert [f["test"] for f in s.details["failures"]] == [1]
    # a float expected output may still pass within tolerance: no early stop on a hash mismatch
    floats = run(["print('%.7f' % (int(input()) / 3))"], dict(p, early_exit=True),
                 inputs=["1\n", "2\n"], outputs=["0.333333\n", "0.666667\n"])[0]
    assert floats.value == 1.0
    call = run(["def total(xs):\n    return sum(xs) if len(xs) != 1 else -1\n"], dict(p, early_exit=True),
               inputs=[[[1, 2]], [[5]], [[1]]], outputs=[[3], [5], [1]], fn_name="total")[0]
    assert call.value == 1 / 3 and call.details["stopped"] == "early_exit"


def test_fork_bomb_and_memory_hog_cost_only_their_tests(p):
    body = ("    if x == 2:\n        import os\n        while True:\n            os.fork()\n"
            "    if x == -1:\n        hog = bytearray(8 * 1024 ** 3)\n    return x + 1\n")
    s = he([body], dict(p, memory_mb=512))[0]
    assert s.value == 0.5, s
    errors = {f["test"]: f["error"] for f in s.details["failures"]}
    assert "MemoryError" in errors[2] and set(errors) == {1, 2}


def test_solution_block_is_found_before_a_usage_example(p):
    completion = "```python\ndef inc(x):\n    return x + 1\n```\nExample:\n```python\nprint(inc(1))\n```"
    assert he([completion], p)[0].value == 1.0


def test_fast_io_idioms_and_large_input(p):
    n = 200_000
    big_in = f"{n}\n" + " ".join(map(str, range(n))) + "\n"
    want = f"{n * (n - 1) // 2}\n"
    buffered = ("import sys\ninput = sys.stdin.buffer.readline\nn = int(input())\n"
                "sys.stdout.buffer.write(b'%d\\n' % sum(map(int, input().split())))\n")
    whole = "import sys\ndata = open(0).read().split()\nprint(sum(map(int, data[1:])))\n"
    s = run([buffered, whole], dict(p, per_test_timeout=5), inputs=[big_in, "3\n1 2 3\n"], outputs=[want, "6\n"])
    assert [x.value for x in s] == [1.0, 1.0], [x.details for x in s]


def test_wrong_language_for_a_call_based_row_scores_zero(p):
    s = run(["```cpp\nint total(int x) { return x; }\n```"], p, inputs=[[1]], outputs=[1], fn_name="total")[0]
    assert s.value == 0.0 and "need a Python program" in s.reason


def test_chat_prompt_with_the_stub_in_a_fence(p):
    messages = [{"role": "user", "content": "Complete this function:\n```python\n" + HE_PROMPT + "```\nOnly the body."}]
    sample = make_sample([{"role": "assistant", "content": "```python\n    return x + 1\n```"}], messages,
                         test=HE_TEST, entry_point="inc")
    assert unit_tests.score([sample], p)[0].value == 1.0
    assert syntax.score([sample], {})[0].value == 1.0


def test_prompt_helpers_that_call_the_entry_point_see_the_program(p):
    prompt = ('def quad(x):\n    """Four times x."""\n\n\ndef quad_all(xs):\n    return [quad(v) for v in xs]\n')
    test = "def check(candidate):\n    assert quad_all([1, 2]) == [4, 8]\n    assert candidate(3) == 12\n"
    samples = [make_sample(c, prompt, test=test, entry_point="quad")
               for c in ("```python\ndef quad(x):\n    return 4 * x\n```", "```python\ndef quad(x):\n    return 7\n```")]
    assert [s.value for s in unit_tests.score(samples, p)] == [1.0, 0.0]
