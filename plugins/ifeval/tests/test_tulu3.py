"""Tulu 3 RLVR ground truths (``{"func_name": ...}``) mapped onto the IFEval checkers."""

from __future__ import annotations

import json

import pytest

from rewardkit_ifeval import INSTRUCTIONS, TULU3_FUNCTIONS, InstructionArgsError, evaluate, parse_ground_truth

# Every open-instruct argument, null unless the function uses it, as in allenai/RLVR-IFeval.
_NULLS = dict.fromkeys(
    [
        "N",
        "quantifier",
        "end_phrase",
        "keyword_list",
        "word",
        "forbidden_words",
        "letter",
        "i",
        "first_word",
        "postscript_marker",
        "options",
        "section_splitter",
        "original_prompt",
    ]
)


def gt(func_name: str, **args: object) -> str:
    return json.dumps({"func_name": func_name, **_NULLS, **args})


# (ground truth, a response that satisfies it, one that does not)
CASES = [
    (gt("verify_keywords", keyword_list=["moon", "tide"]), "The moon pulls the tide.", "The moon rises."),
    (gt("verify_keyword_frequency", word="sun", N=2), "Sun and sun, but sunny.", "sun sun sun"),
    (gt("validate_forbidden_words", forbidden_words=["very"]), "It is quite good.", "It is Very good."),
    (gt("verify_letter_frequency", letter="q", N=2), "A quiet queen.", "A quiet quick queen."),
    (
        gt("validate_response_language", language="fr"),
        "Je voudrais un café et un croissant, s'il vous plaît, avant de partir au travail.",
        "I would like a coffee and a croissant, please, before I leave for work.",
    ),
    (gt("verify_paragraph_count", N=2), "One.\n* * *\nTwo.", "One.\n\nTwo."),
    (gt("validate_word_constraint", N=10, quantifier="around"), " ".join(["w"] * 11), " ".join(["w"] * 13)),
    (gt("verify_sentence_constraint", N=2, quantifier="at most"), "One. Two.", "One. Two. Three."),
    (gt("validate_paragraphs", N=2, i=1, first_word="hello"), "Hello there.\n\nBye.", "Hi there.\n\nBye."),
    (gt("verify_postscript", postscript_marker="P.S."), "Done.\nP.S. more", "Done."),
    (gt("validate_placeholders", N=1), "Hi [name].", "Hi name."),
    (gt("verify_bullet_points", N=2), "* a\n* b", "* a"),
    (gt("validate_title"), "<<Title>>\nText", "Title\nText"),
    (gt("validate_choice", options="('I know.', 'I do not know.')"), "I do not know.", "Perhaps."),
    (gt("validate_highlighted_sections", N=1), "*key* point", "key point"),
    (gt("validate_sections", N=2, section_splitter="Day"), "Day 1\nrest\nDay 2\nhike", "Day 1\nrest"),
    (gt("validate_json_format"), '{"a": 1}', "{'a': 1}"),
    (gt("validate_repeat_prompt", original_prompt="Say hi."), "Say hi. Hi!", "Hi! Say hi."),
    (gt("validate_two_responses"), "A\n******\nB", "A\n******\nA"),
    (
        gt("validate_uppercase"),
        "THIS WHOLE SENTENCE IS WRITTEN IN CAPITAL LETTERS FOR YOU.",
        "This Whole Sentence Is Not.",
    ),
    (
        gt("validate_lowercase"),
        "this whole sentence is written in lowercase letters for you.",
        "This sentence is not.",
    ),
    (gt("validate_frequency_capital_words", N=2, quantifier="at least"), "BIG and BOLD", "Big and BOLD"),
    (gt("validate_end", end_phrase="Is there anything else?"), "Done. Is there anything else?", "Done."),
    (gt("validate_quotation"), '"quoted"', "not quoted"),
    (gt("validate_no_commas"), "no commas", "a, b"),
]


@pytest.mark.parametrize(("truth", "good", "bad"), CASES, ids=[json.loads(c[0])["func_name"] for c in CASES])
def test_tulu3_functions(truth: str, good: str, bad: str) -> None:
    ids, kwargs = parse_ground_truth(truth)
    assert evaluate(good, ids, kwargs).all
    assert not evaluate(bad, ids, kwargs).all


def test_every_tulu3_function_is_tested_and_maps_to_a_checker() -> None:
    assert {json.loads(c[0])["func_name"] for c in CASES} == set(TULU3_FUNCTIONS)
    assert {iid for iid, _, _ in TULU3_FUNCTIONS.values()} == set(INSTRUCTIONS)


def test_ifevalg_form_is_accepted() -> None:
    ids, kwargs = parse_ground_truth('[{"instruction_id": ["punctuation:no_comma"], "kwargs": [null]}]')
    assert ids == ["punctuation:no_comma"] and kwargs == [{}]


@pytest.mark.parametrize(
    ("truth", "message"),
    [
        ('{"func_name": "validate_emoji"}', "unknown Tulu 3 func_name 'validate_emoji'"),
        ('{"func_name": "validate_title", "N": 3}', "takes no argument 'N'"),
        ('{"answer": 3}', "neither 'func_name'"),
        ("not json", "not JSON"),
    ],
)
def test_bad_ground_truths_say_what_is_wrong(truth: str, message: str) -> None:
    with pytest.raises(InstructionArgsError, match=message):
        parse_ground_truth(truth)
