"""rewardkit-code: rewards that run a completion's program against the row's unit tests.

``code.unit_tests`` reads HumanEval, MBPP, stdin/stdout, call-based (APPS/TACO) and open-r1 rows,
extracts the program from the completion's fenced block and runs all of a sample's tests in one
sandboxed process tree (``rewardkit_sandbox``), one fresh child per test. ``code.syntax`` is the
cheap parse/compile check.
"""

from __future__ import annotations

from .extract import Extracted, code_blocks, extract_code
from .languages import LANGUAGES, Language, get_language
from .rewards import syntax, unit_tests
from .suites import TestFormatError, TestSuite, split_python_tests, suite_from_sample

__all__ = [
    "LANGUAGES",
    "Extracted",
    "Language",
    "TestFormatError",
    "TestSuite",
    "code_blocks",
    "extract_code",
    "get_language",
    "split_python_tests",
    "suite_from_sample",
    "syntax",
    "unit_tests",
]
