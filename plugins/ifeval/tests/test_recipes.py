"""The plugin's recipes load against the schema and the installed rewards."""

from __future__ import annotations

from pathlib import Path

import pytest

from rewardkit.recipe import load_recipe

RECIPES = Path(__file__).resolve().parents[3] / "recipes"


@pytest.mark.parametrize(
    ("name", "profile", "reward"),
    [
        ("ifeval_strict.yaml", None, "ifeval.instructions"),
        ("ifeval_grpo.yaml", None, "ifeval.tulu3"),
        ("ifeval_grpo.yaml", "cpu", "ifeval.instructions"),
    ],
)
def test_recipe_loads(name: str, profile: str | None, reward: str) -> None:
    recipe = load_recipe(RECIPES / name, profile=profile)
    assert [r.name for r in recipe.rewards][0] == reward
    if profile == "cpu":  # the cpu profile trains on the bundled IFEval prompts, whose column is `prompt`
        assert recipe.data is not None and recipe.data.columns == {"prompt": "prompt"}
