"""Sampling K completions per prompt, shared by the ``generate``, ``eval``, ``rejection_sampling``
stages and GRPO's prompt selection.

Completions are written to a JSONL file in the ``rewardkit score`` contract: each row is the data
row (its columns as the recipe maps them) with ``prompt`` (as given to the model: text or chat
messages), ``completion`` (text) and ``sample_index`` (0..K-1). Rows come prompt by prompt, K per
prompt, a batch of prompts at a time, so an interrupted stage resumes after the last whole batch
written. Each batch is seeded from the seed and its first prompt, so a resumed file holds what an
uninterrupted run would have written (on the same machine and backend).

Backends: ``transformers`` (batched ``model.generate``, left padding; CPU or one GPU) and
``vllm`` (imported only when asked for; needs ``pip install vllm`` and a GPU).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..stage import StageRun
from ..types import stable_hash
from .common import model_init_kwargs

log = logging.getLogger(__name__)

BACKENDS = ("transformers", "vllm")


@dataclass
class SamplingOptions:
    """The sampling settings a stage's ``options:`` take (the generate, eval and rejection_sampling stages)."""

    #: Completions per prompt (K).
    samples: int = 4
    #: 0 is greedy decoding.
    temperature: float = 1.0
    top_p: float = 1.0
    #: 0: no top-k cut.
    top_k: int = 0
    max_new_tokens: int = 256
    #: Sequences per ``generate`` call (prompts x samples), transformers backend.
    batch_size: int = 32
    #: Default: the recipe's seed.
    seed: int | None = None
    #: ``transformers`` (CPU or one GPU) or ``vllm`` (``pip install vllm``; a GPU).
    backend: str = "transformers"
    #: Extra keyword arguments for ``vllm.LLM(...)``, e.g. ``{gpu_memory_utilization: 0.5}``.
    vllm_args: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """Raise ValueError (naming the field) for settings that cannot work (``rewardkit validate``
        calls this, and every stage before sampling)."""
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        if self.samples < 1:
            raise ValueError(f"samples must be at least 1, got {self.samples}")
        if self.temperature <= 0 and self.samples > 1:
            raise ValueError(f"temperature 0 (greedy) gives the same completion {self.samples} times; "
                             "set samples: 1 or a temperature above 0")
        if self.max_new_tokens < 1 or self.batch_size < 1:
            raise ValueError("max_new_tokens and batch_size must be at least 1")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")

    def sampling(self, run: StageRun, **overrides: Any) -> "Sampling":
        """The settings, seed filled in from the recipe; a bad one is reported as a recipe error."""
        from ..stages import recipe_problem

        values = {f: getattr(self, f) for f in _SAMPLING_FIELDS}
        values.update(overrides)
        if values["seed"] is None:
            values["seed"] = run.recipe.seed
        sampling = Sampling(**values)
        try:
            sampling.check()
        except ValueError as exc:
            raise recipe_problem(run, "options", str(exc), "fix the stage's options") from None
        return sampling


@dataclass
class Sampling(SamplingOptions):
    """How to sample, resolved: K per prompt, decoding settings, backend, and a seed."""

    seed: int = 42

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0


_SAMPLING_FIELDS = tuple(f for f in SamplingOptions.__dataclass_fields__)



# -- rows in, rows out ------------------------------------------------------------------------------
def load_rows(run: StageRun) -> list[dict[str, Any]]:
    """The stage's data rows, shaped as the training stages see them (prompt template, chat, system prompt)."""
    from .data import load_dataset_for

    return load_dataset_for(run.data(), run.recipe).to_list()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows)
    os.replace(tmp, path)


def score_rows(engine: Any, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with ``rewards`` (id -> value), ``reward`` (weighted total) and ``errors``, as
    ``rewardkit score`` writes them (scores of an earlier pass are replaced)."""
    from ..types import Sample

    plain = [{k: v for k, v in row.items() if k not in SCORE_KEYS} for row in rows]
    results = engine.score([Sample.from_row(row) for row in plain])
    return [{**row, "rewards": {k: sc.value for k, sc in r.scores.items()}, "reward": r.total, "errors": r.errors}
            for row, r in zip(plain, results)]


#: What scoring adds to a row.
SCORE_KEYS = ("rewards", "reward", "errors", "reward_details")


def render_prompt(tokenizer: Any, prompt: Any) -> str:
    """The text the model continues: chat messages through the tokenizer's chat template (with the
    assistant turn opened), plain text as it is."""
    if isinstance(prompt, str):
        return prompt
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError("the prompts are chat messages but the tokenizer has no chat template; set "
                         "`data.chat: false` to use plain-text prompts, or `model.tokenizer` to one with a template")
    return tokenizer.apply_chat_template(list(prompt), tokenize=False, add_generation_prompt=True)


def sample_to_file(run: StageRun, rows: Sequence[dict[str, Any]], out: Path, sampling: Sampling, *,
                   model_path: str, tokenizer: Any) -> Path:
    """Write ``len(rows) * sampling.samples`` rows to ``out`` (resuming a partial file of the same
    settings); returns ``out``."""
    k = sampling.samples
    identity = stable_hash({"model": model_path, "sampling": asdict(sampling),
                            "rows": [stable_hash(r) for r in rows]})
    state = out.with_name(out.name + ".state.json")
    done = 0
    if out.exists() and state.exists() and json.loads(state.read_text()).get("identity") == identity:
        done = _whole_prompts(out, k)
    elif out.exists():
        log.warning("%s was written with other settings, data or model: sampling again", out)
        out.unlink()
    state.write_text(json.dumps({"identity": identity, "samples": k}))
    # Resume at a batch boundary: the batches (their padding and seeds) are then the ones an
    # uninterrupted run makes, and so are the completions.
    per_batch = prompts_per_batch(sampling)
    if done < len(rows) and done % per_batch:
        done -= done % per_batch
        _whole_prompts(out, k, limit=done)
    if done >= len(rows):
        return out
    texts = [render_prompt(tokenizer, row["prompt"]) for row in rows]
    # A chat template writes its own special tokens; plain text gets the tokenizer's (a BOS, say).
    special = all(isinstance(row["prompt"], str) for row in rows)
    with open(out, "a", encoding="utf-8") as fh:
        for start, completions in generate(model_path, tokenizer, texts, sampling, add_special_tokens=special,
                                           model_kwargs=model_init_kwargs(run), first=done):
            for i, group in enumerate(completions):
                row = rows[start + i]
                fh.writelines(json.dumps({**row, "completion": text, "sample_index": j}, ensure_ascii=False,
                                         default=str) + "\n" for j, text in enumerate(group))
            fh.flush()
    return out


def _whole_prompts(path: Path, k: int, limit: int | None = None) -> int:
    """Prompts fully written to ``path`` (K complete lines each; at most ``limit``); the rest is cut off."""
    keep, count = 0, 0
    with open(path, "rb") as fh:
        for line in iter(fh.readline, b""):
            if not line.endswith(b"\n") or (limit is not None and count >= limit * k):
                break
            try:
                json.loads(line)
            except ValueError:
                break
            count += 1
            if count % k == 0:
                keep = fh.tell()
    with open(path, "r+b") as fh:
        fh.truncate(keep)
    return count // k


# -- backends ---------------------------------------------------------------------------------------
#: Prompts per vLLM call: vLLM batches inside; chunks only bound what a crash loses.
VLLM_CHUNK = 1024


def prompts_per_batch(sampling: Sampling) -> int:
    """Prompts generated (and written) together."""
    return VLLM_CHUNK if sampling.backend == "vllm" else max(1, sampling.batch_size // sampling.samples)


def generate(model_path: str, tokenizer: Any, texts: Sequence[str], sampling: Sampling, *,
             add_special_tokens: bool = False, model_kwargs: dict[str, Any] | None = None, first: int = 0,
             ) -> Iterator[tuple[int, list[list[str]]]]:
    """``(start, completions)`` batch by batch from ``texts[first]`` on: ``completions[i]`` holds the K
    texts for ``texts[start + i]``. Each batch is seeded with ``sampling.seed + start``."""
    batches = [(start, list(texts[start:start + prompts_per_batch(sampling)]))
               for start in range(first, len(texts), prompts_per_batch(sampling))]
    backend = _generate_vllm if sampling.backend == "vllm" else _generate_transformers
    yield from backend(model_path, tokenizer, batches, sampling, add_special_tokens, model_kwargs or {})


def _generate_transformers(model_path: str, tokenizer: Any, batches: list[tuple[int, list[str]]], sampling: Sampling,
                           add_special_tokens: bool, model_kwargs: dict[str, Any],
                           ) -> Iterator[tuple[int, list[list[str]]]]:
    import copy

    import torch
    from transformers import AutoModelForCausalLM

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(model_path, **model_kwargs).to(device).eval()
    config = copy.deepcopy(model.generation_config)
    sample = not sampling.greedy
    config.update(do_sample=sample, num_return_sequences=sampling.samples, max_new_tokens=sampling.max_new_tokens,
                  temperature=sampling.temperature if sample else None, top_p=sampling.top_p if sample else None,
                  top_k=(sampling.top_k or None) if sample else None, pad_token_id=tokenizer.pad_token_id)
    padding_side, tokenizer.padding_side = tokenizer.padding_side, "left"  # decoder-only: pad on the left
    k = sampling.samples
    try:
        for start, chunk in batches:
            batch = tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=add_special_tokens).to(device)
            torch.manual_seed(sampling.seed + start)
            with torch.no_grad():
                out = model.generate(**batch, generation_config=config)
            decoded = tokenizer.batch_decode(out[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)
            yield start, [decoded[i * k:(i + 1) * k] for i in range(len(chunk))]
    finally:
        tokenizer.padding_side = padding_side
        del model


def _generate_vllm(model_path: str, tokenizer: Any, batches: list[tuple[int, list[str]]], sampling: Sampling,
                   add_special_tokens: bool, model_kwargs: dict[str, Any],
                   ) -> Iterator[tuple[int, list[list[str]]]]:
    try:
        from vllm import LLM, SamplingParams
    except ImportError:
        raise RuntimeError("backend: vllm needs vLLM (and a GPU): `pip install vllm`, or use backend: transformers") \
            from None
    dtype = model_kwargs.get("dtype")
    extra = {"dtype": str(dtype).removeprefix("torch.")} if dtype is not None else {}
    llm = LLM(model=model_path, tokenizer=getattr(tokenizer, "name_or_path", None) or model_path,
              seed=sampling.seed, **{**extra, **sampling.vllm_args})
    for start, chunk in batches:
        params = SamplingParams(n=sampling.samples, temperature=max(sampling.temperature, 0.0), top_p=sampling.top_p,
                                top_k=sampling.top_k or -1, max_tokens=sampling.max_new_tokens,
                                seed=sampling.seed + start)
        # Token ids, not text: vLLM would add special tokens to text a chat template already wrapped.
        ids = [tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"] for text in chunk]
        outputs = llm.generate([{"prompt_token_ids": i} for i in ids], params, use_tqdm=False)
        yield start, [[o.text for o in result.outputs] for result in outputs]
