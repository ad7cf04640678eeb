"""rewardkit-math: math answer rewards that are right where peers go wrong, and safe on any input.

Rewards: ``math.accuracy`` (math-verify + sympy equivalence), ``math.gsm8k`` (numeric final answer),
``math.multiple_choice`` (choice letters). See the plugin README for params and limits.
"""

from __future__ import annotations

from .checker import Answer, CheckerConfig, Verdict, check_pairs, close_executors, reset_stats, stats
from .extract import answer_is, answer_tag, boxed, final_boxes, hashes, last_formula, last_number, minerva
from .numbers import to_number
from .rewards import accuracy, gold_text, gsm8k, multiple_choice

__all__ = [
    "Answer",
    "CheckerConfig",
    "Verdict",
    "accuracy",
    "answer_is",
    "answer_tag",
    "boxed",
    "check_pairs",
    "close_executors",
    "final_boxes",
    "gold_text",
    "gsm8k",
    "hashes",
    "last_formula",
    "last_number",
    "minerva",
    "multiple_choice",
    "reset_stats",
    "stats",
    "to_number",
]
