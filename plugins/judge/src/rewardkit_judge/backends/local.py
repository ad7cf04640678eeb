"""The ``transformers`` backend: the judge model loaded in this process, batched ``generate``.

Runs on CPU or GPU (``device: auto`` picks CUDA when there is one). The model is loaded once per
process (see :func:`~rewardkit_judge.backends.base.get_backend`) and used by one batch at a time:
generation already uses every core, so threads queue on a lock instead of competing. The call's
``timeout`` becomes ``generate(max_time=...)``: a judge cut at the deadline returns what it wrote,
marked ``finish_reason="deadline"`` (its verdict is usually missing, and the reward says so).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from .base import (
    Completion,
    JudgeBackend,
    JudgeBackendError,
    Messages,
    check_generation,
    deadline_of,
    time_left,
)


class TransformersBackend(JudgeBackend):
    """Local ``transformers`` generation with the model's chat template.

    Options: ``device`` (``"auto"``, ``"cpu"``, ``"cuda:0"``...), ``dtype`` (``"auto"``, ``"bfloat16"``...),
    ``batch_size`` (conversations per ``generate`` call), ``trust_remote_code``.
    """

    name = "transformers"

    def __init__(self, model: str, base_url: str | None = None, *, device: str = "auto", dtype: str = "auto",
                 batch_size: int = 8, trust_remote_code: bool = False) -> None:
        if base_url:
            raise JudgeBackendError("the transformers judge backend loads the model locally and takes no "
                                    "base_url; use backend: http to call a server")
        if batch_size < 1:
            raise JudgeBackendError(f"batch_size must be at least 1, not {batch_size}")
        super().__init__(model, device=device, dtype=dtype, batch_size=batch_size)
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self.batch_size = batch_size
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model, trust_remote_code=trust_remote_code)
            self.lm = AutoModelForCausalLM.from_pretrained(model, dtype=dtype, trust_remote_code=trust_remote_code)
        except OSError as exc:
            raise JudgeBackendError(f"cannot load the judge model {model!r} with transformers: {exc}") from None
        self.lm.to(device).eval()
        if self.tokenizer.chat_template is None:
            raise JudgeBackendError(f"the judge model {model!r} has no chat template; use an instruct model")
        self.tokenizer.padding_side = "left"  # decoder-only batches are padded on the left
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        eos = self.lm.generation_config.eos_token_id
        self._eos = set(eos if isinstance(eos, (list, tuple)) else [eos]) | {self.tokenizer.eos_token_id}
        self._eos.discard(None)
        self._lock = threading.Lock()

    def complete(self, conversations: Sequence[Messages], *, n: int = 1, temperature: float = 0.0,
                 max_new_tokens: int = 256, timeout: float | None = None) -> list[Completion]:
        check_generation(n, temperature, max_new_tokens)
        deadline = deadline_of(timeout)
        out: list[Completion] = []
        left = time_left(deadline)
        if not self._lock.acquire(timeout=-1 if left is None else max(left, 0.0)):
            return [Completion(error=f"no turn on the local judge model within {timeout:g}s (other batches "
                                     "were generating); raise timeout or the reward's deadline",
                               timed_out=True)] * len(conversations)
        try:
            for start in range(0, len(conversations), self.batch_size):
                chunk = conversations[start:start + self.batch_size]
                left = time_left(deadline)
                if left is not None and left <= 0:
                    out += [Completion(error=f"the {timeout:g}s judge timeout passed before this conversation "
                                             "was generated", timed_out=True)] * len(chunk)
                    continue
                try:
                    out += self._generate(chunk, n, temperature, max_new_tokens, left)
                except Exception as exc:  # noqa: BLE001 - one failed batch, reported per conversation
                    out += [Completion(error=f"{type(exc).__name__}: {exc}")] * len(chunk)
        finally:
            self._lock.release()
        return out

    def _generate(self, chunk: Sequence[Messages], n: int, temperature: float, max_new_tokens: int,
                  max_time: float | None) -> list[Completion]:
        import torch

        texts = [self.tokenizer.apply_chat_template([dict(m) for m in conv], add_generation_prompt=True,
                                                    tokenize=False) for conv in chunk]
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        sample = temperature > 0
        kwargs: dict[str, Any] = {"max_new_tokens": max_new_tokens, "do_sample": sample,
                                  "pad_token_id": self.tokenizer.pad_token_id}
        if sample:  # greedy repeats itself: one sequence, copied n times below
            kwargs.update(temperature=temperature, top_p=1.0, top_k=0, num_return_sequences=n)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if max_time is not None:
            kwargs["max_time"] = max_time
        started = time.monotonic()
        with torch.inference_mode():
            seqs = self.lm.generate(**enc, **kwargs)
        cut = max_time is not None and time.monotonic() - started >= max_time
        width = enc["input_ids"].shape[1]
        per = n if sample else 1
        results = []
        for i in range(len(chunk)):
            decoded = [self._decode(seqs[i * per + j, width:].tolist(), max_new_tokens, cut) for j in range(per)]
            if not sample:
                decoded *= n
            results.append(Completion(texts=[t for t, _ in decoded], finish_reasons=[r for _, r in decoded]))
        return results

    def _decode(self, ids: list[int], max_new_tokens: int, cut: bool) -> tuple[str, str]:
        end = next((k for k, t in enumerate(ids) if t in self._eos), None)
        if end is not None:
            reason = "stop"
            ids = ids[:end]
        elif len(ids) >= max_new_tokens:
            reason = "length"
        else:
            reason = "deadline" if cut else "stop"
        return self.tokenizer.decode(ids, skip_special_tokens=True), reason

    def close(self) -> None:
        self.lm = None  # type: ignore[assignment]
