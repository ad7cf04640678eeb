"""The rejection_sampling stage: best-of-K completions per prompt, written as a new SFT set.

K completions per prompt are sampled from the current model and scored, by the recipe's rewards
(their weighted total) or, with ``options.reward_model``, by a sequence-classification reward
model (its logit for prompt + completion). The best completion of each prompt is kept when its
score is at least ``options.threshold`` (no threshold: the best of every scored prompt). This is
Llama 3's rejection sampling, DeepSeek-V3's step 4 and the shape of R1's distillation data.

Writes ``<stage>/samples.jsonl`` (every completion with its scores) and ``<stage>/sft.jsonl``
(``messages`` rows, or ``prompt``/``completion`` rows) that an ``sft`` stage trains on. The stage
does not change the model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..stage import StageRun
from .sampling import SamplingOptions

FORMATS = ("messages", "prompt_completion")


@dataclass
class RejectionSamplingOptions(SamplingOptions):
    """K samples per prompt (``samples``), how to score them and which to keep."""

    #: Keep a prompt's best completion only if its score is at least this (default: keep every prompt's best).
    threshold: float | None = None
    #: A sequence-classification reward model (a folder or hub id) to score with, instead of the recipe's rewards.
    reward_model: str | None = None
    #: Sequences per reward-model forward pass.
    reward_model_batch_size: int = 16
    #: Tokens of prompt + completion the reward model reads (longer ones are cut at the end).
    reward_model_max_length: int = 2048
    #: ``messages`` (user prompt + assistant completion) or ``prompt_completion`` rows.
    output_format: str = "messages"


def run_rejection_sampling_stage(run: StageRun) -> dict[str, Any]:
    from ..stages import recipe_problem
    from .common import load_tokenizer, model_path
    from .sampling import load_rows, read_jsonl, sample_to_file, score_rows, write_jsonl

    options: RejectionSamplingOptions = run.options()
    if options.output_format not in FORMATS:
        raise recipe_problem(run, "options.output_format", f"unknown format {options.output_format!r}",
                             f"use one of: {', '.join(FORMATS)}")
    if options.reward_model is None and not run.recipe.rewards:
        raise recipe_problem(run, "type", "rejection sampling needs a scorer: the recipe has no rewards and the "
                             "stage no reward model", "add `rewards:` or `options.reward_model: PATH`")
    sampling = options.sampling(run)
    rows = load_rows(run)
    path = sample_to_file(run, rows, run.dir / "samples.jsonl", sampling, model_path=model_path(run),
                          tokenizer=load_tokenizer(run))
    samples = read_jsonl(path)
    if options.reward_model is not None:
        scorer = "reward_model"
        values = reward_model_scores(run, options, samples)
        samples = [{k: v for k, v in row.items() if k != "reward"} | {"reward": value}
                   for row, value in zip(samples, values)]
    else:
        scorer = "rewards"
        with run.engine() as engine:
            samples = score_rows(engine, samples)
    write_jsonl(path, samples)
    k = sampling.samples
    kept = []
    for start in range(0, len(samples), k):
        best = _best(samples[start:start + k])
        if best is not None and (options.threshold is None or best["reward"] >= options.threshold):
            kept.append(sft_row(best, options.output_format))
    out = run.dir / "sft.jsonl"
    write_jsonl(out, kept)
    scores = [row["reward"] for row in samples if row["reward"] is not None]
    stats = {"data": str(out), "kept": len(kept), "prompts": len(rows), "samples_per_prompt": k, "scorer": scorer,
             "threshold": options.threshold, "mean_score": sum(scores) / len(scores) if scores else None}
    (run.dir / "rejection_sampling.json").write_text(json.dumps(stats, indent=2))
    return stats


def _best(group: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The highest-scoring row (the first of equals); None when no row has a score."""
    scored = [row for row in group if row["reward"] is not None]
    return max(scored, key=lambda row: row["reward"]) if scored else None


def sft_row(row: dict[str, Any], output_format: str) -> dict[str, Any]:
    """An SFT row from a sampled row: the prompt (a text prompt as a user turn) and the completion as
    the assistant's turn."""
    prompt, completion = row["prompt"], row["completion"]
    reply = {"role": "assistant", "content": completion}
    if output_format == "prompt_completion":
        return {"prompt": prompt, "completion": completion if isinstance(prompt, str) else [reply]}
    turns = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
    return {"messages": [*turns, reply]}


def reward_model_scores(run: StageRun, options: RejectionSamplingOptions, rows: Sequence[dict[str, Any]]) -> list[float]:
    """The reward model's logit for each row's prompt + completion (batched; chat template if it has one)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from .common import model_init_kwargs
    from .rm_input import Renderer

    name = run.model_reference(options.reward_model)  # a folder, a hub id, or "@reward_model"
    tokenizer = AutoTokenizer.from_pretrained(name)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForSequenceClassification.from_pretrained(name, **model_init_kwargs(run)).to(device).eval()
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    # the pairs exactly as the reward_model stage trained on them (chat template, EOS...)
    renderer = Renderer(tokenizer)
    ids = [renderer.ids(row["prompt"], row["completion"])[-options.reward_model_max_length:] for row in rows]
    scores: list[float] = []
    size = max(1, options.reward_model_batch_size)
    for start in range(0, len(ids), size):
        chunk = ids[start:start + size]
        width = max(len(x) for x in chunk)
        input_ids = torch.tensor([x + [tokenizer.pad_token_id] * (width - len(x)) for x in chunk], device=device)
        mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in chunk], device=device)
        with torch.no_grad():
            scores.extend(model(input_ids=input_ids, attention_mask=mask).logits[:, 0].float().tolist())
    return scores


