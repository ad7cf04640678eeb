"""``rm.score``: a Bradley-Terry reward model's score of each (prompt, completion).

Per call (a batch from the engine): render every pair as the reward_model stage trained on it
(:mod:`~rewardkit_rm.render`, optionally with the row's reference answer written into the prompt),
score the token ids in batches on the process's one loaded model (:mod:`~rewardkit_rm.model`),
optionally normalise (:mod:`~rewardkit_rm.normalize`), scale, and squash into (0, 1).

The reward is registered as not deterministic: a normalised score depends on the other samples (its
group, or the history), so the engine must neither cache it nor merge duplicate samples. Raw scores
are cached by the model instead, keyed by token ids.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from rewardkit import RewardParamsError, Sample, Score, reward
from rewardkit.types import stable_hash

from .model import DTYPES, RewardModelError, load_reward_model, resolve_model
from .normalize import group_zscores, running_stats
from .render import DEFAULT_REFERENCE_TEMPLATE, Renderer, condition_prompt

NORMALIZE = ("none", "running", "group")
TRUNCATION = ("left", "error")
_DEVICE = re.compile(r"^(auto|cpu|mps|(cuda|xpu|npu)(:\d+)?)$")


def _check(*, model: str | None, batch_size: int, max_length: int, truncation: str, device: str, dtype: str,
           chat: Any, reference_column: str | None, reference_template: str, reference_required: bool,
           normalize: str, group_size: int | None, scale: float, **_: Any) -> None:
    """Parameter rules (run when a recipe is validated and when an engine is built; reads no weights)."""
    try:
        resolve_model(model)  # type: ignore[arg-type]
    except RewardModelError as exc:
        raise RewardParamsError(str(exc)) from None
    if not isinstance(batch_size, int) or batch_size < 1:
        raise RewardParamsError(f"batch_size must be a whole number >= 1, not {batch_size!r}")
    if not isinstance(max_length, int) or max_length < 2:
        raise RewardParamsError(f"max_length must be a whole number of tokens >= 2, not {max_length!r}")
    if truncation not in TRUNCATION:
        raise RewardParamsError(f"truncation must be one of {TRUNCATION} (left keeps the last max_length "
                                f"tokens, where the score is read), not {truncation!r}")
    if not isinstance(device, str) or not _DEVICE.match(device):
        raise RewardParamsError(f"device must be auto, cpu, cuda or cuda:N (or mps), not {device!r}")
    if dtype not in DTYPES:
        raise RewardParamsError(f"dtype must be one of {DTYPES}, not {dtype!r}")
    if chat not in ("auto", True, False):
        raise RewardParamsError(f"chat must be auto, true or false (as the reward_model stage's data), not {chat!r}")
    if normalize not in NORMALIZE:
        raise RewardParamsError(f"normalize must be one of {NORMALIZE}, not {normalize!r}")
    if group_size is not None and (normalize != "group" or not isinstance(group_size, int) or group_size < 2):
        raise RewardParamsError("group_size (the number of completions per prompt, e.g. GRPO's "
                                "num_generations, >= 2) only applies with normalize: group")
    if "{prompt}" not in reference_template or "{reference}" not in reference_template:
        raise RewardParamsError("reference_template must contain {prompt} and {reference}, e.g. "
                                f"{DEFAULT_REFERENCE_TEMPLATE!r}")
    if reference_required and not reference_column:
        raise RewardParamsError("reference_required needs reference_column (the column holding the reference)")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale == 0:
        raise RewardParamsError(f"scale must be a finite, non-zero number, not {scale!r}")


def _reference(sample: Sample, column: str) -> Any:
    if column == "reference":  # the sample's own reference: the first of reference/ground_truth/answer/...
        return sample.reference
    return sample.column(column)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


@reward("rm.score", mode="batch", deterministic=False, validate=_check)
def score(samples: Sequence[Sample], *, model: str | None = None, batch_size: int = 16, max_length: int = 2048,
          truncation: str = "left", device: str = "auto", dtype: str = "auto", trust_remote_code: bool = False,
          chat: Any = "auto", system_prompt: str | None = None, prompt_template: str | None = None,
          reference_column: str | None = None, reference_template: str = DEFAULT_REFERENCE_TEMPLATE,
          reference_required: bool = False, normalize: str = "none", group_size: int | None = None,
          scale: float = 1.0, sigmoid: bool = False) -> list[Score]:
    """A Bradley-Terry reward model's score of prompt + completion (rendered as in training), batched.

    ``model``: a reward model folder, a run of ``rewardkit run`` (its reward_model stage), or a hub id.
    ``chat``/``system_prompt``/``prompt_template``: the reward_model stage's data options, so prompts are
    shaped as they were in training (unset: read from the model's run when it has one). ``reference_column``: write that column's value into the prompt
    through ``reference_template`` (rows without it are scored unconditioned, or not at all with
    ``reference_required``). ``normalize``: ``none``, ``running`` (z-score against this reward's running
    mean/std) or ``group`` (z-score within each GRPO group). The value is ``scale`` times the (normalised)
    score, squashed by a sigmoid with ``sigmoid: true``. Details: ``raw``, ``normalized``, ``tokens``.
    """
    rm = load_reward_model(model, device=device, dtype=dtype, trust_remote_code=trust_remote_code)  # type: ignore[arg-type]
    # Unset rendering options are those the reward_model stage recorded in its run, when known.
    chat = rm.training.get("chat", "auto") if chat == "auto" else chat
    system_prompt = rm.training.get("system_prompt") if system_prompt is None else system_prompt
    prompt_template = rm.training.get("prompt_template") if prompt_template is None else prompt_template
    renderer = Renderer(rm.tokenizer, chat=chat, prompt_template=prompt_template, system_prompt=system_prompt)
    results: list[Score | None] = [None] * len(samples)
    scored: list[int] = []
    ids: list[list[int]] = []
    details: dict[int, dict[str, Any]] = {}
    for i, sample in enumerate(samples):
        prompt, info = sample.prompt, {}
        if reference_column:
            ref = _reference(sample, reference_column)
            info["reference"] = ref is not None
            if ref is None and reference_required:
                results[i] = Score.not_applicable(f"no reference in column {reference_column!r}")
                continue
            if ref is not None:
                prompt = condition_prompt(prompt, ref, reference_template)
        try:
            seq = renderer.ids(prompt, sample.completion)
        except Exception as exc:  # noqa: BLE001 - one row the chat template rejects fails alone
            results[i] = Score.failed(f"cannot render this row as the reward model was trained: "
                                      f"{type(exc).__name__}: {exc}")
            continue
        info["tokens"] = len(seq)
        if len(seq) > max_length:
            if truncation == "error":
                results[i] = Score.failed(f"{len(seq)} tokens is more than max_length {max_length}; raise "
                                          "max_length or set truncation: left")
                continue
            seq, info["truncated"] = seq[-max_length:], True
        scored.append(i)
        ids.append(seq)
        details[i] = info
    raws = rm.score_ids(ids, batch_size) if ids else []
    bad = [k for k, raw in enumerate(raws) if not math.isfinite(raw)]
    for k in bad:  # kept out of the normalisation statistics
        results[scored[k]] = Score.failed(f"the reward model gave a non-finite score ({raws[k]}); with dtype "
                                          "float16 try bfloat16 or float32")
    if bad:
        scored = [i for k, i in enumerate(scored) if k not in bad]
        raws = [r for k, r in enumerate(raws) if k not in bad]

    values = raws
    if normalize == "running":
        key = stable_hash([rm.name, device, dtype, chat, system_prompt, prompt_template, reference_column,
                           reference_template, max_length, truncation])
        values = running_stats(key).normalize(raws)
    elif normalize == "group":
        groups = [samples[i].group_key for i in scored]
        if group_size is not None:
            sizes: dict[str, int] = {}
            for s in samples:
                sizes[s.group_key] = sizes.get(s.group_key, 0) + 1
            split = {g for g, n in sizes.items() if n != group_size}
            if split:
                keep = [k for k, g in enumerate(groups) if g not in split]
                for k, g in enumerate(groups):
                    if g in split:
                        results[scored[k]] = Score.failed(
                            f"this call holds {sizes[g]} samples of this group, not group_size {group_size}: "
                            "the engine split the group across batches; make the recipe's scoring.batch_size "
                            "a multiple of the group size")
                scored, raws, groups = [scored[k] for k in keep], [raws[k] for k in keep], [groups[k] for k in keep]
        values = group_zscores(raws, groups)
    for i, raw, value in zip(scored, raws, values):
        info = {"raw": raw, **({"normalized": value} if normalize != "none" else {}), **details[i]}
        out = value * scale
        results[i] = Score(_sigmoid(out) if sigmoid else out, details=info)
    return results  # type: ignore[return-value]
