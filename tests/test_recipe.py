import textwrap

import pytest

from rewardkit.recipe import RecipeError, load_recipe

GOOD = """\
name: good
data:
  path: "{shared_data}/gsm8k/test.jsonl"
  columns: {prompt: question}
rewards:
  - name: exact_match
    weight: 2.0
    domains: [math]
  - name: regex_match
    id: has_digit
    params: {pattern: '\\d'}
stages:
  - type: score
profiles:
  cpu:
    scoring: {workers: 1}
"""


def write(tmp_path, text, name="recipe.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_good_recipe_and_profile(tmp_path):
    recipe = load_recipe(write(tmp_path, GOOD), profile="cpu")
    assert [s.key for s in recipe.reward_specs()] == ["exact_match", "has_digit"]
    assert recipe.reward_specs()[0].weight == 2.0 and recipe.scoring.workers == 1
    assert recipe.resolve_path(recipe.data.path).is_file()


def _problems(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    return str(info.value), info.value.problems, path


def test_wrong_field_names_file_line_path_and_fix(tmp_path):
    message, problems, path = _problems(tmp_path, """\
        name: bad
        rewards:
          - name: exact_match
            wieght: 2.0
        """)
    assert f"{path}:4: rewards[0].wieght: Extra inputs are not permitted" in message
    assert "fix: did you mean 'weight'?" in message


def test_wrong_type_names_the_field(tmp_path):
    message, _, path = _problems(tmp_path, "name: bad\nscoring:\n  deadline: soon\n")
    assert f"{path}:3: scoring.deadline:" in message and "valid number" in message


def test_unknown_reward_suggests_installed_names(tmp_path):
    message, problems, path = _problems(tmp_path, "name: bad\nrewards:\n  - name: exact_mach\n")
    assert f"{path}:3: rewards[0].name: no reward named 'exact_mach' is installed" in message
    assert "fix: did you mean 'exact_match'" in message


def test_unknown_reward_param(tmp_path):
    message, _, _ = _problems(tmp_path, "name: bad\nrewards:\n  - name: exact_match\n    params: {strp: true}\n")
    assert "rewards[0].params.strp" in message and "did you mean 'strip'?" in message


def test_missing_data_file(tmp_path):
    message, _, path = _problems(tmp_path, "name: bad\ndata:\n  path: nowhere/rows.jsonl\n")
    assert f"{path}:3: data.path: data file 'nowhere/rows.jsonl' does not exist" in message
    assert "relative to the recipe file's folder" in message


def test_every_problem_is_listed_at_once(tmp_path):
    _, problems, _ = _problems(tmp_path, "name: bad\nrewards:\n  - name: nope1\n  - name: nope2\n  - name: exact_match\n    id: nope1\n")
    assert [p.path for p in problems] == ["rewards[2].id", "rewards[0].name", "rewards[1].name"]


def test_unknown_stage_type_and_bad_yaml(tmp_path):
    message, _, _ = _problems(tmp_path, "name: bad\nstages:\n  - type: gpro\n")
    assert "stages[0].type" in message and "did you mean 'grpo'?" in message
    message, _, path = _problems(tmp_path, "name: [unclosed\n")
    assert str(path) in message and "not valid YAML" in message


def test_cli_validate_exit_codes_and_no_traceback(tmp_path, cli):
    bad = write(tmp_path, "name: bad\nrewards:\n  - name: exact_mach\n", "bad.yaml")
    out = cli("validate", str(bad))
    assert out.returncode == 2
    assert "did you mean 'exact_match'" in out.stderr and "Traceback" not in out.stderr
    good = write(tmp_path, GOOD, "good.yaml")
    out = cli("validate", str(good))
    assert out.returncode == 0 and "ok" in out.stdout
    out = cli("validate", str(tmp_path / "missing.yaml"))
    assert out.returncode == 2 and "no such recipe file" in out.stderr


def test_builtin_params_are_checked_at_validation(tmp_path):
    message, _, _ = _problems(tmp_path, "name: bad\nrewards:\n  - name: regex_match\n    params: {pattern: '(unclosed'}\n")
    assert "rewards[0].params" in message and "not a valid regular expression" in message
    message, _, _ = _problems(tmp_path, "name: bad\nrewards:\n  - name: python\n    params: {function: 'no_such_module_xyz:fn'}\n")
    assert "cannot be imported" in message and "PYTHONPATH" in message
