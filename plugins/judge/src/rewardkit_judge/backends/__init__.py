"""Judge backends: ``transformers`` (local generate), ``vllm`` (offline LLM), ``http`` (OpenAI-compatible
server). Each is a :class:`JudgeBackend`; :func:`get_backend` builds one per process and caches it.
The backends import torch/transformers/vllm/httpx only when built."""

from .base import (
    Completion,
    JudgeBackend,
    JudgeBackendError,
    Messages,
    backend_class,
    clear_backends,
    get_backend,
)

__all__ = ["Completion", "JudgeBackend", "JudgeBackendError", "Messages", "backend_class", "clear_backends",
           "get_backend"]
