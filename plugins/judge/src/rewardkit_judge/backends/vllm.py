"""The ``vllm`` backend: vLLM's offline ``LLM`` in this process (a CUDA GPU).

vLLM is imported when the backend is built, never before, and is not a dependency of this plugin
(``pip install vllm`` on a GPU machine). Options are passed to ``vllm.LLM`` as they are
(``tensor_parallel_size``, ``gpu_memory_utilization``, ``max_model_len``, ``dtype``...). vLLM's offline
engine has no per-call time limit: a batch runs to the end, so keep the reward's ``deadline`` generous
(the engine abandons a call past it).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from .base import Completion, JudgeBackend, JudgeBackendError, Messages, check_generation


class VLLMBackend(JudgeBackend):
    """Offline vLLM generation with the model's chat template (``LLM.chat``)."""

    name = "vllm"

    def __init__(self, model: str, base_url: str | None = None, **options: Any) -> None:
        if base_url:
            raise JudgeBackendError("the vllm judge backend runs the model in this process and takes no "
                                    "base_url; for a `vllm serve` server use backend: http")
        super().__init__(model, **options)
        try:
            import vllm
        except ImportError as exc:
            raise JudgeBackendError(
                "the vllm judge backend needs vLLM, which is not installed here (`pip install vllm`, on a "
                f"machine with a CUDA GPU); on a CPU use backend: transformers, or backend: http with a "
                f"served model ({exc})") from None
        self._vllm = vllm
        self.llm = vllm.LLM(model=model, **options)
        self._lock = threading.Lock()  # one LLM.chat at a time: the engine is not re-entrant

    def complete(self, conversations: Sequence[Messages], *, n: int = 1, temperature: float = 0.0,
                 max_new_tokens: int = 256, timeout: float | None = None) -> list[Completion]:
        check_generation(n, temperature, max_new_tokens)
        params = self._vllm.SamplingParams(n=n, temperature=temperature, max_tokens=max_new_tokens)
        try:
            with self._lock:
                results = self.llm.chat([[dict(m) for m in conv] for conv in conversations],
                                        sampling_params=params, use_tqdm=False)
        except Exception as exc:  # noqa: BLE001 - reported per conversation, like the other backends
            return [Completion(error=f"{type(exc).__name__}: {exc}")] * len(conversations)
        return [Completion(texts=[o.text for o in r.outputs], finish_reasons=[o.finish_reason for o in r.outputs])
                for r in results]

    def close(self) -> None:
        self.llm = None
