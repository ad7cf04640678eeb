"""Normalisation: running mean/std per reward configuration (updated per batch, then applied), and
z-scores within each GRPO group (all its samples, duplicates included; split groups caught)."""

from __future__ import annotations

import random
import statistics

import pytest
from rewardkit import RewardSpec, ScoringEngine
from rewardkit.testing import make_sample
from rewardkit_rm import RunningStats, group_zscores, score


def z(values: list[float], pool: list[float]) -> list[float]:
    mean, std = statistics.fmean(pool), statistics.pstdev(pool)
    return [(v - mean) / std for v in values]


def test_running_stats_merge_batches_like_one_pass():
    rng = random.Random(0)
    stats, seen = RunningStats(), []
    for size in (1, 7, 3, 50):
        batch = [rng.gauss(3.0, 2.0) for _ in range(size)]
        seen += batch
        assert stats.normalize(batch) == pytest.approx(z(batch, seen) if len(seen) > 1 else [0.0])
        assert (stats.count, stats.mean, stats.std) == pytest.approx(
            (len(seen), statistics.fmean(seen), statistics.pstdev(seen)))
    assert RunningStats().normalize([5.0, 5.0]) == [0.0, 0.0]  # no spread: no signal


def test_group_zscores_by_group_with_equal_scores_giving_zero():
    values = [1.0, 5.0, 2.0, 2.0, 3.0, 7.0]
    groups = ["a", "b", "a", "c", "a", "c"]
    out = group_zscores(values, groups)
    assert out[0::2][:2] + [out[4]] == pytest.approx(z([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]))
    assert out[1] == 0.0 and out[3] == pytest.approx(-1.0) and out[5] == pytest.approx(1.0)


def test_running_normalisation_through_the_engine_counts_every_batch_once(rm_dir, held_out):
    params = {"model": str(rm_dir), "normalize": "running"}
    with ScoringEngine([RewardSpec("rm.score", params=params)], workers=4, batch_size=4, deadline=120) as eng:
        first = eng.score_reward("rm.score", held_out[:24])  # 6 calls on 4 threads: updates interleave
    raws = [s.details["raw"] for s in first]
    last = score.score(held_out[24:], params)  # one more batch, straight through the reward
    pool = raws + [s.details["raw"] for s in last]
    assert [s.value for s in last] == pytest.approx(z([s.details["raw"] for s in last], pool), abs=1e-9)
    assert all(s.details["normalized"] == s.value for s in last)
    # the first call normalised its 4 scores by itself: stats are updated before they are applied
    calls = [first[i:i + 4] for i in range(0, 24, 4)]
    assert any([s.value for s in c] == pytest.approx(z([s.details["raw"] for s in c], [s.details["raw"] for s in c]))
               for c in calls)
    # another configuration keeps statistics of its own
    other = score.score(held_out[:2], {**params, "max_length": 1000})
    assert [s.value for s in other] == pytest.approx([1.0, -1.0]) or [s.value for s in other] == pytest.approx(
        [-1.0, 1.0])


def test_group_normalisation_uses_whole_groups_duplicates_included(rm_dir, pairs):
    a, b = pairs[30], pairs[31]
    # two prompts' groups, interleaved; group a holds the same completion three times
    samples = [make_sample(a["bare"], a["question"]), make_sample(b["worked"], b["question"]),
               make_sample(a["bare"], a["question"]), make_sample(b["bare"], b["question"]),
               make_sample(a["bare"], a["question"]), make_sample(a["worked"], a["question"])]
    with ScoringEngine([RewardSpec("rm.score", params={"model": str(rm_dir), "normalize": "group"})]) as eng:
        out = eng.score_reward("rm.score", samples)
    raws = [s.details["raw"] for s in out]
    ga, gb = [0, 2, 4, 5], [1, 3]
    assert [out[i].value for i in ga] == pytest.approx(z([raws[i] for i in ga], [raws[i] for i in ga]))
    assert out[0].value == pytest.approx(-1 / 3 ** 0.5)  # 3 equal scores and one other, not a pair of 2
    assert sorted(out[i].value for i in gb) == pytest.approx([-1.0, 1.0])
    # a `group` column overrides the prompt: all six form one group
    grouped = [make_sample(s.completion, s.prompt, group="g") for s in samples]
    together = score.score(grouped, {"model": str(rm_dir), "normalize": "group"})
    assert [s.value for s in together] == pytest.approx(z(raws, raws))


def test_a_group_split_across_engine_batches_fails_loudly_with_group_size(rm_dir, held_out):
    samples = [make_sample(s.completion, s.prompt, group=str(i // 4)) for i, s in enumerate(held_out[:12])]
    params = {"model": str(rm_dir), "normalize": "group", "group_size": 4}
    with ScoringEngine([RewardSpec("rm.score", params=params)], batch_size=6, deadline=120) as eng:
        out = eng.score_reward("rm.score", samples)  # calls of 6: group 1 is cut in two
    assert all(s.value is None and "split the group" in s.error for s in out[4:8])
    assert all(s.value is not None for s in out[:4] + out[8:])
    with ScoringEngine([RewardSpec("rm.score", params=params)], batch_size=8, deadline=120) as eng:
        assert all(s.value is not None for s in eng.score_reward("rm.score", samples))
