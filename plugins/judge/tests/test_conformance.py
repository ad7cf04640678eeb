"""rewardkit's conformance suite on judge.pointwise with a tiny random judge (transformers backend): its
verdicts are noise (scored None, with the reason), so there are no gold/wrong examples and no
'applicable' check; params, odd input, pickling and deadlines (in the process executor) run. Gold
examples with the real SmolLM2 judge are in test_real_judge.py."""

import pytest
from rewardkit.conformance import suite_for
from rewardkit_judge import pointwise


@pytest.mark.parametrize("check", ["params", "odd_input", "picklable", "deadline"])
def test_pointwise_conformance(tiny_lm, check):
    suite = suite_for(pointwise, params={"backend": "transformers", "model": tiny_lm, "max_new_tokens": 4},
                      deadline=5.0)  # the 1 MB prompt's generation times out: recorded, and that passes
    assert check in suite.checks()
    suite.run(check)
