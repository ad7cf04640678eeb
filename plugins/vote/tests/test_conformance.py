"""rewardkit's conformance suite on vote.majority (a group reward: the examples form one group)."""

from rewardkit.conformance import conformance
from rewardkit_vote.majority import majority

test_majority = conformance(
    majority,
    gold=[{"prompt": "2+2?", "completion": r"\boxed{4}"}, {"prompt": "2+2?", "completion": "The answer is 4."}],
    wrong=[{"prompt": "2+2?", "completion": r"\boxed{5}"}],
)
