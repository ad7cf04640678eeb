import sys
import time
from pathlib import Path

import pytest

from rewardkit import RewardKit, RewardSpec, Sample, ScoringEngine, hookimpl
from rewardkit.engine import EngineConfigError

sys.path.insert(0, str(Path(__file__).parent))
import _engine_rewards as er  # noqa: E402


@pytest.fixture(scope="module")
def kit():
    return RewardKit([er.Plugin()], entry_points=False)


def _batch(n=256):
    texts = ["ok" * (i % 5) for i in range(n)]
    if n > 200:
        texts[17], texts[200] = "hang", "crash"
    return [Sample(prompt=f"p{i % 32}", completion=t) for i, t in enumerate(texts)]


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_hanging_and_crashing_rewards_are_contained(kit, executor):
    deadline = 1.0
    with ScoringEngine([RewardSpec("t.hang_or_crash")], kit=kit, executor=executor, workers=4,
                       deadline=deadline, cache_size=0) as engine:
        engine.executor.run_calls([(len, ("warm",), {})] * 4)  # start workers outside the timed part
        samples = _batch()
        started = time.monotonic()
        results = engine.score(samples)
        elapsed = time.monotonic() - started
    assert elapsed < deadline + 1.0, f"batch took {elapsed:.2f}s"
    assert len(results) == 256
    hung, crashed = results[17].scores["t.hang_or_crash"], results[200].scores["t.hang_or_crash"]
    assert hung.value is None and hung.timed_out and "deadline" in hung.error
    assert crashed.value is None and "verifier exploded" in crashed.error and not crashed.timed_out
    ok = [r for i, r in enumerate(results) if i not in (17, 200)]
    assert all(r.scores["t.hang_or_crash"].value == len(r.sample.completion_text) / 10 for r in ok)
    stats = engine.stats["t.hang_or_crash"]
    assert (stats.errors, stats.timeouts, stats.scored) == (2, 1, 256)
    assert stats.share_none == pytest.approx(2 / 256)
    assert stats.latency_max >= deadline


def test_ray_executor_contains_hangs_and_crashes(kit):
    samples = _batch(24)
    samples[5] = Sample(prompt="x", completion="hang")
    samples[9] = Sample(prompt="x", completion="crash")
    with ScoringEngine([RewardSpec("t.hang_or_crash")], kit=kit, executor="ray", workers=2, deadline=3.0) as engine:
        engine.executor.run_calls([(len, ("warm",), {})] * 4)  # start Ray's workers before deadlines count
        results = engine.score(samples)
    assert results[5].scores["t.hang_or_crash"].timed_out
    assert "verifier exploded" in results[9].scores["t.hang_or_crash"].error
    assert sum(r.scores["t.hang_or_crash"].value is not None for r in results) == 22


def test_memory_cap_in_process_workers(kit):
    from rewardkit.executors import ProcessExecutor

    def hog():
        return len(bytearray(3 * 1024**3))

    with ProcessExecutor(1, memory_limit_mb=512) as ex:
        [outcome] = ex.run_calls([(hog, (), {})], timeout=10)
        [after] = ex.run_calls([(sum, ([1, 2],), {})], timeout=10)
    assert not outcome.ok and "MemoryError" in outcome.error
    assert after.value == 3  # the pool goes on


def test_cache_routing_weights_and_total(kit):
    er.counted.fn.calls = 0
    specs = [RewardSpec("t.counted", weight=2.0, domains=["math"]), RewardSpec("t.length", weight=0.5)]
    with ScoringEngine(specs, kit=kit) as engine:
        samples = [Sample(prompt="p", completion="abcd", domain="math")] * 3 + [Sample(prompt="q", completion="xy", domain="code")]
        results = engine.score(samples)
        assert er.counted.fn.calls == 1  # three identical samples, one computation
        engine.score(samples)
        assert er.counted.fn.calls == 1  # cached across calls
        assert engine.stats["t.counted"].cache_hits == 3
    assert results[0].total == pytest.approx(2.0 * 1.0 + 0.5 * 4)
    code = results[3]
    assert code.scores["t.counted"].value is None and "not routed" in code.scores["t.counted"].reason
    assert code.total == pytest.approx(0.5 * 2)
    assert code.errors == {}


def test_group_reward_reads_its_dependency(kit):
    specs = [RewardSpec("t.length", id="len"), RewardSpec("t.group_rank", params={"base": "len"})]
    with ScoringEngine(specs, kit=kit) as engine:
        assert engine.order == ["len", "t.group_rank"]
        samples = [Sample(prompt="a", completion="x" * n) for n in (1, 3)] + [Sample(prompt="b", completion="y" * 10)]
        scores = [r.scores["t.group_rank"] for r in engine.score(samples)]
    assert [s.value for s in scores] == [-1.0, 1.0, 0.0]
    assert scores[0].details == {"group_size": 2}


def test_missing_dependency_and_duplicate_ids_are_config_errors(kit):
    with pytest.raises(EngineConfigError, match="reads the result of 'nope'.*add a reward"):
        ScoringEngine([RewardSpec("t.group_rank", params={"base": "nope"})], kit=kit)
    with pytest.raises(EngineConfigError, match="used twice"):
        ScoringEngine([RewardSpec("t.length"), RewardSpec("t.length")], kit=kit)


def test_observers_see_scores_and_stats():
    seen = []

    class Observer:
        __name__ = "observer"

        @hookimpl
        def rewardkit_after_score(self, reward_id, samples, scores, stats):
            seen.append((reward_id, len(samples), [s.value for s in scores], stats.mean))

    kit = RewardKit([er.Plugin(), Observer()], entry_points=False)
    with ScoringEngine(["t.length"], kit=kit) as engine:
        engine.score([Sample(completion="ab"), Sample(completion="abcd")])
    assert seen == [("t.length", 2, [2.0, 4.0], 3.0)]


def test_trl_reward_funcs_shape(kit):
    with ScoringEngine([RewardSpec("t.length", id="len", weight=0.3), RewardSpec("exact_match")], kit=kit) as engine:
        funcs = engine.trl_reward_funcs()
        assert [f.__name__ for f in funcs] == ["len", "exact_match"] and engine.weights == [0.3, 1.0]
        out = funcs[1](["p", "p"], ["4", "5"], answer=["4", "4"], trainer_state=object(), completion_ids=[[1], [2]])
        assert out == [1.0, 0.0]
        assert funcs[1](["p"], ["4"]) == [None]  # no reference column: not applicable, not 0


def test_import_time_in_a_fresh_worker_does_not_count_against_the_deadline():
    from rewardkit.executors import ProcessExecutor

    from rewardkit.types import Sample as S

    with ProcessExecutor(1) as ex:
        import _slow_import_reward as slow  # noqa: F401 - the parent imports it too (1.5 s)

        [outcome] = ex.run_calls([(slow.after_slow_import.score, ([S()], {}), {})], timeout=1.0)
    assert outcome.ok, outcome.error
    assert outcome.value[0].value == 1.0


def test_failed_and_timed_out_scores_are_not_cached(kit):
    from rewardkit import Score, reward

    calls = []

    @reward("t.flaky")
    def flaky(sample):
        calls.append(1)
        return Score.failed("busy", timed_out=True) if len(calls) == 1 else 1.0

    class P:
        __name__ = "flaky"

        @hookimpl
        def rewardkit_register(self, registry):
            registry.add_reward(flaky)

    with ScoringEngine(["t.flaky"], kit=RewardKit([P()], entry_points=False)) as engine:
        first = engine.score([Sample(completion="x")])[0].scores["t.flaky"]
        second = engine.score([Sample(completion="x")])[0].scores["t.flaky"]
        third = engine.score([Sample(completion="x")])[0].scores["t.flaky"]
    assert first.timed_out and second.value == 1.0 and third.value == 1.0 and len(calls) == 2
