"""rewardkit's conformance suite on the format rewards that read no other reward's score."""

from rewardkit.conformance import conformance
from rewardkit_format.repetition import repetition_penalty
from rewardkit_format.structure import answer_tags, code_block, tag_count, think_format

test_think = conformance(
    think_format,
    gold=[{"completion": "<think>\n2 + 2 = 4\n</think>\nThe answer is 4."}],
    wrong=[{"completion": "The answer is 4."}],
)
test_answer_tags = conformance(
    answer_tags,
    gold=[{"completion": "<think>2 + 2</think> <answer>4</answer>"}],
    wrong=[{"completion": "4"}],
)
test_tag_count = conformance(
    tag_count,
    gold=[{"completion": "<think>\nsum\n</think>\n<answer>\n4\n</answer>"}],
    wrong=[{"completion": "no tags at all"}],
)
test_code_block = conformance(
    code_block,
    gold=[{"completion": "Here:\n```python\nprint(1)\n```", "domain": "code"}],
    wrong=[{"completion": "print(1)", "domain": "code"}],
)
# A penalty in [max_penalty, 0]: 0 is its best score, so only `wrong` (no repeats scores 0.0) applies.
test_repetition = conformance(
    repetition_penalty,
    wrong=[{"completion": "Each of these words appears exactly once in this sentence."}],
)
