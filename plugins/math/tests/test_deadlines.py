"""Pathological answers return within the deadline, from the main thread, other threads, the engine's
worker processes and Ray; workers are memory-capped and replaced when killed."""

import resource
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from rewardkit.testing import make_sample

from rewardkit_math import accuracy, check_pairs, CheckerConfig
from rewardkit_math.checker import get_executor, default_workers

DEADLINE = 1.5
#: Scheduling, pickling and a worker restart on a shared 2-core machine; far below any real hang.
SLACK = 6.0

PATHOLOGICAL = [
    "\\boxed{9^{9^{9^{9}}}}",
    "\\boxed{10**10**10**10}",
    "\\boxed{100000!}",
    "\\boxed{(10^{10})!}",  # passes the guards: only the deadline stops it
    "\\boxed{\\binom{10^{9}}{10^{8}}}",
    "\\boxed{(99999^{99999})^{99999}}",  # big-int work in C: the worker's alarm waits, the parent's kill does not
    "x " * 500_000 + "\\boxed{5}",
    "\\boxed{" + "{" * 10_000 + "1" + "}" * 10_000 + "}",
    "\\boxed{" * 3000 + "1" + "}" * 3000,
    "<answer>" + "9" * 100_000 + "</answer>",
    "The answer is " + "1+" * 400 + "1",
    "<answer>" * 125_000,  # a lazy <answer>(.*?)</answer> regex is quadratic on this
    "\\boxed{" * 125_000,
    "the final answer is " * 50_000,
    "".join(f"\\boxed{{{i}}}, " for i in range(100_000)),  # box spam: one long list, guarded
    "<answer>" + "$a" * 300_000 + "</answer>",
    "we obtain " + "$x$ and " * 100_000 + "\\[ 7 \\]",  # no cue: math-verify's own regexes on a long text
    "we obtain\n\\[ (10^{10})! \\]",  # no cue: the last formula, checked in a worker
    "To answer it, we obtain \\[ \\Gamma(10^{8}) \\]",  # "answer" but no cue of ours: math-verify reads it whole
]


def _timed(samples, params):
    start = time.monotonic()
    scores = accuracy.score(samples, params)
    return scores, time.monotonic() - start


@pytest.mark.parametrize("completion", PATHOLOGICAL, ids=range(len(PATHOLOGICAL)))
def test_each_pathological_input_returns_within_the_deadline(completion):
    (score,), elapsed = _timed([make_sample(completion, answer="5")], {"timeout": DEADLINE})
    assert elapsed < DEADLINE + SLACK
    assert score.value == (1.0 if completion.endswith("\\boxed{5}") else 0.0)
    if score.timed_out:
        assert score.reason == "timeout" and "deadline" in score.error


def test_a_timeout_kills_only_its_own_check():
    samples = [make_sample("\\boxed{(10^{10})!}", answer="7"), make_sample("\\boxed{\\sqrt{8}}", answer="2\\sqrt{2}"),
               make_sample("\\boxed{\\frac{1}{\\sqrt{2}}}", answer="\\frac{\\sqrt{2}}{2}")]
    scores, elapsed = _timed(samples, {"timeout": DEADLINE})
    assert [s.value for s in scores] == [0.0, 1.0, 1.0]
    assert scores[0].timed_out and not scores[1].timed_out
    assert elapsed < DEADLINE + SLACK


def test_a_slow_answer_in_a_group_times_out_alone():
    gold = "\\frac{\\sqrt{2}}{2}"
    group = ["\\boxed{\\frac{1}{\\sqrt{2}}}", "\\boxed{(10^{10})!}", "\\boxed{\\sqrt{0.5}}", "\\boxed{2}"]
    scores, elapsed = _timed([make_sample(c, answer=gold) for c in group * 4], {"timeout": DEADLINE})
    assert [s.value for s in scores] == [1.0, 0.0, 1.0, 0.0] * 4
    assert [s.timed_out for s in scores[:4]] == [False, True, False, False]
    assert elapsed < DEADLINE + SLACK


def test_failure_score_none_reports_the_timeout_instead():
    (score,), _ = _timed([make_sample("\\boxed{(10^{10})!}", answer="8")], {"timeout": DEADLINE, "failure_score": None})
    assert score.value is None and score.timed_out


def test_deadlines_hold_when_called_from_threads():
    jobs = [("\\boxed{(10^{11})!}", "5", 0.0), ("\\boxed{\\frac{6}{4}}", "1.5", 1.0), ("\\boxed{9^{9^{9^{9}}}}", "5", 0.0),
            ("\\boxed{x^2-1}", "(x-1)(x+1)", 1.0)]
    start = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(accuracy.score, [make_sample(c, answer=g)], {"timeout": DEADLINE}) for c, g, _ in jobs]
        values = [f.result()[0].value for f in futures]
    assert values == [want for _, _, want in jobs]
    assert time.monotonic() - start < 2 * DEADLINE + SLACK  # the checks share one 2-worker pool


def test_inline_checks_have_a_signal_deadline_on_the_main_thread():
    (score,), elapsed = _timed([make_sample("\\boxed{\\Gamma(10^{8})}", answer="5")],
                               {"timeout": DEADLINE, "executor": "inline"})
    assert score.value == 0.0 and score.timed_out
    assert elapsed < DEADLINE + SLACK


def test_inside_the_engines_worker_processes():
    from rewardkit.engine import RewardSpec, ScoringEngine

    spec = RewardSpec("math.accuracy", params={"timeout": DEADLINE}, deadline=30)
    samples = [make_sample("\\boxed{\\Gamma(10^{8})}", answer="5"), make_sample("\\boxed{\\sqrt{8}}", answer="2\\sqrt{2}")]
    with ScoringEngine([spec], executor="process", workers=1, cache_size=0) as engine:
        start = time.monotonic()
        results = engine.score(samples)
        elapsed = time.monotonic() - start
    scores = [r.scores["math.accuracy"] for r in results]
    # engine workers are daemonic (cannot fork): the reward checks inline with a SIGALRM deadline
    assert [s.value for s in scores] == [0.0, 1.0]
    assert scores[0].timed_out
    assert elapsed < 20  # the engine's own 30 s deadline was never needed


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))


def test_workers_are_memory_capped_and_survive_a_memory_error():
    pool = get_executor("process", default_workers(), 512)
    (limit, size) = pool.run_calls([(resource.getrlimit, (resource.RLIMIT_AS,), {}), (_vm_size, (), {})], timeout=10)
    # the cap is the worker's own address space plus 512 MB (a training script's imports come first)
    assert 512 * 1024**2 < limit.value[0] < size.value + 600 * 1024**2
    (blown,) = pool.run_calls([(bytearray, (2 * 1024**3,), {})], timeout=10)
    assert blown.error and "MemoryError" in blown.error  # in the worker, not here
    verdicts = check_pairs([("\\frac{1}{2}", "\\frac{2}{4}x/x")], CheckerConfig(memory_limit_mb=512, timeout=10))
    assert verdicts[0].how == "sympy" and verdicts[0].equal is True


def test_inside_ray_tasks():
    pytest.importorskip("ray", reason="Ray is not installed")
    from rewardkit.engine import RewardSpec, ScoringEngine

    spec = RewardSpec("math.accuracy", params={"timeout": DEADLINE, "workers": 1}, deadline=60)
    samples = [make_sample("\\boxed{\\Gamma(10^{8})}", answer="5"), make_sample("\\boxed{0.5}", answer="\\frac{1}{2}"),
               make_sample("\\boxed{x+1}", answer="x-1")]
    with ScoringEngine([spec], executor="ray", workers=1, cache_size=0) as engine:
        results = engine.score(samples)
    scores = [r.scores["math.accuracy"] for r in results]
    # Ray workers may fork: the reward runs its own killable process pool inside the task
    assert [s.value for s in scores] == [0.0, 1.0, 0.0]
    assert scores[0].timed_out, scores[0]
    # ... and checks can themselves be Ray tasks (force-cancelled on overrun)
    direct = accuracy.score(samples, {"timeout": DEADLINE, "executor": "ray", "workers": 2})
    assert [s.value for s in direct] == [0.0, 1.0, 0.0]
    assert direct[0].timed_out


def test_inline_checks_put_back_the_callers_alarm():
    import signal

    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 3.0)
        accuracy.score([make_sample("\\boxed{x^2-1}", answer="(x-1)(x+1)")], {"executor": "inline", "timeout": 2})
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < remaining <= 3.0 and not fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
