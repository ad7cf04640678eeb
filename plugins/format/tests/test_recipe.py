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
        group = (
            (100, row["answer"], 1.0, 0.5 - 50 / 450),
            (300, row["answer"], 1.0, 0.5 - 250 / 450),
            (50, "-12345", 0.0, 0.0),
            (500, "-12345", 0.0, -0.5),
        )  # wrong: min(0, lambda)
        for n_tokens, answer, accuracy, kimi in group:
            text = f"<think>\n{row['solution']}\n</think>\nThe answer is $\\boxed{{{answer}}}$."
            samples.append(
                make_sample(
                    text,
                    prompt=row["problem"],
                    answer=row["answer"],
                    domain="math",
                    completion_ids=list(range(n_tokens)),
                )
            )
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


def test_bad_param_values_are_reported_before_scoring(kit, tmp_path):
    from rewardkit import RewardParamsError, RewardSpec
    from rewardkit.recipe import RecipeError

    with pytest.raises(RewardParamsError, match="write max_penalty: -0.5"):
        ScoringEngine([RewardSpec("format.repetition", params={"max_penalty": 0.5})], kit=kit)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nrewards:\n  - name: format.overlong\n    params: {max_length: 100, cache_length: 200}\n"
        "  - name: format.language\n    params: {language: English}\n"
    )
    with pytest.raises(RecipeError) as err:
        load_recipe(bad, kit=kit)
    assert "must not exceed max_length" in str(err.value) and "ISO 639-1" in str(err.value)


def test_rewards_pickle_with_their_checks(kit):
    import pickle

    from rewardkit import RewardParamsError
    from rewardkit_format import repetition_penalty

    again = pickle.loads(pickle.dumps(repetition_penalty))
    assert again is repetition_penalty  # by reference: workers import the same object
    # the process executor ships the registry's copy: it must keep its plugin and its value check
    registered = kit.registry.reward("format.think")
    again = pickle.loads(pickle.dumps(registered))
    assert again.plugin == "format" and again.defaults["strict"] is False and again.validate is not None
    score = pickle.loads(pickle.dumps(registered.score))  # what the executor sends
    assert score([make_sample("<think>a</think> 5")], {})[0].value == 1.0
    with pytest.raises(RewardParamsError):
        again.check_params({"think_tag": "<think>"})


def test_process_executor_scores_format_rewards(kit):
    from rewardkit import RewardSpec

    specs = [
        RewardSpec("regex_match", id="acc", params={"pattern": r"answer is 5\b"}),
        RewardSpec("format.kimi_length", params={"correctness": "acc"}),
        RewardSpec("format.think", params={"strict": True}),
        RewardSpec("format.repetition"),
    ]
    samples = [
        make_sample(f"<think>\nadd {'again ' * n}\n</think>\nThe answer is {answer}.", prompt="What is 2+3?")
        for n, answer in ((1, 5), (9, 5), (5, 4))
    ]
    with ScoringEngine(specs, kit=kit, executor="process", workers=1) as engine:
        scored = engine.score(samples)
    assert [s.scores["acc"].value for s in scored] == [1.0, 1.0, 0.0]
    # approximate pieces: <think> 3 + add 1 + n + </think> 4 + "The answer is 5." 5 = 14, 22, 18;
    # lambda = 0.5 - (L - 14) / 8 = 0.5, -0.5, 0.0 (the last is wrong: min(0, 0.0))
    assert [s.scores["format.kimi_length"].value for s in scored] == pytest.approx([0.5, -0.5, 0.0])
    assert scored[0].scores["format.kimi_length"].details["length"] == 14
    assert all(s.scores["format.think"].value == 1.0 for s in scored)
    assert scored[1].scores["format.repetition"].value < 0.0 == scored[0].scores["format.repetition"].value


def test_trl_reward_functions_use_completion_ids(kit):
    # GRPO calls reward functions with the group's prompts repeated and TRL's token ids per completion
    from rewardkit import RewardSpec

    specs = [
        RewardSpec("regex_match", id="acc", params={"pattern": r"\b5\b"}),
        RewardSpec("format.kimi_length", params={"correctness": "acc"}),
        RewardSpec("format.overlong", params={"max_length": 300, "cache_length": 100}),
    ]
    with ScoringEngine(specs, kit=kit) as engine:
        acc, kimi, overlong = engine.trl_reward_funcs()
        prompts = [[{"role": "user", "content": "What is 2+3?"}]] * 3
        completions = [[{"role": "assistant", "content": c}] for c in ("5", "It is 5", "It is 6")]
        ids = [list(range(n)) for n in (100, 300, 250)]
        assert acc(prompts, completions, completion_ids=ids) == [1.0, 1.0, 0.0]
        # lambda = 0.5 - (L - 100) / 200: 0.5, -0.5, -0.25 (wrong keeps the negative part)
        assert kimi(prompts, completions, completion_ids=ids) == pytest.approx([0.5, -0.5, -0.25])
        assert overlong(prompts, completions, completion_ids=ids) == pytest.approx([0.0, -1.0, -0.5])


def test_every_reward_writes_json_details():
    # `rewardkit score` writes details to JSONL: they must serialise for hits, misses and errors
    from rewardkit import Score

    texts = ["<think>\nStep 1: add.\nStep 2: done.\n</think>\n<answer>\n5\n</answer>", "no format at all 5 5 5 5",
             "```python\ndef f(:\n```", "我们再算一次。" * 3]
    for reward in REWARDS:
        for i, text in enumerate(texts):
            sample = make_sample(text, prompt="What is 2+3?", group="g", thinking_budget=3,
                                 completion_ids=list(range(5 * i + 1)))
            sample = sample.with_scores({"math.accuracy": Score(float(i % 2 == 0))})
            for score in reward.score([sample], {"check_syntax": True} if reward.name == "format.code_block" else {}):
                assert json.loads(json.dumps(score.to_dict()))["value"] == score.value, reward.name
