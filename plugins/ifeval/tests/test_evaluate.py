"""Strict vs loose (the paper's 8 response variants) and multi-instruction evaluation."""

from __future__ import annotations

import pytest

from rewardkit_ifeval import InstructionArgsError, evaluate, follows, loose_variants


def test_loose_variants_are_the_papers_eight() -> None:
    v = loose_variants("Sure!\n*body*\nHope it helps")
    assert v == [
        "Sure!\n*body*\nHope it helps",
        "*body*\nHope it helps",
        "Sure!\n*body*",
        "*body*",
        "Sure!\nbody\nHope it helps",
        "body\nHope it helps",
        "Sure!\nbody",
        "body",
    ]


def test_loose_forgives_a_chatty_first_line() -> None:
    response = 'Sure, here it is:\n"Quoted answer."'
    assert not follows(response, "startend:quotation", mode="strict")
    assert follows(response, "startend:quotation", mode="loose")


def test_loose_forgives_a_trailing_line() -> None:
    response = "the answer is all lowercase and in english as you asked me to write it.\nHope This Helps!"
    assert not follows(response, "change_case:english_lowercase", mode="strict")
    assert follows(response, "change_case:english_lowercase", mode="loose")


def test_loose_removes_markdown_emphasis() -> None:
    response = "**My answer is yes.**"
    assert follows(response, "detectable_format:constrained_response", mode="strict")  # contained anyway
    assert not follows("*Hello world*", "startend:end_checker", {"end_phrase": "world"}, mode="strict")
    assert follows("*Hello world*", "startend:end_checker", {"end_phrase": "world"}, mode="loose")


def test_loose_still_rejects_a_violation_in_the_body() -> None:
    response = "Intro line\nThe body, with a comma.\nOutro line"
    assert not follows(response, "punctuation:no_comma", mode="loose")


def test_evaluate_many_instructions() -> None:
    v = evaluate(
        "hello world, friend",
        ["punctuation:no_comma", "length_constraints:number_words"],
        [{}, {"num_words": 3, "relation": "at least"}],
    )
    assert v.followed == (False, True)
    assert v.fraction == 0.5 and not v.all
    assert v.as_dict() == {"punctuation:no_comma": False, "length_constraints:number_words": True}


def test_repeated_ids_keep_separate_verdicts() -> None:
    v = evaluate(
        "cat dog",
        ["keywords:existence", "keywords:existence"],
        [{"keywords": ["cat"]}, {"keywords": ["cow"]}],
    )
    assert v.as_dict() == {"keywords:existence": True, "keywords:existence#2": False}


def test_mismatched_lengths_and_modes_are_rejected() -> None:
    with pytest.raises(InstructionArgsError, match="one dict"):
        evaluate("x", ["punctuation:no_comma"], [])
    with pytest.raises(ValueError, match="strict"):
        evaluate("x", ["punctuation:no_comma"], [{}], mode="lenient")  # type: ignore[arg-type]


def test_long_responses_are_segmented_in_blocks_without_changing_counts() -> None:
    # pysbd is fed blocks (its time grows faster than the text); the counts must not change.
    from rewardkit_ifeval.text import sentences

    para = " ".join(f"sentence number {i} ends here." for i in range(600))  # ~18k chars, one paragraph
    assert len(sentences(para, "pysbd")) == 600
    lines = "\n".join(f"* item {i}" for i in range(450))  # many lines: cut into blocks of lines
    assert len(sentences(lines, "pysbd")) == 450
    assert len(sentences("word " * 5000, "pysbd")) == 1  # a run-on with no stop and no line break
    assert len(sentences('"One is here. Two is there. Three is everywhere."', "pysbd")) == 3
