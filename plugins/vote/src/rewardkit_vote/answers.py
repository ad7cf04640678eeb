"""Find each completion's answer, and the normalised string form answers are compared by without math.

Extractors are plain ``fn(text) -> str | None``. ``math`` is rewardkit-math's reading of a final answer
(imported when first used, so this plugin works without it); the others are here.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from rewardkit import RewardParamsError

Extractor = Callable[[str], "str | None"]

EXTRACTS = ("auto", "math", "last_number", "regex", "text")
MATH_INSTALL = "pip install rewardkit-math (or rewardkit-vote[math])"


def math_installed() -> bool:
    """Whether rewardkit-math can be imported (its answer reading and equivalence are then used)."""
    try:
        return importlib.util.find_spec("rewardkit_math") is not None
    except ValueError:  # sys.modules["rewardkit_math"] is None: imports of it are blocked
        return False


# -- extractors ------------------------------------------------------------------------------------
def math_answer(text: str) -> str | None:
    """rewardkit-math's final answer, tried in math-verify's order of trust: the Minerva "final answer
    is X. I hope it is correct." sentence, the last box (a run of boxes is a list), ``<answer>`` tags,
    "the answer is" cues, GSM8K's ``####``, math-verify's plain last formula, then the last number."""
    import rewardkit_math as rm

    order = (rm.minerva, rm.final_boxes, rm.answer_tag, rm.answer_is, rm.hashes, rm.last_formula, rm.last_number)
    for find in order:
        found = find(text)
        if found:
            return found
    return None


# Sign (ASCII or Unicode minus), thousands separators, decimals: "1,234.5", "-3", ".5"
_NUMBER = re.compile(r"(?<![\w.])[-−+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\d)|(?<![\w.])[-−+]?\.\d+")


def last_number(text: str) -> str | None:
    """The last number in the text, as written (the final answer is at the end)."""
    last = None
    for last in _NUMBER.finditer(text[-100_000:]):
        pass
    return last.group(0) if last else None


def whole_text(text: str) -> str | None:
    """The whole completion (short-answer tasks); None when it is blank."""
    return text.strip() or None


@lru_cache(maxsize=64)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as e:
        raise RewardParamsError(f"pattern {pattern!r} is not a valid regular expression: {e}") from None


def regex_extractor(pattern: str) -> Extractor:
    """The last match of ``pattern``: its first group when it has one, else the whole match."""
    rx = compile_pattern(pattern)

    def find(text: str) -> str | None:
        last = None
        for last in rx.finditer(text):
            pass
        if last is None:
            return None
        found = last.group(1) if rx.groups else last.group(0)
        return found.strip() if found and found.strip() else None

    return find


def resolve_extract(extract: str) -> str:
    """``auto`` -> ``math`` when rewardkit-math is installed, else ``last_number``."""
    if extract == "auto":
        return "math" if math_installed() else "last_number"
    return extract


def check_extract(extract: str, pattern: str) -> None:
    """RewardParamsError for an unknown extractor, a missing or bad ``pattern``, or ``math`` without
    rewardkit-math."""
    if extract not in EXTRACTS:
        raise RewardParamsError(f"extract must be one of {', '.join(EXTRACTS)}, not {extract!r}")
    if extract == "regex":
        if not pattern:
            raise RewardParamsError("extract: regex needs a pattern, e.g. pattern: 'Answer: (\\S+)'")
        compile_pattern(pattern)
    elif pattern:
        raise RewardParamsError(f"pattern is only read with extract: regex (extract is {extract!r}); "
                                "remove it")
    if extract == "math" and not math_installed():
        raise RewardParamsError(
            f"extract: math reads answers with rewardkit-math, which is not installed; {MATH_INSTALL}, "
            "or use extract: last_number, regex or text")


def extractor(extract: str, pattern: str = "") -> Extractor:
    """The extractor named by a resolved ``extract`` param."""
    if extract == "math":
        return math_answer
    if extract == "last_number":
        return last_number
    if extract == "regex":
        return regex_extractor(pattern)
    if extract == "text":
        return whole_text
    raise RewardParamsError(f"extract must be one of {', '.join(EXTRACTS)}, not {extract!r}")


# -- normalised strings ----------------------------------------------------------------------------
_DELIMITERS = re.compile(r"^\s*(?:\$\$|\$|\\\(|\\\[)(.*?)(?:\$\$|\$|\\\)|\\\])\s*$", re.DOTALL)
_TEXT_MACRO = re.compile(r"\\(?:text|textbf|mathrm|mathbf|mbox)\{([^{}]*)\}")
_PLAIN_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|[-+]?\.\d+")
_SPACES = re.compile(r"\s+")
# Spaces beside a symbol carry nothing: "x = 3" is "x=3", "(1, 2)" is "(1,2)"; spaces between words stay.
_SYMBOL_SPACE = re.compile(r"\s*([^\w\s])\s*")
#: Stripped from both ends: sentence punctuation, quotes and markdown emphasis ("**Paris**." is "paris").
_END_PUNCTUATION = ".,;:!?\"'`*_“”‘’«»"


def normalise(answer: str) -> str:
    """The form two answers must share to be equal without math equivalence.

    Unicode is NFKC-normalised, math delimiters and ``\\text{}`` are dropped and the text casefolded;
    a plain number (thousands commas, ``$``/``%`` signs, trailing zeros) becomes its canonical decimal
    ("1,000.50" -> "1000.5", "18.0" -> "18"); anything else loses sentence punctuation, quotes and
    markdown at both ends, runs of spaces, and spaces beside symbols ("**New  York**." -> "new york",
    "x = 3" -> "x=3"). Symbols inside an answer are kept: "3/4" and "3-4" stay different.
    """
    s = unicodedata.normalize("NFKC", answer).replace("\u2212", "-")
    m = _DELIMITERS.match(s)
    if m:
        s = m.group(1)
    s = _TEXT_MACRO.sub(r"\1", s).strip().casefold()
    number = s.replace("\\$", "").replace("\\%", "").strip("$% ").rstrip(".")
    if _PLAIN_NUMBER.fullmatch(number):
        try:
            value = Decimal(number.replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the regex admits only decimals
            value = None
        if value is not None:
            text = format(value.normalize(), "f")
            return "0" if text in ("-0", "+0") else text
    s = _SPACES.sub(" ", s.strip(_END_PUNCTUATION + " \t\n"))
    return _SYMBOL_SPACE.sub(r"\1", s).strip()
