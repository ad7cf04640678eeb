"""The plugin as users meet it: installed entry point, the reasoning_shaping recipe, the engine."""

import json
from pathlib import Path

import pytest
from rewardkit import RewardKit, ScoringEngine
from rewardkit.recipe import load_recipe
from rewardkit.testing import make_sample, shared_data_dir

from rewardkit_format.plugin import REWARDS

RECIPE = Path(__file__).resolve().parents[3] / "recipes" / "reasoning_shaping.yaml"


@pytest.fixture(scope="module")
def kit():
    return RewardKit()


def test_every_reward_is_registered_by_the_installed_plugin(kit):
    names = {r.name for r in REWARDS}
    assert len(names) == 11 and names <= set(kit.registry.names())
    for name in names:
        reward = kit.registry.reward(name)
        assert reward.plugin == "format" and reward.description, name
    assert kit.registry.reward("format.kimi_length").dependencies({"correctness": "acc"}) == ["acc"]
    assert kit.registry.reward("format.cosine").dependencies({}) == ["math.accuracy"]


def test_reasoning_shaping_recipe_scores_math500_groups(kit):
    pytest.importorskip("rewardkit_math", reason="the recipe's accuracy reward is in rewardkit-math")
    recipe = load_recipe(RECIPE, kit=kit)
    assert [r.name for r in recipe.rewards][:3] == ["math.accuracy", "format.think", "format.kimi_length"]
    with open(shared_data_dir() / "math500" / "test.jsonl") as f:
        rows = [json.loads(line) for line in f][:3]
    samples, expected = [], []
    for row in rows:
        # a GRPO group of 4 per prompt; lengths 50..500, so lambda = 0.5 - (L - 50) / 450
        group = ((100, row["answer"], 1.0, 0.5 - 50 / 450), (300, row["answer"], 1.0, 0.5 - 250 / 450),
                 (50, "-12345", 0.0, 0.0), (500, "-12345", 0.0, -0.5))  # wrong: min(0, lambda)
        for n_tokens, answer, accuracy, kimi in group:
            text = f"<think>\n{row['solution']}\n</think>\nThe answer is $\\boxed{{{answer}}}$."
            samples.append(make_sample(text, prompt=row["problem"], answer=row["answer"], domain="math",
                                       completion_ids=list(range(n_tokens))))
            expected.append((accuracy, kimi))
    with ScoringEngine(recipe.reward_specs(), kit=kit) as engine:
        scored = engine.score(samples)
    for s, (accuracy, kimi) in zip(scored, expected):
        sc = s.scores
        assert sc["accuracy"].value == accuracy, sc["accuracy"]
        assert sc["format.kimi_length"].value == pytest.approx(kimi)
        assert sc["format.think"].value == 1.0
        assert sc["format.overlong"].value == 0.0
        assert sc["format.language"].value == 1.0
        assert sc["format.repetition"].value <= 0.0
        assert s.total == pytest.approx(sum(spec.weight * sc[spec.key].value for spec in engine.specs))


def test_engine_reports_a_missing_dependency_before_scoring(kit):
    from rewardkit.engine import EngineConfigError

    with pytest.raises(EngineConfigError, match="math.accuracy"):
        ScoringEngine(["format.cosine"], kit=kit)
