"""The reward model: where it is, loading it once per process, and batched scoring of token ids.

``model`` names a model folder, a run of ``rewardkit run`` (its latest reward_model stage's model), one
stage folder of a run (its ``model/``), or a hub id. :func:`load_reward_model` keeps one loaded model per
(model, device, dtype, trust_remote_code) in this process, shared by every batch and every worker thread;
a failed load is remembered too, so a broken model fails each batch at once instead of reloading.

Scoring pads on the right with the tokenizer's pad token, as TRL's preference collator does in
training: the score is the logit at the last non-pad token, and with causal attention the real tokens
never see the padding, so a score does not depend on the batch it is in (nor on the tokenizer's own
``padding_side``). Batches are formed from length-sorted inputs to keep padding small, and forward
passes take turns on one lock (one pass already uses every core, or the whole GPU).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from array import array
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Raw scores remembered per loaded model (keyed by a hash of the token ids): repeated completions,
#: within a GRPO group or across calls, are scored once.
RAW_CACHE_SIZE = 65_536
DTYPES = ("auto", "float32", "bfloat16", "float16")


class RewardModelError(ValueError):
    """The reward model cannot be found or loaded; the message says what to do."""


def looks_local(model: str) -> bool:
    """A folder rather than a hub id (``org/name``): the rule the recipe checks use for models."""
    return model.startswith((".", "/", "~")) or model.count("/") > 1


def resolve_model(model: str) -> str:
    """The folder (or hub id) to load for ``model``.

    * a model folder (it has ``config.json``): itself;
    * a run folder (it has ``manifest.json``): the ``reward_model`` of its latest stage that made one;
    * a stage folder (it has ``model/config.json``): that ``model/``;
    * not on disk and shaped like a hub id (``org/name``): the id, loaded from the hub or its cache.

    Raises :class:`RewardModelError` naming the fix; reads no weights (cheap enough for validation).
    """
    if not model or not isinstance(model, str):
        raise RewardModelError("rm.score needs `model`: a reward model folder (a reward_model stage's "
                               "`model/`), a run folder of `rewardkit run`, or a hub id")
    path = Path(model).expanduser()
    if not path.exists():
        if looks_local(model):
            raise RewardModelError(
                f"no reward model folder at {model!r} (looked at {path.resolve()}); train one with a "
                "`reward_model` stage (`rewardkit run`) and give its run folder or its `model/` folder "
                "(relative paths are read from the working directory)")
        return model  # a hub id
    if (path / "config.json").is_file():
        return str(path)
    manifest = path / "manifest.json"
    if manifest.is_file():
        return _from_run(path, manifest)
    if (path / "model" / "config.json").is_file():
        return str(path / "model")
    raise RewardModelError(f"{model!r} is a folder but not a model (no config.json), a run (no "
                           "manifest.json) or a stage folder (no model/config.json); give the reward "
                           "model's folder")


def _stage_model(run_dir: Path, found: str) -> Path:
    """A stage's recorded model folder; a run moved or written with a relative ``--output-dir`` is
    found beside its manifest (``<run>/<NN-label>/model``)."""
    recorded = Path(found)
    if (recorded / "config.json").is_file():
        return recorded
    return run_dir / recorded.parent.name / recorded.name


def _from_run(path: Path, manifest: Path) -> str:
    try:
        stages = json.loads(manifest.read_text(encoding="utf-8")).get("stages", [])
    except (OSError, ValueError) as exc:
        raise RewardModelError(f"cannot read the run manifest {manifest}: {exc}") from None
    for stage in reversed(stages):
        found = (stage.get("result") or {}).get("reward_model") if stage.get("status") == "done" else None
        if found and (_stage_model(path, found) / "config.json").is_file():
            return str(_stage_model(path, found))
    raise RewardModelError(f"the run {str(path)!r} has no finished reward_model stage (stages: "
                           f"{[s.get('label') or s.get('type') for s in stages]}); run it first, or give a "
                           "model folder")


#: The reward_model stage's ``data:`` options that shape prompts (see :mod:`rewardkit_rm.render`).
RENDER_OPTIONS = ("chat", "prompt_template", "system_prompt")


def training_options(model_dir: str) -> dict[str, Any]:
    """The data options (``chat``, ``prompt_template``, ``system_prompt``) the reward_model stage that
    wrote ``model_dir`` trained with, read from its run's manifest (``<run>/<NN-stage>/model``); empty
    when the folder is not a stage's model or the run's plan cannot be matched (``rounds``)."""
    path = Path(model_dir)
    manifest = path.parent.parent / "manifest.json"
    if path.name != "model" or not manifest.is_file():
        return {}
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    recipe, stages = data.get("recipe") or {}, data.get("stages") or []
    configs = recipe.get("stages") or []
    if any(c.get("type") == "rounds" for c in configs):  # unrolled: manifest indices differ from the recipe's
        return {}
    for entry in stages:
        found = (entry.get("result") or {}).get("reward_model")
        index = entry.get("index")
        if not found or not isinstance(index, int) or index >= len(configs):
            continue
        if _stage_model(manifest.parent, found).resolve() != path.resolve():
            continue
        config = configs[index]
        if config.get("type") != "reward_model":
            return {}
        options = config.get("data") or recipe.get("data") or {}
        return {k: options[k] for k in RENDER_OPTIONS if k in options}
    return {}


class RewardModel:
    """A loaded sequence-classification reward model (one output: the Bradley-Terry score)."""

    def __init__(self, model: str, *, device: str = "auto", dtype: str = "auto",
                 trust_remote_code: bool = False) -> None:
        import torch
        from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

        name = resolve_model(model)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        elif device.startswith("cuda") and not torch.cuda.is_available():
            raise RewardModelError(f"device: {device} but torch sees no CUDA device; use device: auto or cpu")
        self.name, self.device = name, torch.device(device)
        #: How the reward_model stage that wrote this model shaped prompts (empty when unknown).
        self.training = training_options(name)
        try:
            config = AutoConfig.from_pretrained(name, trust_remote_code=trust_remote_code)
            self.tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=trust_remote_code)
        except OSError as exc:
            raise RewardModelError(f"cannot load the reward model {name!r}: {exc}") from None
        trained = any(a.endswith("ForSequenceClassification") for a in (config.architectures or []))
        if trained and config.num_labels != 1:
            raise RewardModelError(f"{name!r} is a classifier with {config.num_labels} labels; a Bradley-Terry "
                                   "reward model has one output (train one with a reward_model stage)")
        if not trained:  # a backbone: the score head is new and random until a reward_model stage trains it
            log.warning("%s has no trained score head; its scores are random until a reward_model stage "
                        "trains one", name)
        kwargs: dict[str, Any] = {"num_labels": 1, "trust_remote_code": trust_remote_code}
        if dtype != "auto":
            kwargs["dtype"] = getattr(torch, dtype)
        self.model = AutoModelForSequenceClassification.from_pretrained(name, **kwargs).to(self.device).eval()
        # As the RewardTrainer does: a pad token (else EOS) that the model knows, so the score is read
        # at the last real token.
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if self.tokenizer.pad_token_id is None:
            raise RewardModelError(f"the tokenizer of {name!r} has neither a pad nor an EOS token")
        text_config = self.model.config.get_text_config()
        if text_config.pad_token_id is None:
            text_config.pad_token_id = self.tokenizer.pad_token_id
        self.pad_id = int(text_config.pad_token_id)
        self._forward_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._raw: OrderedDict[bytes, float] = OrderedDict()
        self.forward_passes = 0

    def score_ids(self, sequences: Sequence[Sequence[int]], batch_size: int = 16) -> list[float]:
        """Raw scores of token-id sequences (each already rendered and within the length budget)."""
        keys = [hashlib.blake2b(array("q", ids).tobytes(), digest_size=16).digest() for ids in sequences]
        out: list[float | None] = [None] * len(sequences)
        todo: dict[bytes, list[int]] = {}
        with self._cache_lock:
            for i, key in enumerate(keys):
                hit = self._raw.get(key)
                if hit is None:
                    todo.setdefault(key, []).append(i)
                else:
                    out[i] = hit
                    self._raw.move_to_end(key)
        # Longest first: the first batch shows at once whether the largest one fits in memory.
        unique = sorted(todo, key=lambda k: -len(sequences[todo[k][0]]))
        for start in range(0, len(unique), max(1, batch_size)):
            chunk = unique[start:start + batch_size]
            values = self._forward([sequences[todo[k][0]] for k in chunk])
            with self._cache_lock:
                for key, value in zip(chunk, values):
                    for i in todo[key]:
                        out[i] = value
                    self._raw[key] = value
                while len(self._raw) > RAW_CACHE_SIZE:
                    self._raw.popitem(last=False)
        return out  # type: ignore[return-value]

    def _forward(self, batch: Sequence[Sequence[int]]) -> list[float]:
        import torch

        width = max(len(ids) for ids in batch)
        input_ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, ids in enumerate(batch):
            input_ids[row, :len(ids)] = torch.tensor(ids, dtype=torch.long)
            mask[row, :len(ids)] = 1
        with self._forward_lock, torch.inference_mode():
            logits = self.model(input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device)).logits
            self.forward_passes += 1
        return logits[:, 0].float().cpu().tolist()


_MODELS: dict[tuple[Any, ...], RewardModel | str] = {}
_LOAD_LOCK = threading.Lock()


def load_reward_model(model: str, *, device: str = "auto", dtype: str = "auto",
                      trust_remote_code: bool = False) -> RewardModel:
    """The process's one :class:`RewardModel` for these options (loaded on first use).

    Threads asking at once wait for the one load; a load that failed raises the same error again
    without retrying (call :func:`clear_cache` after fixing the model).
    """
    key = (resolve_model(model), device, dtype, bool(trust_remote_code))
    with _LOAD_LOCK:
        found = _MODELS.get(key)
        if found is None:
            try:
                found = RewardModel(model, device=device, dtype=dtype, trust_remote_code=trust_remote_code)
            except RewardModelError as exc:  # remembered: every later batch gets the same message
                found = str(exc)
            except Exception as exc:  # noqa: BLE001 - idem, for whatever transformers raised
                found = f"cannot load the reward model {key[0]!r}: {type(exc).__name__}: {exc}"
            _MODELS[key] = found
    if isinstance(found, str):
        raise RewardModelError(found)
    return found


def clear_cache() -> None:
    """Drop every loaded reward model (frees its memory once no batch holds it)."""
    with _LOAD_LOCK:
        _MODELS.clear()
