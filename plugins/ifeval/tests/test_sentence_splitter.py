"""sentence_splitter: punkt (nltk's Punkt with its English model, the default) or pysbd."""

from __future__ import annotations

import pytest

from rewardkit import RewardKit, RewardParamsError
from rewardkit.testing import score_one
from rewardkit_ifeval import InstructionArgsError, evaluate, follows
from rewardkit_ifeval.text import SENTENCE_SPLITTERS, capital_words, sentences, word_tokens

SONG = (
    "We need a place to swing and slide\nA jungle gym that's ten feet wide\n"
    "The old one's rusty, creaks and groans"
)
LESS_THAN_2 = ("length_constraints:number_sentences", {"num_sentences": 2, "relation": "less than"})


def test_punkt_is_the_default_and_counts_full_stops_not_lines() -> None:
    assert SENTENCE_SPLITTERS == ("punkt", "pysbd")
    assert len(sentences(SONG)) == 1  # no full stop: one Punkt sentence, as the reference counts
    assert len(sentences(SONG, "pysbd")) == 3  # pysbd also ends a sentence at a line break
    assert follows(SONG, *LESS_THAN_2)
    assert not follows(SONG, *LESS_THAN_2, sentence_splitter="pysbd")


def test_punkt_knows_english_abbreviations() -> None:
    text = (
        "Dr. Smith met Mr. Jones at the embassy at 3 p.m. on Friday. They talked about trade. "
        "Then they left!"
    )
    assert sentences(text) == [
        "Dr. Smith met Mr. Jones at the embassy at 3 p.m. on Friday.",
        "They talked about trade.",
        "Then they left!",
    ]
    assert len(sentences(text, "pysbd")) == 3


def test_punkt_splits_as_nltk_does_with_its_own_model() -> None:
    # The reference harness installs nltk's punkt_tab files (from the same wheel) where nltk looks
    # for them; nltk's own sent_tokenize / word_tokenize must then cut exactly as we do.
    import nltk

    from rewardkit_ifeval.reference import punkt_data_dir

    punkt_data_dir()
    texts = [
        "They talked, e.g. about trade. Then they left! Did they? Yes... \"Sure.\" (Maybe.)",
        "I DON'T like the WELL-KNOWN U.S. band. It's at No. 5 in the U.K. charts, vol. 2.",
        "1. First item.\n2. Second item\n\n*Note*: see Sec. 3.2 of the St. Louis report, pp. 4-5.",
        "Mr. and Mrs. Smith went to Washington D.C. on Jan. 3rd. They left at 10 a.m. sharp.",
    ]
    for text in texts:
        assert sentences(text) == nltk.sent_tokenize(text)
        assert word_tokens(text) == nltk.word_tokenize(text)


def test_punkt_model_ships_with_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    # No nltk data directory is needed (nltk would otherwise download punkt_tab).
    import nltk

    from rewardkit_ifeval import text

    monkeypatch.setattr(nltk.data, "path", [])
    with pytest.raises(LookupError):
        nltk.data.find("tokenizers/punkt_tab/english/")
    text._punkt.cache_clear()
    try:
        assert len(text.sentences("One here. Two there.")) == 2
    finally:
        text._punkt.cache_clear()


def test_capital_words_are_nltk_word_tokens() -> None:
    # As the reference (nltk.word_tokenize): "DON'T" is DO + N'T, "U.S." and "WELL-KNOWN" are one each.
    text = "I DON'T like the WELL-KNOWN U.S. band."
    assert word_tokens(text) == ["I", "DO", "N'T", "like", "the", "WELL-KNOWN", "U.S.", "band", "."]
    assert capital_words(text) == 5  # I, DO, N'T, WELL-KNOWN, U.S. (runs of \w+ would make 7)
    assert capital_words("no capitals at all. none here either.") == 0
    kw = {"capital_frequency": 6, "capital_relation": "less than"}
    assert follows(text, "change_case:capital_word_frequency", kw)


def test_evaluate_records_the_splitter_and_rejects_unknown_ones() -> None:
    ids, kwargs = [LESS_THAN_2[0]], [LESS_THAN_2[1]]
    assert evaluate(SONG, ids, kwargs).sentence_splitter == "punkt"
    assert evaluate(SONG, ids, kwargs, sentence_splitter="pysbd").followed == (False,)
    with pytest.raises(InstructionArgsError, match="sentence_splitter must be 'punkt'"):
        evaluate(SONG, ids, kwargs, sentence_splitter="spacy")


def test_reward_param() -> None:
    reward = RewardKit().registry.reward("ifeval.instructions")
    columns = {"instruction_id_list": [LESS_THAN_2[0]], "kwargs": [LESS_THAN_2[1]]}
    default = score_one(reward, SONG, **columns)
    assert default.value == 1.0 and default.details["sentence_splitter"] == "punkt"
    pysbd = score_one(reward, SONG, params={"sentence_splitter": "pysbd"}, **columns)
    assert pysbd.value == 0.0 and pysbd.details["sentence_splitter"] == "pysbd"
    with pytest.raises(RewardParamsError, match="sentence_splitter"):
        score_one(reward, SONG, params={"sentence_splitter": "nltk"}, **columns)
    tulu = RewardKit().registry.reward("ifeval.tulu3")
    gt = '{"func_name": "verify_sentence_constraint", "N": 2, "quantifier": "less than"}'
    assert score_one(tulu, SONG, ground_truth=gt).value == 1.0
    assert score_one(tulu, SONG, params={"sentence_splitter": "pysbd"}, ground_truth=gt).value == 0.0
