"""The conformance suite catches what it promises to catch: each rule broken by one reward fails exactly
its check, with a message saying what to do; a well-behaved reward passes every check. And the one-liner
and the pytest plugin's fixture work in a real pytest run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from rewardkit import reward
from rewardkit.conformance import Conformance, conformance, suite_for

sys.path.insert(0, str(Path(__file__).parent))
import _conformance_rewards as cr

GOLD, WRONG = [{"completion": " 4", "answer": "4"}], [{"completion": "5", "answer": "4"}]


def test_a_well_behaved_reward_passes_every_check():
    suite = suite_for(cr.exact, gold=GOLD, wrong=WRONG)
    assert set(suite.checks()) == {"params", "odd_input", "picklable", "gold", "wrong", "applicable",
                                   "deterministic", "batch", "process", "deadline"}
    suite.run_all()


@pytest.mark.parametrize("bad, check, message", [
    (cr.flaky, "deterministic", "deterministic=False"),
    (cr.batch_dependent, "batch", "batched scores"),
    (cr.raises_on_nul, "odd_input", "raised on a nul completion"),
    (cr.huge_crash, "deadline", "1 MB completion crashed"),
    (cr.never_applies, "applicable", "scored None"),
])
def test_each_broken_rule_fails_its_check(bad, check, message):
    suite = suite_for(bad, samples=[{"completion": "4", "answer": "4"}], deadline=2.0)
    with pytest.raises(AssertionError, match=message):
        suite.run(check)


def test_gold_and_wrong_examples_are_checked():
    with pytest.raises(AssertionError, match=r"gold example '5' scored 0.0 \(want 1.0\)"):
        suite_for(cr.exact, gold=WRONG).run("gold")
    with pytest.raises(AssertionError, match=r"wrong example ' 4' scored 1.0 \(want 0.0\)"):
        suite_for(cr.exact, wrong=GOLD).run("wrong")


def test_a_reward_past_its_deadline_is_a_timeout_not_a_hang():
    suite_for(cr.huge_slow, deadline=1.0).run("deadline")  # the process worker is killed, the check passes


def test_unpicklable_and_untyped_params():
    def local(sample, *, strict: bool = False):
        return 1.0

    with pytest.raises(AssertionError, match="pickle cannot round-trip"):
        Conformance(reward("bad.local")(local)).run("picklable")
    Conformance(cr.untyped).run("params")  # unannotated params accept anything: nothing to reject

    @reward("bad.default")
    def wrong_default(sample, *, n: int = "3"):
        return 1.0

    with pytest.raises(AssertionError, match="a default does not match its annotation"):
        Conformance(wrong_default).run("params")


def test_the_one_liner_and_the_fixture_in_a_real_pytest_run(tmp_path):
    (tmp_path / "my_rewards.py").write_text(
        "from rewardkit import reward\n\n"
        "@reward('mine.exact')\n"
        "def exact(sample, *, strip: bool = True) -> float:\n"
        "    return float(sample.completion_text.strip() == str(sample.reference).strip())\n")
    (tmp_path / "test_mine.py").write_text(
        "from rewardkit.conformance import conformance\n"
        "from my_rewards import exact\n\n"
        "test_exact = conformance(exact, gold=[{'completion': '4', 'answer': '4'}],\n"
        "                         wrong=[{'completion': '5', 'answer': '4'}])\n\n"
        "def test_with_the_fixture(reward_conformance):\n"
        "    reward_conformance(exact, gold=[{'completion': '4', 'answer': '4'}], skip=['process'])\n\n"
        "def test_a_failing_suite(reward_conformance):\n"
        "    reward_conformance(exact, gold=[{'completion': '5', 'answer': '4'}])\n")
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m",
                          "rewardkit_conformance or not rewardkit_conformance", "--strict-markers", "-rf"],
                         cwd=tmp_path, check=False, capture_output=True, text=True, timeout=300)
    assert "11 passed" in out.stdout and "1 failed" in out.stdout, out.stdout[-3000:]
    assert "test_exact[deterministic]" in subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"], cwd=tmp_path,
        check=False, capture_output=True, text=True, timeout=120).stdout
    assert "gold: gold example '5' scored 0.0" in out.stdout


def test_conformance_returns_a_pytest_test_per_check():
    test = conformance(cr.exact, gold=GOLD)
    [mark] = [m for m in test.pytestmark if m.name == "parametrize"]
    assert mark.args[0] == "check" and "gold" in mark.args[1] and "wrong" not in mark.args[1]
    assert test.suite.reward is cr.exact


def test_pytest_loads_the_plugin_by_its_entry_point_and_stays_light(tmp_path):
    (tmp_path / "conftest.py").write_text(
        "import sys\n\n"
        "def pytest_sessionfinish(session):\n"
        "    heavy = [m for m in ('torch', 'transformers', 'trl', 'datasets', 'ray') if m in sys.modules]\n"
        "    print('PLUGIN', session.config.pluginmanager.has_plugin('rewardkit'), 'HEAVY', heavy)\n")
    (tmp_path / "test_nothing.py").write_text("def test_nothing(make_sample):\n    assert make_sample('x')\n")
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider"], cwd=tmp_path,
                         check=False, capture_output=True, text=True, timeout=120)
    assert "1 passed" in out.stdout and "PLUGIN True HEAVY []" in out.stdout, out.stdout[-2000:]
