"""Reward params are checked against the reward function's type annotations (strict for scalars: YAML
already gives typed values), with the same file:line + fix messages as every recipe error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Optional

import pytest
from rewardkit import RewardParamsError, reward
from rewardkit.reward import check_param_types


@reward("t.typed")
def typed(sample, *, timeout: float = 5.0, strict: bool = False, n: int = 3, mode: Literal["a", "b"] = "a",
          tags: Sequence[str] = ("x",), names: list[str] | None = None, limit: Optional[int] = None,  # noqa: UP045 - Optional must work too
          anything=None, extra: dict[str, int] | None = None):
    return 1.0


@pytest.mark.parametrize("params", [
    {"timeout": 5}, {"timeout": 2.5}, {"strict": True}, {"n": 0}, {"mode": "b"}, {"tags": ["a", "b"]},
    {"names": None}, {"names": ["x"]}, {"limit": 7}, {"limit": None}, {"anything": object()},
    {"extra": {"k": 1}}, {},
])
def test_well_typed_params_pass(params):
    typed.check_params(params)


@pytest.mark.parametrize("params, wanted", [
    ({"timeout": "5s"}, "param 'timeout' must be float, not '5s'"),
    ({"timeout": "5"}, "must be float"),
    ({"strict": "no"}, "param 'strict' must be bool, not 'no'"),
    ({"strict": 1}, "must be bool"),
    ({"n": 2.5}, "must be int"),
    ({"n": True}, "must be int"),
    ({"mode": "c"}, "Literal"),
    ({"tags": "abc"}, r"must be Sequence\[str\]"),
    ({"names": ["x", 3]}, r"\[1\]"),
    ({"limit": "7"}, r"must be Optional\[int\]"),
    ({"extra": {"k": "1"}}, "must be dict"),
])
def test_wrongly_typed_params_are_rejected(params, wanted):
    with pytest.raises(RewardParamsError, match=wanted) as info:
        typed.check_params(params)
    [problem] = info.value.problems
    assert problem.param == next(iter(params)) and problem.fix


def test_fixes_say_what_to_write():
    [timeout] = check_param_types(typed.fn, {"timeout": "5s"}, defaults=typed.defaults)
    assert "plain number, without quotes or units" in timeout.fix and "`timeout: 5.0`" in timeout.fix
    [strict] = check_param_types(typed.fn, {"strict": "no"}, defaults=typed.defaults)
    assert "true or false" in strict.fix and "`strict: false`" in strict.fix


def test_direct_calls_check_types_too():
    with pytest.raises(RewardParamsError, match="must be bool"):
        typed("sample", strict="no")


def test_string_annotations_resolve_and_unresolvable_ones_are_skipped():
    namespace: dict = {}
    exec("from __future__ import annotations\n"  # noqa: S102 - annotations as strings, as in most modules
         "def fn(sample, *, a: int = 1, b: NoSuchType = None, c: 'list[str]' = ()):\n    return 1.0\n", namespace)
    fn = namespace["fn"]
    assert [p.param for p in check_param_types(fn, {"a": "1", "b": "anything", "c": [1]})] == ["a", "c"]


def test_validate_still_runs_for_rules_types_cannot_say():
    def positive(*, n: int) -> None:
        if n <= 0:
            raise RewardParamsError("n must be positive")

    @reward("t.positive", validate=positive)
    def fn(sample, *, n: int = 1):
        return 1.0

    fn.check_params({"n": 2})
    with pytest.raises(RewardParamsError, match="must be positive"):
        fn.check_params({"n": 0})
    with pytest.raises(RewardParamsError, match="must be int"):  # types first: validate never sees "x"
        fn.check_params({"n": "x"})


BAD_RECIPE = """\
name: bad-types
rewards:
  - name: math.accuracy
    params:
      timeout: "5s"
  - name: format.think
    params:
      strict: "no"
"""


def test_validate_reports_file_line_and_fix(tmp_path, cli):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(BAD_RECIPE)
    out = cli("validate", str(recipe))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"{recipe}:5: rewards[0].params.timeout: reward 'math.accuracy': param 'timeout' must be float" in out.stderr
    assert "fix: write a plain number, without quotes or units; e.g. `timeout: 5.0`" in out.stderr
    assert f"{recipe}:8: rewards[1].params.strict: reward 'format.think': param 'strict' must be bool" in out.stderr
    assert "fix: write true or false, without quotes; e.g. `strict: false`" in out.stderr


def test_first_party_rewards_accept_their_own_defaults():
    import inspect

    from rewardkit.plugins import default_kit

    for r in default_kit().registry.rewards():
        sig = list(inspect.signature(r.fn).parameters.values())[1:]
        defaults = {p.name: p.default for p in sig if p.default is not p.empty}
        assert check_param_types(r.fn, defaults, name=r.name) == [], r.name
