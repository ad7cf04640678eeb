"""Kimi k1.5's prompt sampling for GRPO (curriculum, prioritized): the sampler's index stream, its
choices, the option's checks and a grpo run on the tiny model that records success rates."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import _rk_rewards as rk


def chunks_of(stream: list[int], mini: int, batch: int, repeat: int) -> list[list[int]]:
    """The distinct prompts of each chunk, checking TRL's structure on the way: each index ``mini`` times in a
    row, each chunk ``repeat`` times."""
    width = mini * batch
    blocks = [stream[i:i + width] for i in range(0, len(stream), width)]
    out = []
    for b in range(0, len(blocks), repeat):
        group = blocks[b:b + repeat]
        assert all(g == group[0] for g in group) and len(group) == repeat
        prompts = group[0][::mini]
        assert group[0] == [p for p in prompts for _ in range(mini)] and len(set(prompts)) == batch
        out.append(prompts)
    return out


def test_uniform_is_trls_repeat_sampler():
    from rewardkit.train.prompt_sampling import PromptSampler
    from trl.trainer.utils import RepeatSampler

    for mini, batch, repeat in ((2, 3, 4), (4, 2, 1), (1, 5, 2)):
        ours = PromptSampler(11, mini_repeat_count=mini, batch_size=batch, repeat_count=repeat, seed=7)
        trls = RepeatSampler(list(range(11)), mini_repeat_count=mini, batch_size=batch, repeat_count=repeat,
                             seed=7)
        for _ in range(2):  # two epochs: the generator carries on alike
            assert list(ours) == list(trls)
        assert len(ours) == len(trls)


@pytest.mark.parametrize("kind", ["curriculum", "prioritized"])
def test_other_kinds_keep_the_batching_contract(kind):
    from rewardkit.train.prompt_sampling import PromptSampler, SamplingOptions

    options = SamplingOptions(kind=kind, difficulty_column="level")
    sampler = PromptSampler(10, mini_repeat_count=3, batch_size=4, repeat_count=2, seed=1, options=options,
                            ranks=[i % 5 for i in range(10)])
    stream = list(sampler)
    assert len(stream) == len(sampler) == 2 * 4 * 3 * 2  # 10 // 4 chunks
    chunks = chunks_of(stream, 3, 4, 2)
    assert sampler.state.sequence == [p for c in chunks for p in c]
    assert sum(sampler.state.draws) == 8 and Counter(sampler.state.sequence) == {
        i: n for i, n in enumerate(sampler.state.draws) if n}


def test_curriculum_draws_easy_before_hard():
    from rewardkit.train.prompt_sampling import PromptSampler, SamplingOptions, difficulty_ranks

    options = SamplingOptions(kind="curriculum", difficulty_column="level")
    levels = ["Level 3", "Level 1", "Level 5", "Level 2", "Level 4"] * 4
    ranks = difficulty_ranks(levels, options)
    sampler = PromptSampler(20, mini_repeat_count=2, batch_size=4, seed=0, options=options, ranks=ranks)
    list(sampler)
    drawn = [ranks[i] for i in sampler.state.sequence]
    assert drawn == sorted(drawn) and len(drawn) == 20 and drawn[0] == 1 and drawn[-1] == 5
    # a pass-rate column: higher is easier
    rates = [0.9, 0.1, 0.5, 0.7]
    passes = SamplingOptions(kind="curriculum", difficulty_column="pass_rate", higher_is_easier=True)
    sampler = PromptSampler(4, mini_repeat_count=1, batch_size=1, seed=0, options=passes,
                            ranks=difficulty_ranks(rates, passes))
    assert list(sampler) == [0, 3, 2, 1]
    # named labels, ranked as listed
    named = SamplingOptions(kind="curriculum", difficulty_column="d",
                            difficulty_order=["easy", "medium", "hard"])
    assert difficulty_ranks(["hard", "easy", "medium"], named) == [2.0, 0.0, 1.0]
    # mix: some hard problems come early, still each prompt once an epoch
    mixed = SamplingOptions(kind="curriculum", difficulty_column="level", mix=0.5)
    sampler = PromptSampler(20, mini_repeat_count=1, batch_size=4, seed=0, options=mixed, ranks=ranks)
    order = list(sampler)
    assert sorted(order) == list(range(20)) and [ranks[i] for i in order] != sorted(ranks)


def test_prioritized_draws_weak_problems_more():
    """Fixed success rates: 0.9 for prompts 0-4, 0.1 for 5-9; weights 0.1 and 0.9, so (one draw at a time)
    the weak ones come 9x as often. Over 2000 draws, seed 0: at least 5x."""
    from rewardkit.train.prompt_sampling import PromptSampler, SamplingOptions, SamplingState

    state = SamplingState(10)
    for i in range(10):
        state.record([i] * 10, [1.0] * (9 if i < 5 else 1) + [0.0] * (1 if i < 5 else 9), threshold=1.0)
    assert [round(state.success_rate(i), 2) for i in (0, 9)] == [0.9, 0.1]
    sampler = PromptSampler(10, mini_repeat_count=1, batch_size=1, seed=0, state=state,
                            options=SamplingOptions(kind="prioritized"))
    for _ in range(200):
        list(sampler)
    strong, weak = sum(state.draws[:5]), sum(state.draws[5:])
    assert strong + weak == 2000 and weak > 5 * strong
    # unseen problems count as s = 0; the floor keeps solved ones drawable
    fresh = SamplingState(3)
    fresh.record([0, 0], [1.0, 1.0], threshold=1.0)
    assert fresh.weights(0.05).tolist() == [0.05, 1.0, 1.0]
    # a later stage takes over the counts an earlier one wrote (success_from), for the same rows only
    later = SamplingState(3)
    later.resume(fresh.report(SamplingOptions(kind="prioritized")))
    assert (later.completions, later.successes, later.draws) == ([2, 0, 0], [2, 0, 0], [0, 0, 0])
    with pytest.raises(ValueError, match="covers 3 prompts and this stage has 4"):
        SamplingState(4).resume(fresh.report(SamplingOptions(kind="prioritized")))


def test_bad_options_say_what_to_fix(tmp_path):
    from rewardkit.recipe import RecipeError, load_recipe
    from rewardkit.train.prompt_sampling import SamplingOptions, difficulty_ranks

    with pytest.raises(ValueError, match="curriculum needs sampling.difficulty_column"):
        SamplingOptions.parse({"kind": "curriculum"})
    with pytest.raises(ValueError, match="must be one of uniform, curriculum, prioritized"):
        SamplingOptions.parse("prioritised")
    with pytest.raises(ValueError, match="no field 'difficulty'"):
        SamplingOptions.parse({"kind": "curriculum", "difficulty": "level"})
    with pytest.raises(ValueError, match="sampling.mix must be a number"):
        SamplingOptions.parse({"kind": "curriculum", "difficulty_column": "level", "mix": "some"})
    with pytest.raises(ValueError, match="names an earlier stage as '@NAME'"):
        SamplingOptions.parse({"kind": "prioritized", "success_from": "warmup"})
    with pytest.raises(ValueError, match="row 1: level 'hard' is not a number"):
        difficulty_ranks([1, "hard"], SamplingOptions(kind="curriculum", difficulty_column="level"))
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("""\
name: bad
model: {name_or_path: some/model}
data: {path: %s}
rewards: [{name: python, params: {function: "_rk_rewards:coin"}}]
stages:
  - type: grpo
    options: {sampling: {kind: prioritized, epsilon: 0}}
""" % rk.write_prompts(tmp_path / "prompts.jsonl", 2))
    with pytest.raises(RecipeError) as err:
        load_recipe(recipe)
    assert "bad.yaml:7: stages[0].options" in str(err.value) and "epsilon must be in (0, 1]" in str(err.value)


def test_prioritized_grpo_records_success_rates(tiny_model, tmp_path):
    """8 prompts; the reward is 1.0 (a success) for the even-numbered ones whatever the model writes, below 1
    for the odd ones. Once scored, solved prompts weigh epsilon against 1: the odd ones get drawn."""
    from rewardkit.train.grpo import run_grpo_stage
    from rewardkit.train.prompt_sampling import SAMPLING_FILE

    sys.path.insert(0, str(rk.HERE))
    rows = rk.write_prompts(tmp_path / "prompts.jsonl", 8)
    recipe = tmp_path / "prio.yaml"
    recipe.write_text(f"""\
name: prio
model: {{name_or_path: {tiny_model}}}
data: {{path: {rows}}}
rewards:
  - {{name: python, id: parity, params: {{function: "_rk_rewards:prompt_parity"}}}}
stages:
  - type: grpo
    args: {{max_steps: 6, per_device_train_batch_size: 4, num_generations: 2, max_completion_length: 4,
            seed: 3}}
    options: {{sampling: {{kind: prioritized, epsilon: 0.01}}}}
""")
    result = run_grpo_stage(rk.stage_run(recipe, tmp_path / "stage"))
    report = json.loads((tmp_path / "stage" / SAMPLING_FILE).read_text())
    assert report["kind"] == "prioritized" and result["sampling"]["kind"] == "prioritized"
    per_prompt = report["per_prompt"]
    number = {p["index"]: p["index"] + 1 for p in per_prompt}  # row i is "number i+1"
    scored = [p for p in per_prompt if p["completions"]]
    assert scored and report["prompts_scored"] == len(scored)
    # 6 steps x 2 prompts x 2 completions scored; the data loader prefetches a chunk that is drawn, not scored
    assert sum(p["completions"] for p in per_prompt) == 24
    for p in scored:
        assert 0 < p["completions"] <= 2 * p["draws"]
        assert p["success_rate"] == (1.0 if number[p["index"]] % 2 == 0 else 0.0)
    assert all(p["success_rate"] is None for p in per_prompt if not p["completions"])
    assert 12 <= len(report["sequence"]) <= 14
    assert sum(p["draws"] for p in per_prompt) == len(report["sequence"])
    # after the first solved prompts were scored, the unsolved (odd) ones dominate the draws
    later = report["sequence"][4:]
    odd = sum(number[i] % 2 for i in later)
    assert odd >= 0.75 * len(later), report["sequence"]


def test_a_difficulty_column_the_data_lacks_is_named(tiny_model, tmp_path):
    from rewardkit.recipe import RecipeError
    from rewardkit.train.grpo import run_grpo_stage

    recipe = tmp_path / "nolevel.yaml"
    recipe.write_text(f"""\
name: nolevel
model: {{name_or_path: {tiny_model}}}
data: {{path: {rk.write_prompts(tmp_path / "prompts.jsonl", 4)}}}
rewards: [{{name: python, params: {{function: "_rk_rewards:coin"}}}}]
stages:
  - type: grpo
    args: {{max_steps: 1, per_device_train_batch_size: 4, num_generations: 2, max_completion_length: 4}}
    options: {{sampling: {{kind: curriculum, difficulty_column: level}}}}
""")
    with pytest.raises(RecipeError) as err:
        run_grpo_stage(rk.stage_run(recipe, tmp_path / "stage"))
    text = str(err.value)
    assert "stages[0].options.sampling.difficulty_column" in text and "no column 'level'" in text
    assert "answer" in text  # the columns it has
