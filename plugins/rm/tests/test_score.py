"""rm.score on a reward model trained by the reward_model stage: it ranks held-out pairs, its batches
equal single samples whatever the padding, the model loads once per process, a real pretrained
backbone scores on CPU, and reference conditioning reaches the model."""

from __future__ import annotations

import json
import logging
import math
import shutil
import threading
from pathlib import Path

import pytest
from rewardkit import RewardSpec, ScoringEngine
from rewardkit.testing import make_sample
from rewardkit_rm import score


def engine(model, **params) -> ScoringEngine:
    return ScoringEngine([RewardSpec("rm.score", params={"model": str(model), **params})], deadline=120)


def test_ranks_held_out_chosen_above_rejected_through_the_engine(rm_run, rm_dir, held_out):
    samples = held_out
    with engine(rm_run) as eng:  # the run folder: its reward_model stage's model and data options
        scores = eng.score_reward("rm.score", samples)
    values = [s.value for s in scores]
    wins = [values[2 * i] > values[2 * i + 1] for i in range(len(values) // 2)]
    assert sum(wins) >= 14, values  # 16 pairs never trained on
    assert all(s.details["raw"] == s.value and s.details["tokens"] > 10 for s in scores)

    # The stage trained with a system prompt (read from the run): without it the model reads other text.
    from rewardkit_rm import clear_cache

    clear_cache()
    with engine(rm_dir, system_prompt="") as eng:
        plain = [s.value for s in eng.score_reward("rm.score", samples[:2])]
    assert plain != pytest.approx(values[:2], abs=1e-4)


def direct_scores(model_dir: Path, ids: list[list[int]]) -> list[float]:
    """Each sequence alone through the model, no padding: the ground truth."""
    import torch
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    with torch.no_grad():
        return [float(model(input_ids=torch.tensor([seq])).logits[0, 0]) for seq in ids]


def test_batched_equals_per_sample_whatever_the_padding_side(rm_dir, held_out, tmp_path):
    from rewardkit_rm import clear_cache, load_reward_model, score

    samples = held_out[:12]  # lengths from ~60 to ~300 tokens
    folders = {}
    for side in ("left", "right"):
        folders[side] = shutil.copytree(rm_dir, tmp_path / side)
        config = json.loads((folders[side] / "tokenizer_config.json").read_text())
        config["padding_side"] = side
        (folders[side] / "tokenizer_config.json").write_text(json.dumps(config))
    runs = {}
    for side, folder in folders.items():
        for batch_size in (12, 5, 1):
            clear_cache()  # a fresh model: no raw score remembered from the other runs
            out = score.score(samples, {"model": str(folder), "batch_size": batch_size})
            runs[side, batch_size] = [s.value for s in out]
    lengths = [s.details["tokens"] for s in out]
    assert max(lengths) > 3 * min(lengths)  # real padding in the batches
    rm = load_reward_model(str(folders["left"]))  # copies are no stage's model: no system prompt here
    truth = direct_scores(rm_dir, [_ids(rm, s) for s in samples])
    for key, values in runs.items():
        assert values == pytest.approx(truth, abs=1e-5), key


def _ids(rm, sample) -> list[int]:
    from rewardkit_rm import Renderer

    return Renderer(rm.tokenizer, **rm.training).ids(sample.prompt, sample.completion)


def test_the_model_loads_once_per_process_across_batches_and_threads(rm_dir, held_out, monkeypatch):
    from rewardkit_rm import load_reward_model
    from transformers import AutoModelForSequenceClassification

    loads = []
    original = AutoModelForSequenceClassification.from_pretrained

    def counting(*args, **kwargs):
        loads.append(threading.get_ident())
        return original(*args, **kwargs)

    monkeypatch.setattr(AutoModelForSequenceClassification, "from_pretrained", counting)
    samples = held_out
    with ScoringEngine([RewardSpec("rm.score", params={"model": str(rm_dir), "batch_size": 2})],
                       executor="thread", workers=4, batch_size=4, deadline=120) as eng:
        first = eng.score_reward("rm.score", samples)  # 32 samples: 8 calls on 4 threads
        again = eng.score_reward("rm.score", samples)
    assert len(loads) == 1
    assert eng.stats["rm.score"].calls == 16 and [s.value for s in first] == [s.value for s in again]
    rm = load_reward_model(str(rm_dir))
    # 32 distinct texts in batches of 2, scored once: the second pass came from the raw-score memory.
    assert rm.forward_passes == 16
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(load_reward_model(str(rm_dir)))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loads) == 1 and all(m is rm for m in seen)


def test_reference_conditioning_is_read_when_the_column_is_there(rm_dir, pairs):
    from rewardkit_rm import load_reward_model, score

    with_ref = make_sample(pairs[30]["worked"], prompt=pairs[30]["question"], answer="72")
    without = make_sample(pairs[30]["worked"], prompt=pairs[30]["question"])
    params = {"model": str(rm_dir), "reference_column": "answer"}
    a, b = score.score([with_ref, without], params)
    plain = score.score([without], {"model": str(rm_dir)})[0]
    assert a.details["reference"] is True and b.details["reference"] is False
    assert a.details["tokens"] > b.details["tokens"] and a.value != pytest.approx(b.value, abs=1e-6)
    assert b.value == plain.value  # absent: scored unconditioned
    rm = load_reward_model(str(rm_dir))
    from rewardkit_rm import condition_prompt

    text = rm.tokenizer.decode(_ids(rm, make_sample(with_ref.completion, condition_prompt(with_ref.prompt, "72"))))
    assert "\n\nReference answer: 72<|im_end|>" in text
    required = score.score([with_ref, without], {**params, "reference_required": True})
    assert required[0].value == a.value and required[1].value is None and "no reference" in required[1].reason
    # "reference" names the sample's own reference (the first of reference/ground_truth/answer/...)
    assert score.score([with_ref], {**params, "reference_column": "reference"})[0].value == a.value


def test_truncation_keeps_the_end_or_fails(rm_dir, held_out):
    from rewardkit_rm import score

    sample = held_out[0]
    full = score.score([sample], {"model": str(rm_dir)})[0]
    cut = score.score([sample], {"model": str(rm_dir), "max_length": 40})[0]
    assert cut.details == {"raw": cut.value, "tokens": full.details["tokens"], "truncated": True}
    assert cut.value != pytest.approx(full.value, abs=1e-6)
    failed = score.score([sample], {"model": str(rm_dir), "max_length": 40, "truncation": "error"})[0]
    assert failed.value is None and "more than max_length 40" in failed.error


def test_sigmoid_and_scale(rm_dir, held_out):
    import math

    from rewardkit_rm import score

    samples = held_out[:2]
    raw = [s.value for s in score.score(samples, {"model": str(rm_dir)})]
    squashed = [s.value for s in score.score(samples, {"model": str(rm_dir), "sigmoid": True, "scale": 2.0})]
    assert squashed == pytest.approx([1 / (1 + math.exp(-2 * r)) for r in raw])


def test_a_real_pretrained_backbone_scores_a_batch_on_cpu(caplog):
    """SmolLM2-135M-Instruct as a sequence classifier with a fresh score head: plumbing with a real
    model (its own chat template, its tokenizer's pad handling); the values mean nothing untrained."""
    from rewardkit.testing import real_instruct_model
    from rewardkit_rm import load_reward_model, score

    path = real_instruct_model()
    samples = [make_sample(c, prompt="What is 7 * 6?") for c in ("42", "It is 42.", "7 * 6 = 42, so 42.", "13")]
    with caplog.at_level(logging.WARNING, logger="rewardkit_rm.model"):
        batch = score.score(samples, {"model": str(path), "device": "cpu", "batch_size": 4})
    assert "no trained score head" in caplog.text
    rm = load_reward_model(str(path), device="cpu")
    assert rm.device.type == "cpu" and rm.model.config.num_labels == 1 and rm.forward_passes == 1
    text = rm.tokenizer.decode(_ids(rm, samples[0]))
    assert "<|im_start|>user\nWhat is 7 * 6?<|im_end|>\n<|im_start|>assistant\n42<|im_end|>" in text
    values = [s.value for s in batch]
    assert len(set(values)) == 4 and all(math.isfinite(v) and abs(v) < 1e4 for v in values)
    singles = [score.score([s], {"model": str(path), "device": "cpu", "batch_size": 1})[0].value for s in samples]
    assert singles == values  # remembered raw scores: the same texts are not scored again
    assert rm.forward_passes == 1
    fresh = [rm._forward([_ids(rm, s)])[0] for s in samples]  # each alone, no padding
    assert fresh == pytest.approx(values, abs=1e-4)


def test_grpo_shaped_calls_through_the_trl_bridge(rm_dir, pairs):
    """TRL's reward-function call: chat prompts repeated per completion, assistant-message completions,
    dataset columns as keyword lists; a group of 4 per prompt, normalised within it."""
    prompts, completions = [], []
    for p in pairs[30:32]:
        for text in (p["worked"], p["bare"], p["worked"][:40], p["bare"] + " dollars"):
            prompts.append([{"role": "user", "content": p["question"]}])
            completions.append([{"role": "assistant", "content": text}])
    specs = [RewardSpec("rm.score", id="raw", params={"model": str(rm_dir)}),
             RewardSpec("rm.score", id="z", params={"model": str(rm_dir), "normalize": "group", "group_size": 4})]
    with ScoringEngine(specs, deadline=120) as eng:
        raw_fn, z_fn = eng.trl_reward_funcs()
        raw = raw_fn(prompts=prompts, completions=completions, answer=["x"] * 8, trainer_state=None)
        z = z_fn(prompts=prompts, completions=completions, answer=["x"] * 8, trainer_state=None)
    from rewardkit_rm import clear_cache

    clear_cache()  # a fresh model: each completion scored alone, nothing remembered from the batch
    alone = [score.score([make_sample(c, prompt=p)], {"model": str(rm_dir)})[0].value
             for p, c in zip(prompts, completions)]
    assert raw == pytest.approx(alone, abs=1e-5)
    for group in (slice(0, 4), slice(4, 8)):
        g = raw[group]
        mean = sum(g) / 4
        std = (sum((v - mean) ** 2 for v in g) / 4) ** 0.5
        assert z[group] == pytest.approx([(v - mean) / std for v in g])
