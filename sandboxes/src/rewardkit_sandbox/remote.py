"""The ``remote`` backend: runs go to a fleet of sandbox services over HTTP (see :mod:`.service`).

    REWARDKIT_SANDBOX_URL=http://w1:8910,http://w2:8910 REWARDKIT_SANDBOX_TOKEN=... \\
        get_sandbox("remote")          # or get_sandbox("remote", urls=[...], token=...)

Jobs are spread round-robin over the fleet; a server that refuses connections, drops one mid-run
or answers 503 (queue full) is skipped for the next one, so a job is lost only when no server runs
it in time: the run then fails with ``RunResult.error`` set (an infrastructure fault, never a
verdict on the program). Nothing runs on the caller's machine.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from .base import Sandbox, SandboxError
from .protocol import job_to_json, result_from_json
from .slots import Slot
from .types import Limits, RunRequest, RunResult

URL_ENV = "REWARDKIT_SANDBOX_URL"
TOKEN_ENV = "REWARDKIT_SANDBOX_TOKEN"
TOKEN_FILE_ENV = "REWARDKIT_SANDBOX_TOKEN_FILE"
#: Errors meaning "this server did not answer": try the next one.
_CONNECTION_ERRORS = (OSError, http.client.HTTPException)


def parse_urls(urls: str | Sequence[str] | None) -> list[str]:
    """``"http://a:1,http://b:2"`` or a list -> checked base URLs; None reads ``$REWARDKIT_SANDBOX_URL``."""
    if urls is None:
        urls = os.environ.get(URL_ENV, "")
    items = urls.replace(" ", ",").split(",") if isinstance(urls, str) else list(urls)
    out = []
    for url in (u.strip().rstrip("/") for u in items):
        if not url:
            continue
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            raise SandboxError(f"sandbox URL {url!r} must look like http://HOST:PORT (the service's base "
                               f"URL)")
        out.append(url)
    if not out:
        raise SandboxError(f"the remote backend needs the fleet's URLs: set {URL_ENV}=http://HOST:PORT[,...] "
                           f"or pass urls=")
    return out


def read_client_token(token: str | None) -> str:
    if token:
        return token
    if os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV].strip()
    if os.environ.get(TOKEN_FILE_ENV):
        with open(os.environ[TOKEN_FILE_ENV], encoding="utf-8") as fh:
            return fh.read().strip()
    raise SandboxError(f"the remote backend needs the service's token: set {TOKEN_ENV} (or "
                       f"{TOKEN_FILE_ENV}, a file holding it) or pass token=")


class RemoteSandbox(Sandbox):
    """A :class:`Sandbox` whose runs execute on sandbox services (``python -m rewardkit_sandbox.service``).

    ``workers``: jobs in flight at once from this client (0: the fleet's total workers, read from
    ``/health``). ``timeout_margin``: seconds on top of a job's ``wall_seconds`` to wait for its
    reply (half of it may be spent queued on a server). ``connect_retry_seconds``: how long a job
    keeps retrying while no server answers; ``busy_retry_seconds``: while servers answer 503.
    """

    name = "remote"

    def __init__(self, workers: int = 0, limits: Limits | None = None,
                 urls: str | Sequence[str] | None = None, token: str | None = None,
                 timeout_margin: float = 60.0, connect_retry_seconds: float = 10.0,
                 busy_retry_seconds: float = 300.0) -> None:
        # no slots or uids here: the servers own them, so Sandbox.__init__ is not called
        self.urls = parse_urls(urls)
        self._token = read_client_token(token)
        self.limits = limits or Limits()
        self.timeout_margin = timeout_margin
        self.connect_retry_seconds = connect_retry_seconds
        self.busy_retry_seconds = busy_retry_seconds
        self._owner_pid = os.getpid()
        self._closed = False
        self._pool = None
        self._pool_lock = threading.Lock()
        self._all_slots: list[Slot] = []
        self._next = itertools.count()
        self._down: dict[str, float] = {}  # url -> monotonic time until which it is skipped
        self._local = threading.local()
        self._conns: weakref.WeakSet[http.client.HTTPConnection] = weakref.WeakSet()
        self._conns_lock = threading.Lock()
        self.fleet = self.health()
        reachable = {u: h for u, h in self.fleet.items() if "error" not in h}
        if not reachable:
            raise SandboxError("no sandbox server is reachable: " +
                               "; ".join(f"{u}: {h['error']}" for u, h in self.fleet.items()))
        refused = [u for u, h in reachable.items() if h.get("token_ok") is False]
        if refused:
            raise SandboxError(f"sandbox server(s) {refused} reject this token (401): set {TOKEN_ENV} to the "
                               f"token the service was started with")
        self.workers = workers or max(1, sum(int(h.get("workers", 1)) for h in reachable.values()))
        if self.workers < 1:
            raise ValueError(f"workers must be >= 0, got {workers}")

    @classmethod
    def unavailable_reason(cls) -> str | None:
        if not os.environ.get(URL_ENV):
            return f"no fleet configured: set {URL_ENV}=http://HOST:PORT[,...] (or pass urls=)"
        return None

    @property
    def aggregate_limits(self) -> bool:
        return all(h.get("aggregate_limits") for h in self.fleet.values() if "error" not in h)

    def health(self) -> dict[str, dict[str, Any]]:
        """Each server's ``GET /health`` reply (``{"error": ...}`` when unreachable)."""
        out: dict[str, dict[str, Any]] = {}
        for url in self.urls:
            try:
                status, reply = self._request(url, "GET", "/health", None, 5.0)
                out[url] = reply if status == 200 else {"error": f"HTTP {status}: {reply.get('error')}"}
            except _CONNECTION_ERRORS as exc:
                out[url] = {"error": f"{type(exc).__name__}: {exc}"}
        return out

    def _execute(self, slot: Slot, workdir: Any, request: RunRequest, limits: Limits) -> RunResult:
        raise SandboxError("the remote backend has no local slots")  # runs go through run_request

    def run_request(self, request: RunRequest) -> RunResult:
        if self._closed:
            raise SandboxError("the remote sandbox is closed; create a new one with get_sandbox()")
        limits = request.limits or self.limits
        body = json.dumps(job_to_json(request, limits, self.timeout_margin / 2)).encode()
        timeout = limits.wall_seconds + self.timeout_margin
        started = last_answer = time.monotonic()
        errors: dict[str, str] = {}
        while True:
            retry_after = 0.2
            for url in self._order():
                try:
                    status, reply = self._request(url, "POST", "/run", body, timeout)
                except _CONNECTION_ERRORS as exc:
                    self._down[url] = time.monotonic() + 2.0
                    errors[url] = f"{type(exc).__name__}: {exc}"
                    continue
                last_answer = time.monotonic()
                self._down.pop(url, None)
                if status == 200:
                    try:
                        result = result_from_json(reply.get("result"))
                    except (TypeError, ValueError) as exc:
                        return RunResult.failure(self.name, f"{url} sent a malformed result: {exc}")
                    return replace(result, backend=f"remote:{result.backend}")
                message = str(reply.get("error", reply))
                if status == 401:
                    return RunResult.failure(self.name, f"{url} rejected the token (401): {message}")
                if status in (400, 411, 413):  # the job itself is unacceptable: no server will take it
                    return RunResult.failure(self.name, f"{url} refused the job (HTTP {status}): {message}")
                errors[url] = f"HTTP {status}: {message}"
                if status == 503:
                    retry_after = max(retry_after, float(reply.get("_retry_after", 1.0)))
            now = time.monotonic()
            if now - last_answer > self.connect_retry_seconds:
                return RunResult.failure(self.name, "no sandbox server reachable (infrastructure fault): "
                                         + "; ".join(f"{u}: {e}" for u, e in errors.items()), now - started)
            if now - started > self.busy_retry_seconds:
                return RunResult.failure(self.name, f"no sandbox server took the job within "
                                         f"{self.busy_retry_seconds:.0f}s: "
                                         + "; ".join(f"{u}: {e}" for u, e in errors.items()), now - started)
            time.sleep(min(retry_after, 5.0))

    def _order(self) -> list[str]:
        """Every URL once, starting at the next in turn; servers that just failed go last."""
        start = next(self._next) % len(self.urls)
        ring = self.urls[start:] + self.urls[:start]
        now = time.monotonic()
        up = [u for u in ring if self._down.get(u, 0) <= now]
        return up + [u for u in ring if u not in up]

    def _request(self, url: str, method: str, path: str, body: bytes | None,
                 timeout: float) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self._token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            conn, reused = self._connection(url)
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except _CONNECTION_ERRORS:
                self._drop(url)
                if reused and attempt == 0:
                    continue  # a kept-alive connection the server closed meanwhile: one fresh try
                raise
            if response.getheader("Connection", "").lower() == "close":
                self._drop(url)
            try:
                reply = json.loads(data) if data else {}
            except ValueError:
                reply = {"error": data[:200].decode(errors="replace")}
            if response.status == 503:
                reply["_retry_after"] = _seconds(response.getheader("Retry-After"))
            return response.status, reply
        raise AssertionError("unreachable")

    def _connection(self, url: str) -> tuple[http.client.HTTPConnection, bool]:
        conns = self._thread_connections()
        if url in conns:
            return conns[url], True
        parts = urlsplit(url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(parts.hostname, parts.port)
        conns[url] = conn
        with self._conns_lock:
            self._conns.add(conn)
        return conn, False

    def _thread_connections(self) -> dict[str, http.client.HTTPConnection]:
        """This thread's open connections, by URL; a forked child starts without its parent's."""
        if getattr(self._local, "pid", None) != os.getpid():
            self._local.pid, self._local.conns = os.getpid(), {}
        return self._local.conns

    def _drop(self, url: str) -> None:
        conn = self._thread_connections().pop(url, None)
        if conn is not None:
            conn.close()

    def _stop(self) -> None:
        with self._conns_lock:
            for conn in list(self._conns):
                conn.close()

    def __repr__(self) -> str:
        return f"<RemoteSandbox urls={self.urls} workers={self.workers}>"


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else 1.0
    except ValueError:
        return 1.0
