"""rewardkit's conformance suite on the math rewards, with real gold and wrong answers."""

from rewardkit.conformance import conformance
from rewardkit_math import accuracy, gsm8k, multiple_choice

test_accuracy = conformance(
    accuracy,
    gold=[{"completion": r"So the answer is $\boxed{\frac{1}{2}}$.", "answer": "0.5"},
          {"completion": "The answer is 18.", "answer": "18"}],
    wrong=[{"completion": r"\boxed{\frac{1}{3}}", "answer": r"\frac{1}{2}"}],
    params={"workers": 1},
)
test_gsm8k = conformance(
    gsm8k,
    gold=[{"completion": "She sells 16 - 3 - 4 = 9 eggs, so 9 * $2 = $18.\n#### 18",
           "answer": "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\n#### 18"}],
    wrong=[{"completion": "The answer is 20.", "answer": "#### 18"}],
)
test_multiple_choice = conformance(
    multiple_choice,
    gold=[{"completion": "The answer is (C).", "answer": "C"}],
    wrong=[{"completion": "Answer: A", "answer": "C"}],
)
