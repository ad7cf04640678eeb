"""rewardkit's conformance suite on rm.score with a tiny random reward model: its scores mean nothing,
so there are no gold/wrong examples; the other checks (params, odd input, pickling, batch = per-sample,
the process executor, deadlines, a score for every sample) all run."""

import pytest
from rewardkit.conformance import suite_for
from rewardkit.testing import cached_tiny_model
from rewardkit_rm import score

SAMPLES = [{"prompt": "What is 2+2?", "completion": "2 + 2 = 4. The answer is 4."},
           {"prompt": "What is 2+2?", "completion": "5"}]


@pytest.fixture(scope="module")
def suite():
    return suite_for(score, samples=SAMPLES, params={"model": str(cached_tiny_model("classifier")),
                                                     "max_length": 64, "device": "cpu"}, deadline=60.0)


@pytest.mark.parametrize("check", ["params", "odd_input", "picklable", "applicable", "batch", "process", "deadline"])
def test_rm_score_conformance(suite, check):
    assert check in suite.checks()
    suite.run(check)
