"""rewardkit's conformance suite on the code rewards: real programs run in the isolating sandbox that
``backend: auto`` picks (bubblewrap or docker, provisioned by conftest.py before any test runs)."""

from rewardkit.conformance import conformance
from rewardkit_code import syntax, unit_tests

ADD = {"inputs": ["1 2\n", "10 20\n"], "outputs": ["3\n", "30\n"], "domain": "code"}
RIGHT = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"
WRONG = "```python\na, b = map(int, input().split())\nprint(a - b)\n```"

test_unit_tests = conformance(
    unit_tests,
    gold=[{"completion": RIGHT, **ADD}],
    wrong=[{"completion": WRONG, **ADD}],
    params={"per_test_timeout": 2.0, "total_timeout": 10.0, "workers": 1},
    deadline=30.0,
)
test_syntax = conformance(
    syntax,
    gold=[{"completion": RIGHT, "domain": "code"}],
    wrong=[{"completion": "```python\ndef broken(:\n    pass\n```", "domain": "code"}],
    params={"language": "python"},
)
