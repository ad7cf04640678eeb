"""The ``http`` backend: any OpenAI-compatible ``/v1/chat/completions`` server.

vLLM (``vllm serve``), SGLang, TGI, ``transformers serve``, or a hosted API. One request per judge
sample (``n`` is not sent: not every server supports it, and servers with prefix caching make the
repeats cheap), at most ``concurrency`` in flight per process, spread over a thread pool and one
pooled HTTP client.

Failures: connection errors, timeouts, HTTP 408/429/5xx are retried with exponential backoff (with
jitter, honouring ``Retry-After``); other HTTP errors are not. Every request's timeout is the smaller
of ``request_timeout`` and the time left before the call's deadline, and no retry is started that
could not finish before it: a dead server gives each conversation an error (None, not 0) within the
reward's ``timeout``.

The API key is read from the environment variable named by ``api_key_env`` (never written in a
recipe).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import random
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from .base import (
    Completion,
    JudgeBackend,
    JudgeBackendError,
    Messages,
    check_generation,
    deadline_of,
    time_left,
)

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def _httpx() -> Any:
    """httpx2 (what openai and huggingface_hub use now), else the original httpx: the same API."""
    try:
        import httpx2 as httpx
    except ImportError:  # pragma: no cover - environments with the original package only
        import httpx
    return httpx


class RequestFailed(Exception):
    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


def chat_url(base_url: str) -> str:
    """``.../v1/chat/completions`` from an OpenAI base URL (``http://host:port/v1``; a bare
    ``http://host:port`` gets ``/v1``)."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise JudgeBackendError(f"base_url {base_url!r} is not an http(s) URL; write e.g. http://127.0.0.1:8000/v1")
    url = base_url.rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    if not parts.path.strip("/"):
        url += "/v1"
    return url + "/chat/completions"


class HTTPBackend(JudgeBackend):
    """An OpenAI-compatible chat server as the judge.

    Options: ``api_key_env`` (name of the environment variable holding the key), ``concurrency``
    (requests in flight, per process), ``retries`` (after the first attempt), ``backoff`` (first retry
    delay, doubled each time, capped at ``max_backoff``), ``request_timeout`` (seconds per request),
    ``extra_body`` (more JSON fields for every request, e.g. ``{"top_p": 0.95}``).
    """

    name = "http"

    def __init__(self, model: str, base_url: str | None = None, *, api_key_env: str | None = None,
                 concurrency: int = 8, retries: int = 3, backoff: float = 0.5, max_backoff: float = 8.0,
                 request_timeout: float = 120.0, extra_body: Mapping[str, Any] | None = None) -> None:
        if not base_url:
            raise JudgeBackendError("backend: http needs base_url, the server's OpenAI URL, e.g. "
                                    "http://127.0.0.1:8000/v1 (vllm serve, sglang, tgi, transformers serve)")
        if concurrency < 1 or retries < 0 or backoff < 0 or request_timeout <= 0:
            raise JudgeBackendError("http judge options: concurrency >= 1, retries >= 0, backoff >= 0 and "
                                    "request_timeout > 0")
        super().__init__(model, base_url, concurrency=concurrency, retries=retries)
        self.url = chat_url(base_url)
        headers = {}
        if api_key_env:
            key = os.environ.get(api_key_env)
            if not key:
                raise JudgeBackendError(f"api_key_env names ${api_key_env}, which is not set; export it "
                                        "before starting (the key never goes in a recipe)")
            headers["Authorization"] = f"Bearer {key}"
        self.concurrency, self.retries = concurrency, retries
        self.backoff, self.max_backoff, self.request_timeout = backoff, max_backoff, request_timeout
        self.extra_body = dict(extra_body or {})
        httpx = _httpx()
        self._httpx = httpx
        self.client = httpx.Client(headers=headers, limits=httpx.Limits(
            max_connections=concurrency, max_keepalive_connections=concurrency))
        self._pool = cf.ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="judge-http")
        self._count_lock = threading.Lock()
        #: Counters: requests sent, retries, failed requests, requests in flight now and at most.
        self.counters = {"requests": 0, "retries": 0, "failures": 0, "in_flight": 0, "max_in_flight": 0}

    # -- one call --------------------------------------------------------------------------------
    def complete(self, conversations: Sequence[Messages], *, n: int = 1, temperature: float = 0.0,
                 max_new_tokens: int = 256, timeout: float | None = None) -> list[Completion]:
        check_generation(n, temperature, max_new_tokens)
        deadline = deadline_of(timeout)
        futures = [[self._pool.submit(self._request, [dict(m) for m in conv], temperature, max_new_tokens,
                                      deadline) for _ in range(n)] for conv in conversations]
        out = []
        for per_conv in futures:
            texts, reasons, errors = [], [], []
            for fut in per_conv:
                left = time_left(deadline)
                try:
                    # requests stop themselves at the deadline; the grace covers a slow last read
                    text, reason = fut.result(timeout=None if left is None else max(left, 0.0) + 5.0)
                except RequestFailed as exc:
                    errors.append(exc)
                except cf.TimeoutError:
                    errors.append(RequestFailed(f"no answer from {self.url} within the {timeout:g}s judge "
                                                "timeout", timed_out=True))
                else:
                    texts.append(text)
                    reasons.append(reason)
            if texts:  # some of the n samples answered: judge with those (the reward reports how many)
                out.append(Completion(texts=texts, finish_reasons=reasons))
            else:
                out.append(Completion(error=str(errors[0]), timed_out=errors[0].timed_out))
        return out

    # -- one request, with retries ----------------------------------------------------------------
    @contextlib.contextmanager
    def _in_flight(self) -> Iterator[None]:
        with self._count_lock:
            c = self.counters
            c["requests"] += 1
            c["in_flight"] += 1
            c["max_in_flight"] = max(c["max_in_flight"], c["in_flight"])
        try:
            yield
        finally:
            with self._count_lock:
                self.counters["in_flight"] -= 1

    def _request(self, messages: list[dict[str, Any]], temperature: float, max_tokens: int,
                 deadline: float | None) -> tuple[str, str | None]:
        body = {"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": temperature,
                **self.extra_body}
        httpx = self._httpx
        attempt = 0
        while True:
            left = time_left(deadline)
            if left is not None and left <= 0:
                raise self._failed("the judge timeout passed before the request could be sent (queued behind "
                                   f"{self.concurrency} requests in flight)", attempt, timed_out=True)
            per_request = self.request_timeout if left is None else min(self.request_timeout, left)
            retry_after = None
            with self._in_flight():
                try:
                    response = self.client.post(self.url, json=body, timeout=per_request)
                except httpx.TimeoutException as exc:
                    error, retryable = f"no answer within {per_request:.3g}s ({type(exc).__name__})", True
                except httpx.TransportError as exc:
                    error, retryable = (f"cannot reach the judge server ({type(exc).__name__}: {exc}); is it "
                                        "running, and is base_url right?"), True
                else:
                    if response.status_code == 200:
                        return self._content(response)
                    error = f"HTTP {response.status_code}: {response.text[:300]}"
                    retryable = response.status_code in RETRY_STATUS
                    retry_after = _seconds(response.headers.get("retry-after"))
            if not retryable or attempt >= self.retries:
                raise self._failed(error, attempt + 1)
            delay = min(self.max_backoff, self.backoff * 2 ** attempt) * random.uniform(0.5, 1.0)
            if retry_after is not None:
                delay = max(delay, min(retry_after, self.max_backoff))
            left = time_left(deadline)
            if left is not None and delay >= left:
                raise self._failed(f"{error}; no time left for another retry before the judge timeout",
                                   attempt + 1, timed_out=True)
            with self._count_lock:
                self.counters["retries"] += 1
            time.sleep(delay)
            attempt += 1

    def _failed(self, error: str, attempts: int, timed_out: bool = False) -> RequestFailed:
        with self._count_lock:
            self.counters["failures"] += 1
        return RequestFailed(f"{self.url}: {error} (attempts: {attempts})", timed_out=timed_out)

    def _content(self, response: Any) -> tuple[str, str | None]:
        try:
            choice = response.json()["choices"][0]
            return choice["message"].get("content") or "", choice.get("finish_reason")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise RequestFailed(f"{self.url} answered 200 without a chat completion: {response.text[:300]}") from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()


def _seconds(value: str | None) -> float | None:
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: use the backoff
