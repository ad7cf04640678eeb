"""Token counting: completion_ids first, then a real Hugging Face tokenizer, then the approximation."""

import pytest
from rewardkit import RewardParamsError
from rewardkit.testing import make_sample, score_one
from rewardkit_format import soft_overlong
from rewardkit_format.tokens import approx_pieces, completion_length, count_text, words


def test_approx_pieces_and_words():
    assert approx_pieces("Hello, world! x=42") == ["Hello", ",", "world", "!", "x", "=", "42"]
    assert approx_pieces("答案是5。") == ["答", "案", "是", "5", "。"]
    assert words("The THE the, 答案!") == ["the", "the", "the", "答", "案"]


def test_completion_ids_win_over_text():
    s = make_sample("one two three", completion_ids=[5, 6])
    assert completion_length(s).tokens == 2 and completion_length(s).method == "completion_ids"
    plain = make_sample("one two three")
    assert completion_length(plain) == count_text("one two three")
    assert completion_length(plain).method == "approx"


@pytest.fixture(scope="module")
def local_tokenizer(tmp_path_factory, gsm8k):
    """A real byte-level BPE tokenizer trained on GSM8K questions, saved like any HF tokenizer."""
    pytest.importorskip("transformers", reason="params.tokenizer needs transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["[UNK]"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator([row["question"] for row in gsm8k], trainer)
    path = tmp_path_factory.mktemp("tok")
    PreTrainedTokenizerFast(tokenizer_object=tok).save_pretrained(str(path))
    return str(path), tok


def test_tokenizer_param_counts_real_tokens(local_tokenizer, gsm8k):
    path, tok = local_tokenizer
    text = gsm8k[0]["question"]
    n = len(tok.encode(text).ids)
    got = count_text(text, path)
    assert got.tokens == n and got.method == f"tokenizer:{path}"
    assert n != len(approx_pieces(text))  # a 400-piece BPE splits words the approximation keeps whole
    # a length reward uses it when no completion_ids are given, and says so
    s = score_one(soft_overlong, text, params={"tokenizer": path, "max_length": n + 1, "cache_length": 1})
    assert s.details["length_method"] == f"tokenizer:{path}" and s.value == 0.0
    over = score_one(
        soft_overlong, text + " more", params={"tokenizer": path, "max_length": n + 1, "cache_length": 1}
    )
    assert over.value == -1.0


def test_unloadable_tokenizer_says_what_to_do(tmp_path):
    with pytest.raises(RewardParamsError, match="save_pretrained"):
        count_text("x", str(tmp_path / "no-such-tokenizer"))
