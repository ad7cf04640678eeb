"""format.language: share of the completion in the prompt's (or a given) language."""

import pytest
from rewardkit import RewardParamsError
from rewardkit.testing import score_one
from rewardkit_format import language_consistency
from rewardkit_format.language import language_of

EN_PROMPT = "Natalia sold clips to 48 of her friends in April. How many clips did she sell? Explain."
EN = "She sold 48 clips in April and half as many in May, so she sold 72 clips altogether."
ZH = "她四月卖了48个夹子，五月卖了一半，所以一共卖了72个。"
FR = "Elle a vendu 48 pinces en avril et la moitié en mai, donc elle en a vendu 72 au total."


@pytest.mark.parametrize(
    "text, lang",
    [
        (EN_PROMPT, "en"),
        (ZH, "zh"),
        (FR, "fr"),
        ("二と三を足すといくつになりますか？", "ja"),
        ("둘 더하기 셋은 얼마입니까?", "ko"),
        ("Сколько будет, если сложить два и три? Объясните решение подробно.", "ru"),
        ("$$x^2 + 1$$ `code`", None),
    ],
)
def test_language_of(text, lang):
    assert language_of(text) == lang


def test_same_language_scores_one():
    s = score_one(language_consistency, EN, prompt=EN_PROMPT)
    assert s.value == 1.0 and s.details["target"] == "en" and s.details["target_from"] == "prompt"
    assert (
        score_one(language_consistency, ZH, prompt="娜塔莉亚四月卖了48个夹子，她一共卖了多少？").value == 1.0
    )


def test_other_language_scores_zero():
    assert score_one(language_consistency, ZH, prompt=EN_PROMPT).value == 0.0
    fr = score_one(language_consistency, FR, prompt=EN_PROMPT)  # same script, told apart by langdetect
    assert fr.value == 0.0 and fr.details["words_by_language"] == {"fr": 18}


def test_mixed_completion_gets_the_share_of_target_words():
    s = score_one(language_consistency, "<think>" + ZH + "</think>\n" + EN, prompt=EN_PROMPT)
    en_words, zh_words = s.details["words_by_language"]["en"], s.details["words_by_language"]["zh"]
    # tags and numbers are ignored, CJK characters count one each
    assert en_words == 16 and zh_words == 21
    assert s.value == pytest.approx(16 / 37)


def test_markup_is_not_language():
    code = "```python\ndef total(april, may):\n    return april + may\n```\n"
    zh_with_code = ZH + "\n" + code + "用 $x = 48 + 24$ 计算。"
    s = score_one(language_consistency, zh_with_code, params={"language": "zh"})
    assert s.value == 1.0 and s.details["target_from"] == "param"


def test_target_from_param_or_column():
    assert score_one(language_consistency, FR, prompt=EN_PROMPT, params={"language": "fr"}).value == 1.0
    by_row = score_one(
        language_consistency, FR, prompt=EN_PROMPT, params={"language_column": "lang"}, lang="fr-FR"
    )
    assert by_row.value == 1.0 and by_row.details["target"] == "fr"


def test_not_applicable_without_text():
    assert score_one(language_consistency, "$$\\frac{1}{2}$$ = 0.5", prompt=EN_PROMPT).value is None
    assert score_one(language_consistency, "x = 5, y = 7", prompt=EN_PROMPT).value is None


def test_undecidable_prompt_uses_the_fallback_language():
    s = score_one(language_consistency, EN, prompt="Compute $12 + 30$.")
    assert s.value == 1.0 and s.details["target_from"] == "fallback"
    assert (
        score_one(
            language_consistency, FR, prompt="Compute $12 + 30$.", params={"fallback_language": "fr"}
        ).value
        == 1.0
    )
    assert (
        score_one(language_consistency, EN, prompt="12 + 30 = ?", params={"fallback_language": ""}).value
        is None
    )


def test_short_formula_laden_sentences_still_count_as_the_target():
    text = "Expanding, we get $x^2 + 2x + 1$. Thus, $x = 2$. So he runs 9*60=<<9*60=540>>540 meters."
    s = score_one(language_consistency, text, prompt=EN_PROMPT)
    assert s.value == 1.0 and s.details["words_by_language"] == {"en": 8}


def test_real_gsm8k_answers_are_in_their_questions_language(gsm8k):
    scored = [
        score_one(language_consistency, row["answer"], prompt=row["question"]).value for row in gsm8k[:300]
    ]
    assert all(v is not None for v in scored)
    assert sum(v == 1.0 for v in scored) >= 0.97 * len(scored)


def test_deterministic():
    mixed = "Bon, let me think. " + FR + " " + EN
    runs = {score_one(language_consistency, mixed, prompt=EN_PROMPT).value for _ in range(5)}
    assert len(runs) == 1


def test_params():
    with pytest.raises(RewardParamsError, match="ISO 639-1"):
        score_one(language_consistency, EN, params={"language": "English"})
    with pytest.raises(RewardParamsError, match="fallback_language"):
        score_one(language_consistency, EN, params={"fallback_language": "chinese"})
    with pytest.raises(RewardParamsError, match="min_words"):
        score_one(language_consistency, EN, params={"min_words": 0})
