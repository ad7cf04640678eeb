"""One checker per IFEval instruction type (the paper's 25), keyed by IFEval's instruction ids.

Each checker takes the response text and the instruction's kwargs exactly as IFEval's
``input_data.jsonl`` spells them, and answers whether the response follows the instruction. The
semantics are those of the IFEval paper's reference evaluation (google-research
``instruction_following_eval``), so that scores are comparable with published numbers; the README
lists the few places where they differ, each with an example.

Two checkers also take an evaluation option, ``sentence_splitter`` (``punkt``, the reference's
nltk Punkt model, or ``pysbd``): ``Instruction.options`` names the options a checker takes.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable, Mapping

from .text import (
    DEFAULT_SENTENCE_SPLITTER,
    InstructionArgsError,
    capital_words,
    check_relation,
    compare,
    detect_language,
    sentences,
    words,
)

_MISSING = object()


@dataclass(frozen=True)
class Instruction:
    """An instruction type: its id, checker, the kwargs it takes (name -> type, with defaults), and
    the evaluation options (such as ``sentence_splitter``) its checker takes besides."""

    id: str
    check: Callable[..., bool]
    kwargs: Mapping[str, type] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    options: tuple[str, ...] = ()

    def bind(self, kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validate and coerce ``kwargs`` (None values count as absent, as in HF's IFEval copy)."""
        given = {k: v for k, v in (kwargs or {}).items() if v is not None}
        unknown = sorted(set(given) - set(self.kwargs))
        if unknown:
            raise InstructionArgsError(
                f"instruction {self.id!r} takes no argument {', '.join(map(repr, unknown))}; "
                f"it takes: {', '.join(self.kwargs) or 'none'}"
            )
        bound: dict[str, Any] = {}
        for name, kind in self.kwargs.items():
            value = given.get(name, self.defaults.get(name, _MISSING))
            if value is _MISSING:
                raise InstructionArgsError(
                    f"instruction {self.id!r} needs argument {name!r} ({kind.__name__}); "
                    f"it takes: {', '.join(self.kwargs)}"
                )
            bound[name] = _coerce(self.id, name, kind, value)
        return bound

    def __call__(
        self,
        response: str,
        kwargs: Mapping[str, Any] | None = None,
        *,
        sentence_splitter: str = DEFAULT_SENTENCE_SPLITTER,
    ) -> bool:
        return bool(self.check(response, **self.bind(kwargs), **self.pick_options(sentence_splitter)))

    def pick_options(self, sentence_splitter: str) -> dict[str, Any]:
        """The evaluation options this checker takes, out of all there are."""
        available = {"sentence_splitter": sentence_splitter}
        return {name: available[name] for name in self.options}


def _coerce(iid: str, name: str, kind: type, value: Any) -> Any:
    try:
        if kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if kind is list:
            if isinstance(value, str):
                return [value]
            return [str(v) for v in value]
        if kind is bool:
            return bool(value)
        return str(value)
    except (TypeError, ValueError):
        raise InstructionArgsError(
            f"instruction {iid!r}: argument {name!r} must be {kind.__name__}, not {value!r}"
        ) from None


#: Every instruction type by IFEval id.
INSTRUCTIONS: dict[str, Instruction] = {}


def instruction(
    iid: str,
    defaults: Mapping[str, Any] | None = None,
    uses: tuple[str, ...] = (),
    **kwargs: type,
) -> Callable:
    def wrap(fn: Callable[..., bool]) -> Callable[..., bool]:
        doc = (fn.__doc__ or "").strip().split("\n")[0]
        INSTRUCTIONS[iid] = Instruction(iid, fn, dict(kwargs), dict(defaults or {}), doc, uses)
        return fn

    return wrap


# -- keywords ------------------------------------------------------------------------------------
@instruction("keywords:existence", keywords=list)
def keywords_existence(response: str, *, keywords: list[str]) -> bool:
    """Every keyword appears (case-insensitive)."""
    low = response.lower()
    return all(k.lower() in low for k in keywords)


@instruction(
    "keywords:frequency",
    defaults={"whole_word": False},
    keyword=str,
    frequency=int,
    relation=str,
    whole_word=bool,
)
def keywords_frequency(
    response: str, *, keyword: str, frequency: int, relation: str, whole_word: bool
) -> bool:
    """The keyword appears <relation> N times (case-insensitive; IFEval counts substrings)."""
    check_relation(relation)
    pattern = rf"\b{re.escape(keyword)}\b" if whole_word else re.escape(keyword)
    return compare(len(re.findall(pattern, response, flags=re.IGNORECASE)), relation, frequency)


@instruction("keywords:forbidden_words", forbidden_words=list)
def keywords_forbidden_words(response: str, *, forbidden_words: list[str]) -> bool:
    """None of the words appears as a whole word (case-insensitive)."""
    return not any(re.search(rf"\b{re.escape(w)}\b", response, flags=re.IGNORECASE) for w in forbidden_words)


@instruction("keywords:letter_frequency", letter=str, let_frequency=int, let_relation=str)
def keywords_letter_frequency(response: str, *, letter: str, let_frequency: int, let_relation: str) -> bool:
    """The letter appears <relation> N times (case-insensitive)."""
    check_relation(let_relation)
    if len(letter) != 1:
        raise InstructionArgsError(f"keywords:letter_frequency: letter must be one character, not {letter!r}")
    return compare(response.lower().count(letter.lower()), let_relation, let_frequency)


# -- language ------------------------------------------------------------------------------------
@instruction("language:response_language", language=str)
def response_language(response: str, *, language: str) -> bool:
    """The whole response is in the language (ISO 639-1 code, as langdetect names it)."""
    detected = detect_language(response)
    # Like IFEval, text with nothing to detect (numbers only) is not held against the response.
    return detected is None or detected == language


# -- length constraints --------------------------------------------------------------------------
@instruction(
    "length_constraints:number_sentences",
    uses=("sentence_splitter",),
    num_sentences=int,
    relation=str,
)
def number_sentences(response: str, *, num_sentences: int, relation: str, sentence_splitter: str) -> bool:
    """The response has <relation> N sentences."""
    check_relation(relation)
    return compare(len(sentences(response, sentence_splitter)), relation, num_sentences)


def _divided_paragraphs(response: str, divider: str) -> list[str] | None:
    """Paragraphs separated by ``divider`` (with at most one whitespace character either side),
    or None if one in the middle is empty."""
    parts = re.split(rf"\s?{re.escape(divider)}\s?", response)
    # An empty piece before the first or after the last divider is just a leading/trailing divider.
    if parts and not parts[0].strip():
        parts = parts[1:]
    if parts and not parts[-1].strip():
        parts = parts[:-1]
    if any(not p.strip() for p in parts):
        return None
    return parts


@instruction(
    "length_constraints:number_paragraphs", defaults={"divider": "***"}, num_paragraphs=int, divider=str
)
def number_paragraphs(response: str, *, num_paragraphs: int, divider: str) -> bool:
    """Exactly N paragraphs, separated by the markdown divider ``***`` (or the given ``divider``)."""
    if not divider.strip():
        raise InstructionArgsError("length_constraints:number_paragraphs: divider must not be blank")
    parts = _divided_paragraphs(response, divider)
    return parts is not None and len(parts) == num_paragraphs


@instruction("length_constraints:number_words", num_words=int, relation=str)
def number_words(response: str, *, num_words: int, relation: str) -> bool:
    """The response has <relation> N words."""
    check_relation(relation)
    return compare(len(words(response)), relation, num_words)


#: Where IFEval's reference stops reading a paragraph's first word.
_FIRST_WORD_END = frozenset(".,?!'\"")


def _first_word(paragraph: str) -> str:
    """The paragraph's first word as IFEval's reference reads it: the first whitespace-separated
    token, without leading single then double quotes, up to the first of ``. , ? ! ' "``,
    lowercased. Other marks stay: ``Summary:`` is ``summary:``, ``**Bonus**`` is ``**bonus**``."""
    token = paragraph.split()[0].lstrip("'").lstrip('"')
    end = next((i for i, ch in enumerate(token) if ch in _FIRST_WORD_END), len(token))
    return token[:end].lower()


@instruction(
    "length_constraints:nth_paragraph_first_word", num_paragraphs=int, nth_paragraph=int, first_word=str
)
def nth_paragraph_first_word(
    response: str, *, num_paragraphs: int, nth_paragraph: int, first_word: str
) -> bool:
    """Exactly N paragraphs separated by blank lines, and paragraph i starts with the given word.

    As in IFEval's reference: the response is cut at every ``\\n\\n``; the paragraphs counted are
    the pieces that are not blank, but paragraph i is the i-th piece (so a run of four line breaks
    leaves an empty piece that shifts the numbering, and an empty i-th piece fails).
    """
    if not 1 <= nth_paragraph <= num_paragraphs:
        raise InstructionArgsError(
            "length_constraints:nth_paragraph_first_word: nth_paragraph counts from 1 to num_paragraphs, "
            f"not {nth_paragraph} of {num_paragraphs}"
        )
    pieces = response.split("\n\n")
    count = sum(1 for piece in pieces if piece.strip())
    if nth_paragraph > count:
        return False
    paragraph = pieces[nth_paragraph - 1].strip()
    if not paragraph:
        return False
    return count == num_paragraphs and _first_word(paragraph) == first_word.lower()


# -- detectable content --------------------------------------------------------------------------
@instruction("detectable_content:number_placeholders", num_placeholders=int)
def number_placeholders(response: str, *, num_placeholders: int) -> bool:
    """At least N placeholders in square brackets, like ``[address]``."""
    return len(re.findall(r"\[.*?\]", response)) >= num_placeholders


@instruction("detectable_content:postscript", postscript_marker=str)
def postscript(response: str, *, postscript_marker: str) -> bool:
    """A postscript starting with the marker (``P.S.``, ``P.P.S``...)."""
    marker = postscript_marker.strip()
    # As in IFEval's reference: the marker may occur anywhere (case-insensitive), and its two
    # markers "P.S." and "P.P.S" tolerate a space after each dot. Other markers are matched
    # literally (the reference reads them as regular expressions).
    if marker == "P.P.S":
        pattern = r"p\.\s?p\.\s?s"
    elif marker == "P.S.":
        pattern = r"p\.\s?s\."
    else:
        pattern = re.escape(marker.lower())
    return re.search(pattern, response.lower()) is not None


# -- detectable format ---------------------------------------------------------------------------
@instruction("detectable_format:number_bullet_lists", num_bullets=int)
def number_bullet_lists(response: str, *, num_bullets: int) -> bool:
    """Exactly N markdown bullet points (lines starting with ``* `` or ``- ``)."""
    stars = re.findall(r"^\s*\*[^\*].*$", response, flags=re.MULTILINE)
    dashes = re.findall(r"^\s*-.*$", response, flags=re.MULTILINE)
    return len(stars) + len(dashes) == num_bullets


CONSTRAINED_RESPONSES = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


@instruction(
    "detectable_format:constrained_response", defaults={"options": list(CONSTRAINED_RESPONSES)}, options=list
)
def constrained_response(response: str, *, options: list[str]) -> bool:
    """The response contains one of the fixed answers (IFEval: "My answer is yes/no/maybe.")."""
    text = response.strip()
    return any(option.strip() in text for option in options)


@instruction("detectable_format:number_highlighted_sections", num_highlights=int)
def number_highlighted_sections(response: str, *, num_highlights: int) -> bool:
    """At least N sections highlighted with markdown, ``*like this*`` (or ``**this**``)."""
    count = 0
    for pattern in (r"\*[^\n\*]*\*", r"\*\*[^\n\*]*\*\*"):
        count += sum(1 for h in re.findall(pattern, response) if h.strip("*").strip())
    return count >= num_highlights


@instruction("detectable_format:multiple_sections", section_spliter=str, num_sections=int)
def multiple_sections(response: str, *, section_spliter: str, num_sections: int) -> bool:
    """At least N sections, each starting with the splitter and its number (``SECTION 1``...)."""
    parts = re.split(rf"\s?{re.escape(section_spliter)}\s?\d+\s?", response)
    return len(parts) - 1 >= num_sections


@instruction("detectable_format:json_format")
def json_format(response: str) -> bool:
    """The whole response is JSON (a surrounding markdown code fence is allowed)."""
    text = response.strip()
    for fence in ("```json", "```Json", "```JSON", "```"):  # the fences IFEval's reference strips
        text = text.removeprefix(fence)
    text = text.removesuffix("```").strip()
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@instruction("detectable_format:title")
def title(response: str) -> bool:
    """A title wrapped in double angular brackets, like ``<<poem of joy>>``."""
    return any(t.lstrip("<").rstrip(">").strip() for t in re.findall(r"<<[^\n]+>>", response))


# -- combination ---------------------------------------------------------------------------------
@instruction("combination:two_responses")
def two_responses(response: str) -> bool:
    """Two different responses separated by six asterisks ``******``."""
    parts = response.split("******")
    kept = []
    for i, part in enumerate(parts):
        if part.strip():
            kept.append(part.strip())
        elif 0 < i < len(parts) - 1:  # an empty response between two separators
            return False
    return len(kept) == 2 and kept[0] != kept[1]


@instruction("combination:repeat_prompt", prompt_to_repeat=str)
def repeat_prompt(response: str, *, prompt_to_repeat: str) -> bool:
    """The response starts by repeating the request word for word (case-insensitive)."""
    return response.strip().lower().startswith(prompt_to_repeat.strip().lower())


# -- start / end ---------------------------------------------------------------------------------
@instruction("startend:end_checker", end_phrase=str)
def end_checker(response: str, *, end_phrase: str) -> bool:
    """The response ends with the exact phrase (nothing may follow it)."""
    return response.strip().strip('"').lower().endswith(end_phrase.strip().lower())


@instruction("startend:quotation")
def quotation(response: str) -> bool:
    """The whole response is wrapped in double quotation marks."""
    text = response.strip()
    return len(text) > 1 and text[0] == '"' and text[-1] == '"'


# -- change case ---------------------------------------------------------------------------------
@instruction(
    "change_case:capital_word_frequency",
    uses=("sentence_splitter",),
    capital_frequency=int,
    capital_relation=str,
)
def capital_word_frequency(
    response: str, *, capital_frequency: int, capital_relation: str, sentence_splitter: str
) -> bool:
    """Words in all capital letters appear <relation> N times (words as nltk's word_tokenize cuts them)."""
    check_relation(capital_relation)
    return compare(capital_words(response, sentence_splitter), capital_relation, capital_frequency)


@instruction("change_case:english_capital")
def english_capital(response: str) -> bool:
    """The response is in English and all in capital letters."""
    # Like the reference, detect the language of the text as written (text langdetect cannot
    # read, such as digits only, is not held against it).
    return response.isupper() and detect_language(response) in ("en", None)


@instruction("change_case:english_lowercase")
def english_lowercase(response: str) -> bool:
    """The response is in English and all in lowercase letters."""
    return response.islower() and detect_language(response) in ("en", None)


# -- punctuation ---------------------------------------------------------------------------------
@instruction("punctuation:no_comma")
def no_comma(response: str) -> bool:
    """The response contains no commas."""
    return "," not in response


def parse_options(value: Any) -> list[str]:
    """Options written as a list, or as a string holding a Python/JSON list or tuple."""
    if isinstance(value, str):
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return [value]
        return [str(v) for v in parsed] if isinstance(parsed, (list, tuple)) else [str(parsed)]
    return [str(v) for v in value]
