"""Hand-written cases, one positive and one negative (at least) for each of IFEval's 25 instruction types."""

from __future__ import annotations

import pytest

from rewardkit_ifeval import INSTRUCTIONS, InstructionArgsError, follows
from rewardkit_ifeval.reference import reference_verdicts

LOWER_EN = "the quick brown fox jumps over the lazy dog and then it runs far away into the green forest."

# (instruction id, kwargs, response that follows it, response that does not)
CASES = [
    (
        "keywords:existence",
        {"keywords": ["Bridge", "river"]},
        "The bridge spans the River Thames.",
        "The bridge spans the Thames.",
    ),
    (
        "keywords:frequency",
        {"keyword": "cat", "frequency": 3, "relation": "at least"},
        "Cat, cat and CAT.",
        "A cat and a cat.",
    ),
    (
        "keywords:frequency",
        {"keyword": "cat", "frequency": 2, "relation": "less than"},
        "One cat only.",
        "cat cat",
    ),
    (
        "keywords:forbidden_words",
        {"forbidden_words": ["bad", "ugly"]},
        "A badge is fine: it only contains the letters.",
        "That was Ugly indeed.",
    ),
    (
        "keywords:letter_frequency",
        {"letter": "z", "let_frequency": 2, "let_relation": "at least"},
        "Zany zebras.",
        "A zebra.",
    ),
    (
        "keywords:letter_frequency",
        {"letter": "a", "let_frequency": 3, "let_relation": "less than"},
        "A cup.",
        "Banana.",
    ),
    (
        "language:response_language",
        {"language": "de"},
        "Das Wetter ist heute sehr schön und wir gehen in den Park, um zu spielen.",
        "The weather is very nice today and we are going to the park to play.",
    ),
    (
        "language:response_language",
        {"language": "hi"},
        "मैं आज बाज़ार जा रहा हूँ और मुझे कुछ फल खरीदने हैं।",
        "I am going to the market today and I need to buy some fruit.",
    ),
    (
        "length_constraints:number_sentences",
        {"num_sentences": 3, "relation": "less than"},
        "Dr. Smith arrived at 3.30 p.m. today. He left early.",
        "One. Two. Three. Four.",
    ),
    (
        "length_constraints:number_sentences",
        {"num_sentences": 3, "relation": "at least"},
        "I came. I saw! Did I conquer?",
        "I came. I saw.",
    ),
    (
        "length_constraints:number_paragraphs",
        {"num_paragraphs": 3},
        "First part.\n***\nSecond part.\n***\nThird part.",
        "First part.\n***\n\n***\nThird part.",
    ),
    (
        "length_constraints:number_paragraphs",
        {"num_paragraphs": 2},
        "***\nOne.\n***\nTwo.\n***",
        "One.\n***\nTwo.\n***\nThree.",
    ),
    (
        # "* * *" is no divider for IFEval (the Tulu 3 mapping passes divider="* * *"), and neither
        # is the "** *" of markdown bold followed by a bullet
        "length_constraints:number_paragraphs",
        {"num_paragraphs": 1},
        "Dates:\n* **Draft:** May\n* **Final:** June",
        "One.\n***\nTwo.",
    ),
    (
        "length_constraints:number_paragraphs",
        {"num_paragraphs": 2, "divider": "* * *"},
        "One.\n* * *\nTwo.",
        "One.\n***\nTwo.",
    ),
    (
        "length_constraints:number_words",
        {"num_words": 5, "relation": "at least"},
        "one two three four five",
        "one two three four",
    ),
    (
        "length_constraints:number_words",
        {"num_words": 5, "relation": "less than"},
        "don't stop",
        "one two three four five",
    ),
    (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "Bonus"},
        'Intro here.\n\n"Bonus," she said.\n\nThe end.',
        "Intro here.\n\nThe bonus came.\n\nThe end.",
    ),
    (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "bonus"},
        "Intro.\n\nbonus points.",
        "Intro.\n\nbonus points.\n\nExtra paragraph.",
    ),
    (
        "detectable_content:number_placeholders",
        {"num_placeholders": 2},
        "Dear [name], I live at [address].",
        "Dear [name], I live at home.",
    ),
    (
        "detectable_content:postscript",
        {"postscript_marker": "P.S."},
        "Thanks for reading.\n\nP.S. I will call tomorrow.",
        "Thanks for reading. PS I will call.",
    ),
    (
        "detectable_content:postscript",
        {"postscript_marker": "P.P.S"},
        "Bye.\nP.S. one\nP.P.S two",
        "Bye.\nP.S. one",
    ),
    (
        "detectable_format:number_bullet_lists",
        {"num_bullets": 2},
        "Reasons:\n* cheap\n- fast\n**bold line** is not a bullet",
        "Reasons:\n* cheap\n* fast\n* good",
    ),
    ("detectable_format:constrained_response", {}, "My answer is maybe.", "Maybe, I am not sure."),
    (
        "detectable_format:number_highlighted_sections",
        {"num_highlights": 2},
        "*Intro* text and **Details** here.",
        "*Intro* text and ** ** here.",
    ),
    (
        "detectable_format:multiple_sections",
        {"section_spliter": "SECTION", "num_sections": 2},
        "SECTION 1\nFirst.\nSECTION 2\nSecond.",
        "SECTION 1\nFirst and only.",
    ),
    (
        "detectable_format:json_format",
        {},
        '```json\n{"name": "Ada", "year": 1843}\n```',
        'Here is the JSON: {"name": "Ada"}',
    ),
    ("detectable_format:title", {}, "<<A Day at Sea>>\nWe sailed.", "<< >>\nNo title here <<broken\n>>"),
    ("combination:two_responses", {}, "First answer.\n******\nSecond answer.", "Same.\n******\nSame."),
    (
        "combination:repeat_prompt",
        {"prompt_to_repeat": "Write a haiku about rain."},
        "write a haiku about rain. Drops fall on the roof...",
        "Here is a haiku about rain: drops fall.",
    ),
    (
        "startend:end_checker",
        {"end_phrase": "Any other questions?"},
        "That is all. Any other questions?",
        "Any other questions? That is all.",
    ),
    ("startend:quotation", {}, '"Wrapped in double quotes."', "'Single quotes do not count.'"),
    (
        "change_case:capital_word_frequency",
        {"capital_frequency": 2, "capital_relation": "at least"},
        "This is VERY IMPORTANT.",
        "This is Very important, OK.",
    ),
    (
        "change_case:capital_word_frequency",
        {"capital_frequency": 2, "capital_relation": "less than"},
        "Only ONE shout.",
        "TWO SHOUTS here.",
    ),
    (
        "change_case:english_capital",
        {},
        "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG AND RUNS INTO THE FOREST.",
        "THE QUICK BROWN FOX jumps OVER THE LAZY DOG.",
    ),
    (
        "change_case:english_capital",
        {},
        "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG AND RUNS INTO THE FOREST.",
        "DER SCHNELLE BRAUNE FUCHS SPRINGT ÜBER DEN FAULEN HUND UND LÄUFT IN DEN WALD.",
    ),
    ("change_case:english_lowercase", {}, LOWER_EN, LOWER_EN.capitalize()),
    (
        "change_case:english_lowercase",
        {},
        LOWER_EN,
        "le renard brun rapide saute par-dessus le chien paresseux et court dans la forêt verte.",
    ),
    ("punctuation:no_comma", {}, "No commas here.", "Yes, one comma."),
]


@pytest.mark.parametrize(
    ("iid", "kwargs", "good", "bad"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_positive_and_negative(iid: str, kwargs: dict, good: str, bad: str) -> None:
    assert follows(good, iid, kwargs) is True
    assert follows(bad, iid, kwargs) is False


def test_the_reference_implementation_agrees_on_the_hand_written_cases() -> None:
    # every case that uses IFEval's own kwargs (not the rewardkit extensions for Tulu 3)
    checked = 0
    for iid, kwargs, good, bad in CASES:
        if {"divider", "whole_word", "options"} & set(kwargs):
            continue
        for response, expected in ((good, True), (bad, False)):
            assert reference_verdicts(response, [iid], [kwargs], prompt="") == (expected,), (iid, response)
        checked += 1
    assert checked >= len(CASES) - 2


def test_every_instruction_type_has_hand_written_cases() -> None:
    assert {c[0] for c in CASES} == set(INSTRUCTIONS)
    assert len(INSTRUCTIONS) == 25


def test_empty_response_follows_nothing() -> None:
    # IFEval: an empty response follows no instruction, even "no commas" or "fewer than N words".
    assert not follows("", "punctuation:no_comma", {})
    assert not follows("   \n", "length_constraints:number_words", {"num_words": 10, "relation": "less than"})


def test_none_kwargs_are_absent() -> None:
    # HF's copy of IFEval fills unused kwargs with null.
    assert follows(
        "a b",
        "length_constraints:number_words",
        {"num_words": 2, "relation": "at least", "keywords": None, "letter": None},
    )


@pytest.mark.parametrize(
    ("iid", "kwargs", "message"),
    [
        ("punctuation:no_comma", {"num_words": 3}, "takes no argument 'num_words'"),
        ("length_constraints:number_words", {"num_words": 3}, "needs argument 'relation'"),
        (
            "length_constraints:number_words",
            {"num_words": 3, "relation": "roughly"},
            "relation must be one of",
        ),
        ("length_constraints:number_words", {"num_words": "many", "relation": "at least"}, "must be int"),
        (
            "keywords:letter_frequency",
            {"letter": "ab", "let_frequency": 1, "let_relation": "at least"},
            "one character",
        ),
        ("punctuation:no_commas", {}, "did you mean 'punctuation:no_comma'"),
        (
            "length_constraints:nth_paragraph_first_word",
            {"num_paragraphs": 2, "nth_paragraph": 3, "first_word": "so"},
            "counts from 1 to num_paragraphs",
        ),
    ],
)
def test_bad_arguments_say_what_is_wrong(iid: str, kwargs: dict, message: str) -> None:
    with pytest.raises(InstructionArgsError, match=message):
        follows("some text", iid, kwargs)


def test_extra_relations_for_tulu3() -> None:
    kw = {"num_words": 10}
    text = " ".join(["w"] * 10)
    assert follows(text, "length_constraints:number_words", {**kw, "relation": "exactly"})
    assert follows(text, "length_constraints:number_words", {**kw, "relation": "at most"})
    assert not follows(text, "length_constraints:number_words", {**kw, "relation": "more than"})
    assert follows(text + " w", "length_constraints:number_words", {**kw, "relation": "around"})
    assert not follows(text + " w w", "length_constraints:number_words", {**kw, "relation": "around"})


def test_keyword_frequency_whole_words() -> None:
    kw = {"keyword": "cat", "frequency": 1, "relation": "exactly"}
    assert not follows("cat catalog", "keywords:frequency", kw)  # IFEval counts substrings
    assert follows("cat catalog", "keywords:frequency", {**kw, "whole_word": True})


NTH = "length_constraints:nth_paragraph_first_word"


@pytest.mark.parametrize(
    ("response", "kwargs", "strict", "loose"),
    [
        # the first word runs up to the first of . , ? ! ' " (after leading quotes are dropped)
        ('Intro.\n\n"Weekend\'s here," she said.', {"first_word": "weekend"}, True, True),
        ("Intro.\n\n'Bonus' points.", {"first_word": "bonus"}, True, True),
        # other marks stay part of the word, as in the reference: "Summary:" is not "summary"
        ("Intro.\n\nSummary: it works.", {"first_word": "summary"}, False, False),
        # markdown bold fails strict; loose mode's variants without "*" pass
        ("Intro.\n\n**Bonus** points.", {"first_word": "bonus"}, False, True),
        # only "\n\n" separates paragraphs: a blank line holding a space does not
        ("Intro.\n \nBonus points.", {"first_word": "bonus"}, False, False),
        # three line breaks: the second paragraph starts with "\n", which is stripped
        ("Intro.\n\n\nBonus points.", {"first_word": "bonus"}, True, True),
        # four line breaks leave an empty piece: it is not counted as a paragraph, but it still
        # takes a place in the numbering, so paragraph 2 is the empty piece
        ("Intro.\n\n\n\nBonus points.", {"first_word": "bonus"}, False, False),
        (
            "Intro.\n\n\n\nBonus points.\n\nMore.",
            {"first_word": "bonus", "num_paragraphs": 3, "nth_paragraph": 3},
            True,
            True,
        ),
        # the count must be exact (loose mode's variant without the last line has two)
        ("Intro.\n\nBonus points.\n\nMore.", {"first_word": "bonus"}, False, True),
    ],
)
def test_nth_paragraph_first_word_follows_the_reference_rules(
    response: str, kwargs: dict, strict: bool, loose: bool
) -> None:
    kw = {"num_paragraphs": 2, "nth_paragraph": 2, **kwargs}
    assert follows(response, NTH, kw) is strict
    assert follows(response, NTH, kw, mode="loose") is loose
    # and the reference implementation agrees
    assert reference_verdicts(response, [NTH], [kw], prompt="") == (strict,)
    assert reference_verdicts(response, [NTH], [kw], prompt="", mode="loose") == (loose,)


def test_postscript_marker_may_occur_anywhere() -> None:
    # As in the reference: the marker is searched for anywhere, case-insensitive.
    cases = [
        ("Bye! p.s. see you", {"postscript_marker": "P.S."}, True),
        ("Bye!\nP. S. see you", {"postscript_marker": "P.S."}, True),
        ("Bye! PS see you", {"postscript_marker": "P.S."}, False),
        ("Bye! P.P.S see you", {"postscript_marker": "P.S."}, False),
        ("Bye! P. P. S see you", {"postscript_marker": "P.P.S"}, True),
        ("Thanks. Note: bring a hat", {"postscript_marker": "Note:"}, True),
    ]
    for response, kw, expected in cases:
        assert follows(response, "detectable_content:postscript", kw) is expected
        assert reference_verdicts(response, ["detectable_content:postscript"], [kw], prompt="") == (expected,)
