"""rewardkit-ifeval: IFEval's 25 verifiable instruction types as rewards (strict and loose), plus
Tulu 3 RLVR instruction-following constraints mapped onto the same checkers."""

from __future__ import annotations

from .checkers import INSTRUCTIONS, Instruction
from .evaluate import Verdicts, evaluate, follows, loose_variants
from .text import SENTENCE_SPLITTERS, InstructionArgsError
from .tulu3 import FUNCTIONS as TULU3_FUNCTIONS
from .tulu3 import parse_ground_truth

__version__ = "0.1.0"

__all__ = [
    "INSTRUCTIONS",
    "SENTENCE_SPLITTERS",
    "Instruction",
    "InstructionArgsError",
    "TULU3_FUNCTIONS",
    "Verdicts",
    "evaluate",
    "follows",
    "loose_variants",
    "parse_ground_truth",
]
