"""Tulu 3 RLVR instruction-following ground truth, mapped onto the IFEval checkers.

Tulu 3's IF rows (allenai/RLVR-IFeval) carry ``ground_truth`` as a JSON string naming one of
open-instruct's verification functions plus its arguments, unused ones null::

    {"func_name": "validate_lowercase", "N": null, "quantifier": null, ...}

Each function checks one of IFEval's instruction types, so each maps to an IFEval id and a
translation of its argument names. Later open-instruct data ("IFEvalG") writes the IFEval form
directly, ``{"instruction_id": [...], "kwargs": [...]}``; that is accepted too.
"""

from __future__ import annotations

import json
from typing import Any
from collections.abc import Callable, Mapping

from .checkers import parse_options
from .text import InstructionArgsError

#: func_name -> (IFEval instruction id, {Tulu argument: IFEval kwarg}, fixed IFEval kwargs).
#: Tulu's frequency constraints ("should appear N times") are exact counts, and its keyword count
#: is over whole words, hence the fixed kwargs.
FUNCTIONS: dict[str, tuple[str, dict[str, str], dict[str, Any]]] = {
    "verify_keywords": ("keywords:existence", {"keyword_list": "keywords"}, {}),
    "verify_keyword_frequency": (
        "keywords:frequency",
        {"word": "keyword", "N": "frequency"},
        {"relation": "exactly", "whole_word": True},
    ),
    "validate_forbidden_words": ("keywords:forbidden_words", {"forbidden_words": "forbidden_words"}, {}),
    "verify_letter_frequency": (
        "keywords:letter_frequency",
        {"letter": "letter", "N": "let_frequency"},
        {"let_relation": "exactly"},
    ),
    "validate_response_language": ("language:response_language", {"language": "language"}, {}),
    # open-instruct separates paragraphs with "* * *" where IFEval uses "***"
    "verify_paragraph_count": (
        "length_constraints:number_paragraphs",
        {"N": "num_paragraphs"},
        {"divider": "* * *"},
    ),
    "validate_word_constraint": (
        "length_constraints:number_words",
        {"N": "num_words", "quantifier": "relation"},
        {},
    ),
    "verify_sentence_constraint": (
        "length_constraints:number_sentences",
        {"N": "num_sentences", "quantifier": "relation"},
        {},
    ),
    "validate_paragraphs": (
        "length_constraints:nth_paragraph_first_word",
        {"N": "num_paragraphs", "i": "nth_paragraph", "first_word": "first_word"},
        {},
    ),
    "verify_postscript": ("detectable_content:postscript", {"postscript_marker": "postscript_marker"}, {}),
    "validate_placeholders": ("detectable_content:number_placeholders", {"N": "num_placeholders"}, {}),
    "verify_bullet_points": ("detectable_format:number_bullet_lists", {"N": "num_bullets"}, {}),
    "validate_title": ("detectable_format:title", {}, {}),
    "validate_choice": ("detectable_format:constrained_response", {"options": "options"}, {}),
    "validate_highlighted_sections": (
        "detectable_format:number_highlighted_sections",
        {"N": "num_highlights"},
        {},
    ),
    "validate_sections": (
        "detectable_format:multiple_sections",
        {"N": "num_sections", "section_splitter": "section_spliter"},
        {},
    ),
    "validate_json_format": ("detectable_format:json_format", {}, {}),
    "validate_repeat_prompt": ("combination:repeat_prompt", {"original_prompt": "prompt_to_repeat"}, {}),
    "validate_two_responses": ("combination:two_responses", {}, {}),
    "validate_uppercase": ("change_case:english_capital", {}, {}),
    "validate_lowercase": ("change_case:english_lowercase", {}, {}),
    "validate_frequency_capital_words": (
        "change_case:capital_word_frequency",
        {"N": "capital_frequency", "quantifier": "capital_relation"},
        {},
    ),
    "validate_end": ("startend:end_checker", {"end_phrase": "end_phrase"}, {}),
    "validate_quotation": ("startend:quotation", {}, {}),
    "validate_no_commas": ("punctuation:no_comma", {}, {}),
}

#: Value fix-ups for arguments whose Tulu form differs from the IFEval one.
_CONVERT: dict[str, Callable[[Any], Any]] = {"options": parse_options}


def parse_ground_truth(ground_truth: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """IFEval instruction ids and kwargs from a Tulu 3 ground truth (JSON text or already parsed)."""
    value = ground_truth
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InstructionArgsError(
                f"ground_truth is not JSON: {ground_truth[:80]!r}; expected a Tulu 3 IF constraint "
                '(\'{"func_name": "validate_lowercase", ...}\')'
            ) from None
    if isinstance(value, list) and len(value) == 1:  # open-instruct wraps some labels in a list
        value = value[0]
    if not isinstance(value, Mapping):
        raise InstructionArgsError(f"ground_truth must be a JSON object, not {type(value).__name__}")
    if "instruction_id" in value:
        ids = value["instruction_id"]
        ids = [ids] if isinstance(ids, str) else list(ids)
        kwargs = value.get("kwargs") or [{} for _ in ids]
        kwargs = [kwargs] if isinstance(kwargs, Mapping) else list(kwargs)
        return ids, [dict(k or {}) for k in kwargs]
    if "func_name" not in value:
        raise InstructionArgsError(
            "ground_truth has neither 'func_name' (Tulu 3) nor 'instruction_id' (IFEvalG); "
            f"its keys are {sorted(value)}"
        )
    iid, kwargs = from_func(value)
    return [iid], [kwargs]


def from_func(constraint: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """One Tulu 3 constraint (``func_name`` + arguments) as an IFEval (id, kwargs) pair."""
    name = constraint["func_name"]
    if name not in FUNCTIONS:
        raise InstructionArgsError(
            f"unknown Tulu 3 func_name {name!r}; known: {', '.join(sorted(FUNCTIONS))}"
        )
    iid, renames, fixed = FUNCTIONS[name]
    kwargs: dict[str, Any] = dict(fixed)
    for key, value in constraint.items():
        if key == "func_name" or value is None:
            continue
        if key not in renames:
            raise InstructionArgsError(
                f"Tulu 3 function {name!r} takes no argument {key!r}; "
                f"it takes: {', '.join(renames) or 'none'}"
            )
        target = renames[key]
        kwargs[target] = _CONVERT.get(target, lambda v: v)(value)
    return iid, kwargs
