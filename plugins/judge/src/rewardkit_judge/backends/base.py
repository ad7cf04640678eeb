"""The one interface every judge backend implements, and the per-process cache of backends.

A backend turns a list of chat conversations into ``n`` generated texts each. Two calls:

* :meth:`JudgeBackend.complete` returns one :class:`Completion` per conversation, with the error of
  that conversation alone (an HTTP request that failed after its retries) instead of raising;
* :meth:`JudgeBackend.generate` is the strict form: ``list[list[str]]``, raising
  :class:`JudgeBackendError` on the first failure.

``timeout`` (seconds for the whole call) is the deadline a backend works under: HTTP requests and
their retries stop at it, local generation stops producing tokens at it. Rewards pass their own
``timeout`` param, which should stay below the engine's per-call ``deadline``.
"""

from __future__ import annotations

import abc
import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

Messages = Sequence[Mapping[str, Any]]


class JudgeBackendError(RuntimeError):
    """A judge backend could not be built or could not answer."""


@dataclass(frozen=True)
class Completion:
    """The judge's answer to one conversation: ``n`` texts, or the error that prevented them.

    ``finish_reasons`` per text: ``"stop"`` (the model ended), ``"length"`` (max_new_tokens reached),
    ``"deadline"`` (cut at the call's timeout), or what the server said.
    """

    texts: list[str] = field(default_factory=list)
    finish_reasons: list[str | None] = field(default_factory=list)
    error: str | None = None
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


class JudgeBackend(abc.ABC):
    """A judge model behind one small interface; build them with :func:`get_backend` (cached)."""

    #: The name recipes use in ``backend:``.
    name: ClassVar[str] = ""

    def __init__(self, model: str, base_url: str | None = None, **options: Any) -> None:
        self.model = model
        self.base_url = base_url
        self.options = options

    @abc.abstractmethod
    def complete(self, conversations: Sequence[Messages], *, n: int = 1, temperature: float = 0.0,
                 max_new_tokens: int = 256, timeout: float | None = None) -> list[Completion]:
        """One :class:`Completion` per conversation (never raises for one conversation's failure)."""

    def generate(self, conversations: Sequence[Messages], *, n: int = 1, temperature: float = 0.0,
                 max_new_tokens: int = 256, timeout: float | None = None) -> list[list[str]]:
        """``n`` texts per conversation; raises :class:`JudgeBackendError` if any conversation failed."""
        outs = self.complete(conversations, n=n, temperature=temperature, max_new_tokens=max_new_tokens,
                             timeout=timeout)
        for i, out in enumerate(outs):
            if out.error is not None:
                raise JudgeBackendError(f"{self.name} judge failed on conversation {i}: {out.error}")
        return [out.texts for out in outs]

    def close(self) -> None:
        """Release what the backend holds (connections, the model)."""

    def __repr__(self) -> str:
        where = f", base_url={self.base_url!r}" if self.base_url else ""
        return f"{type(self).__name__}(model={self.model!r}{where})"


def check_generation(n: int, temperature: float, max_new_tokens: int) -> None:
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, not {temperature}")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be at least 1, not {max_new_tokens}")


def deadline_of(timeout: float | None) -> float | None:
    """A ``time.monotonic()`` deadline ``timeout`` seconds from now (None: no deadline)."""
    return None if timeout is None else time.monotonic() + timeout


def time_left(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()


# -- the per-process cache -------------------------------------------------------------------------
_BUILTIN = {
    "transformers": ("rewardkit_judge.backends.local", "TransformersBackend"),
    "vllm": ("rewardkit_judge.backends.vllm", "VLLMBackend"),
    "http": ("rewardkit_judge.backends.http", "HTTPBackend"),
}
_backends: dict[str, JudgeBackend] = {}
_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def backend_class(kind: str) -> type[JudgeBackend]:
    """The class of a built-in backend, or of one another plugin registered as a judge backend."""
    if kind in _BUILTIN:
        import importlib

        module, attr = _BUILTIN[kind]
        return getattr(importlib.import_module(module), attr)
    from rewardkit import UnknownNameError
    from rewardkit.plugins import get_registry

    try:
        return get_registry().judge_backend(kind)
    except UnknownNameError as exc:
        raise JudgeBackendError(f"{exc}; the built-in judge backends are {', '.join(_BUILTIN)}") from None


def _key(kind: str, model: str, base_url: str | None, options: Mapping[str, Any]) -> str:
    return json.dumps([kind, model, base_url, options], sort_keys=True, default=repr)


def get_backend(kind: str, model: str, base_url: str | None = None, **options: Any) -> JudgeBackend:
    """The backend ``kind`` (``"transformers"``, ``"vllm"``, ``"http"`` or a registered one) for
    ``model``, built once per process and shared by every thread (the model is loaded once)."""
    if not model:
        raise JudgeBackendError("the judge needs a model: a local folder or hub id for transformers/vllm, "
                                "or the served model's name for http")
    key = _key(kind, model, base_url, options)
    backend = _backends.get(key)
    if backend is not None:
        return backend
    with _guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:  # one build per key, even when many threads ask at once
        backend = _backends.get(key)
        if backend is None:
            backend = backend_class(kind)(model, base_url=base_url, **options)
            _backends[key] = backend
    return backend


def clear_backends() -> None:
    """Close and forget every cached backend (tests, or to free a model's memory)."""
    with _guard:
        backends = list(_backends.values())
        _backends.clear()
        _locks.clear()
    for backend in backends:
        backend.close()
