"""``rewardkit new plugin NAME``: a plugin distribution that installs and passes its own tests at once.

It writes ``rewardkit-NAME/`` with a ``pyproject.toml`` (the ``rewardkit`` entry point), a reward
module with one example verifier, a test file running the conformance suite on it, and a README.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class ScaffoldError(ValueError):
    """The plugin cannot be written (a bad name, or the folder exists); the message says what to do."""


_PYPROJECT = '''\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "rewardkit-{dash}"
version = "0.1.0"
description = "rewardkit plugin: {name} rewards"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["rewardkit"]

[project.optional-dependencies]
test = ["pytest>=8"]

# rewardkit finds plugins through this entry-point group: NAME = "module with rewardkit_register"
[project.entry-points.rewardkit]
{name} = "{package}.plugin"

[tool.setuptools.packages.find]
where = ["src"]
'''

_INIT = '''\
"""rewardkit plugin {name}: see README.md."""

from .rewards import keyword_match

__all__ = ["keyword_match"]
'''

_PLUGIN = '''\
"""What rewardkit loads (the ``rewardkit`` entry point): register this plugin's rewards."""

from rewardkit import hookimpl

from .rewards import keyword_match


@hookimpl
def rewardkit_register(registry):
    registry.add_reward(keyword_match)
'''

_REWARDS = '''\
"""The rewards of this plugin: plain functions described with ``@reward``."""

from __future__ import annotations

from rewardkit import RewardParamsError, Sample, Score, reward


def _check(*, keyword_column: str, case_sensitive: bool) -> None:
    # Rules the type annotations cannot say (the types themselves are checked by rewardkit).
    if not keyword_column:
        raise RewardParamsError("keyword_column must name a column", fix="e.g. keyword_column: keyword")


@reward("{name}.keyword_match", validate=_check)
def keyword_match(sample: Sample, *, keyword_column: str = "keyword", case_sensitive: bool = False) -> Score:
    """1.0 when the completion contains the row's keyword, else 0.0 (None when the row has no keyword)."""
    keyword = sample.column(keyword_column)
    if keyword is None:
        return Score.not_applicable(f"the row has no {{keyword_column!r}} column")
    text, want = sample.completion_text, str(keyword)
    if not case_sensitive:
        text, want = text.casefold(), want.casefold()
    return Score(float(want in text), reason="found" if want in text else "missing")
'''

_TEST = '''\
"""The conformance suite (one test per check) plus tests of this reward's own behaviour."""

from rewardkit.conformance import conformance
from rewardkit.testing import score_one

from {package} import keyword_match

test_keyword_match_conformance = conformance(
    keyword_match,
    gold=[{{"completion": "Paris is the capital of France.", "keyword": "paris"}}],
    wrong=[{{"completion": "It is Lyon.", "keyword": "paris"}}],
)


def test_case_sensitive():
    assert score_one(keyword_match, "paris", keyword="Paris", params={{"case_sensitive": True}}).value == 0.0


def test_not_applicable_without_a_keyword():
    assert score_one(keyword_match, "anything").value is None
'''

_README = '''\
# rewardkit-{dash}

A [rewardkit](https://pypi.org/project/rewardkit/) plugin with the reward `{name}.keyword_match`.

    pip install -e .          # rewardkit finds it through the `rewardkit` entry point
    rewardkit plugins         # lists {name}.keyword_match
    pytest                    # its tests, the conformance suite included

Use it in a recipe:

```yaml
rewards:
  - name: {name}.keyword_match
    params: {{keyword_column: keyword, case_sensitive: false}}
```
'''


def new_plugin(name: str, directory: str | Path = ".") -> Path:
    """Write the plugin ``rewardkit-NAME`` into ``directory``; returns its folder."""
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise ScaffoldError(f"plugin name {name!r} must be a lowercase Python identifier (letters, digits, _), "
                            "e.g. `rewardkit new plugin toxicity`")
    dash, package = name.replace("_", "-"), f"rewardkit_{name}"
    root = Path(directory) / f"rewardkit-{dash}"
    if root.exists():
        raise ScaffoldError(f"{root} already exists: pick another --dir or name, or remove it")
    values = {"name": name, "dash": dash, "package": package}
    files = {
        "pyproject.toml": _PYPROJECT,
        "README.md": _README,
        f"src/{package}/__init__.py": _INIT,
        f"src/{package}/plugin.py": _PLUGIN,
        f"src/{package}/rewards.py": _REWARDS,
        "tests/test_rewards.py": _TEST,
    }
    for rel, template in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values), encoding="utf-8")
    return root
