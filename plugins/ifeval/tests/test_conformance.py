"""rewardkit's conformance suite on the IFEval rewards, with real instructions and responses."""

from rewardkit.conformance import conformance
from rewardkit_ifeval.plugin import instructions, tulu3

LOWER = {"instruction_id_list": ["change_case:english_lowercase"], "kwargs": [{}]}

test_instructions = conformance(
    instructions,
    gold=[{"prompt": "Describe the sea in lowercase.", "completion": "the sea is wide and calm today.", **LOWER}],
    wrong=[{"prompt": "Describe the sea in lowercase.", "completion": "The Sea Is Wide.", **LOWER}],
)
test_tulu3 = conformance(
    tulu3,
    gold=[{"completion": "all lowercase here.", "ground_truth": '{"func_name": "validate_lowercase"}'}],
    wrong=[{"completion": "Not Lowercase.", "ground_truth": '{"func_name": "validate_lowercase"}'}],
)
