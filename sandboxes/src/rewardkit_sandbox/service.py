"""The remote sandbox service: a pool of sandbox workers behind HTTP, shared by several trainers.

    REWARDKIT_SANDBOX_TOKEN=... python -m rewardkit_sandbox.service --host 0.0.0.0 --port 8910 \\
        --workers 8 --backend bubblewrap [--token-file F] [--queue 16] [--max memory_mb=2048 ...]

``GET /health`` (no auth) reports the backend and load; ``POST /run`` (``Authorization: Bearer
TOKEN``) runs one job in the local sandbox backend and returns its :class:`RunResult`. The protocol
is in the README; the client is the ``remote`` backend (:mod:`rewardkit_sandbox.remote`). Stdlib
only (``http.server``): no web framework to install on a worker machine.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .base import Sandbox, SandboxError
from .factory import ALLOW_PROCESS_ENV, get_sandbox, resolve_backend
from .protocol import LIMIT_FIELDS, PROTOCOL_VERSION, cap_limits, job_from_json, limit_value, result_to_json
from .types import Limits

TOKEN_ENV = "REWARDKIT_SANDBOX_TOKEN"
#: The most a job may ask for unless the operator raises it with ``--max NAME=VALUE``.
DEFAULT_MAX = Limits(cpu_seconds=120, wall_seconds=600, memory_mb=4096, file_size_mb=256, open_files=1024,
                     processes=256, output_bytes=64_000_000, disk_mb=2048, cpus=1.0)
#: Backends that do not hide the host's files: refused unless the same opt-in as ``auto`` locally.
UNISOLATED = ("process", "forkserver")


class Service:
    """The state behind the HTTP handler: the sandbox, the token, admission control and counters."""

    def __init__(self, sandbox: Sandbox, token: str, queue_size: int, max_limits: Limits,
                 max_body_bytes: int, default_limits: Limits | None = None) -> None:
        self.sandbox = sandbox
        self._token = token.encode()
        self.queue_size = queue_size
        self.max_limits = max_limits
        self.default_limits, _ = cap_limits({}, default_limits or Limits(), max_limits)
        self.max_body_bytes = max_body_bytes
        self._lock = threading.Lock()
        self._admitted = 0  # running + waiting
        self._running = 0
        self._free = threading.Semaphore(sandbox.workers)
        self.served = 0
        self.rejected = 0  # 503s: a client saw a full queue

    def token_ok(self, header: str | None) -> bool:
        scheme, _, given = (header or "").partition(" ")
        # compare_digest: the time taken does not reveal how much of the token was right
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self._token)

    def health(self, authorization: str | None) -> dict[str, Any]:
        with self._lock:
            busy, waiting = self._running, self._admitted - self._running
        return {
            "status": "ok", "protocol": PROTOCOL_VERSION, "backend": self.sandbox.name,
            "workers": self.sandbox.workers, "busy": busy, "queue": waiting, "queue_size": self.queue_size,
            "served": self.served, "rejected": self.rejected,
            "aggregate_limits": self.sandbox.aggregate_limits,
            "max_limits": {n: getattr(self.max_limits, n) for n in LIMIT_FIELDS},
            "default_limits": {n: getattr(self.default_limits, n) for n in LIMIT_FIELDS},
            "max_body_bytes": self.max_body_bytes,
            # lets a client check its token before sending work; None when it sent none
            "token_ok": None if authorization is None else self.token_ok(authorization),
        }

    def run(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON reply) for one ``POST /run`` body."""
        try:
            request, asked, queue_seconds = job_from_json(json.loads(body))
        except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            return 400, {"error": f"bad job: {exc}"}
        limits, capped = cap_limits(asked, self.default_limits, self.max_limits)
        with self._lock:
            if self._admitted >= self.sandbox.workers + self.queue_size:
                self.rejected += 1
                return 503, {"error": f"queue full ({self.sandbox.workers} workers busy, {self.queue_size} "
                                      f"jobs waiting); retry later or on another server"}
            self._admitted += 1
        try:
            queued = time.monotonic()
            if not self._free.acquire(timeout=queue_seconds):
                with self._lock:
                    self.rejected += 1
                return 503, {"error": f"no worker became free within queue_seconds={queue_seconds}"}
            waited = time.monotonic() - queued
            with self._lock:
                self._running += 1
            try:
                result = self.sandbox.run_request(
                    type(request)(command=request.command, files=request.files, stdin=request.stdin,
                                  env=request.env, limits=limits))
            except Exception as exc:  # noqa: BLE001 - the worker's fault, not the job's: the client moves on
                return 500, {"error": f"the sandbox failed: {type(exc).__name__}: {exc}"}
            finally:
                with self._lock:
                    self._running -= 1
                    self.served += 1
                self._free.release()
        finally:
            with self._lock:
                self._admitted -= 1
        applied = {n: getattr(limits, n) for n in LIMIT_FIELDS}
        return 200, {"result": result_to_json(result), "limits": applied, "capped": capped,
                     "queued_seconds": round(waited, 4)}


class Handler(BaseHTTPRequestHandler):
    """One HTTP/1.1 connection (keep-alive), served on its own thread."""

    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms per job
    disable_nagle_algorithm = True
    server_version = "rewardkit-sandbox"
    #: seconds a connection may sit idle or trickle its body before it is closed
    timeout = 60
    service: Service  # set on a subclass by make_server
    verbose = False

    def do_GET(self) -> None:
        if self.path.split("?")[0] != "/health":
            self._reply(404, {"error": f"no such endpoint {self.path!r}: GET /health, POST /run"})
            return
        self._reply(200, self.service.health(self.headers.get("Authorization")))

    def do_POST(self) -> None:
        if self.path != "/run":
            self._discard_body()
            self._reply(404, {"error": f"no such endpoint {self.path!r}: GET /health, POST /run"})
            return
        if not self.service.token_ok(self.headers.get("Authorization")):
            self._discard_body()
            self._reply(401, {"error": "missing or wrong token: send 'Authorization: Bearer <token>' with "
                                       f"the server's token ({TOKEN_ENV} or its --token-file)"},
                        {"WWW-Authenticate": "Bearer"})
            return
        length = self._length()
        if length is None:
            return
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            return
        status, reply = self.service.run(body)
        self._reply(status, reply, {"Retry-After": "1"} if status == 503 else None)

    def _length(self) -> int | None:
        raw = self.headers.get("Content-Length")
        if raw is None or not raw.isdigit():
            self.close_connection = True
            self._reply(411, {"error": "a Content-Length header is required"})
            return None
        length = int(raw)
        if length > self.service.max_body_bytes:
            self.close_connection = True  # the body is not read: the connection cannot be reused
            self._reply(413, {"error": f"job of {length} bytes is over the server's limit of "
                                       f"{self.service.max_body_bytes} (--max-body-mb)"})
            return None
        return length

    def _discard_body(self) -> None:
        raw = self.headers.get("Content-Length", "0")
        length = int(raw) if raw.isdigit() else 0
        if length > self.service.max_body_bytes:
            self.close_connection = True
            return
        while length > 0:  # read it so the client sees our reply rather than a reset connection
            chunk = self.rfile.read(min(length, 1 << 20))
            if not chunk:
                break
            length -= len(chunk)

    def _reply(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        if self.verbose:
            super().log_message(format, *args)


def make_server(service: Service, host: str, port: int, verbose: bool = False) -> ThreadingHTTPServer:
    """An HTTP server (not yet serving) for ``service``; ``port=0`` picks a free port."""
    handler = type("BoundHandler", (Handler,), {"service": service, "verbose": verbose})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def read_token(token_file: str | None) -> str:
    """The token from ``token_file`` or ``$REWARDKIT_SANDBOX_TOKEN``; raises SandboxError when neither."""
    if token_file:
        try:
            with open(token_file, encoding="utf-8") as fh:
                token = fh.read().strip()
        except OSError as exc:
            raise SandboxError(f"cannot read --token-file {token_file}: {exc}") from None
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
    if len(token) < 16:
        raise SandboxError(
            f"the service needs a token of at least 16 characters in --token-file or ${TOKEN_ENV}; make one "
            f"with `python -c 'import secrets; print(secrets.token_hex(32))' > token && chmod 600 token`")
    return token


def check_backend(backend: str) -> str:
    """The concrete local backend the service may run; refuses unisolated ones without the opt-in."""
    name = resolve_backend(backend)
    if name == "remote":
        raise SandboxError("the service runs jobs locally: choose bubblewrap, docker or auto, not remote")
    if name in UNISOLATED and os.environ.get(ALLOW_PROCESS_ENV) != "1":
        raise SandboxError(
            f"backend {name!r} does not hide the host's files from untrusted code; use bubblewrap or docker "
            f"(`python -m rewardkit_sandbox.provision`), or set {ALLOW_PROCESS_ENV}=1 for trusted code only")
    return name


def _parse_max(pairs: list[str]) -> Limits:
    changes: dict[str, float] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in LIMIT_FIELDS:
            raise SystemExit(f"--max {pair!r}: {name!r} is not a limit; choose from {list(LIMIT_FIELDS)}")
        try:
            changes[name] = limit_value(name, float(value))
        except ValueError:
            raise SystemExit(f"--max {pair!r}: {value!r} is not a number") from None
    return DEFAULT_MAX.with_(**changes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rewardkit_sandbox.service",
                                     description="Serve a pool of sandbox workers over HTTP.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8910, help="0 picks a free port (printed on start)")
    parser.add_argument("--workers", type=int, default=max(1, os.cpu_count() or 1))
    parser.add_argument("--backend", default="auto",
                        help="bubblewrap, docker or auto (process: see the opt-in)")
    parser.add_argument("--token-file", help=f"file holding the token (else ${TOKEN_ENV})")
    parser.add_argument("--queue", type=int, default=None,
                        help="jobs that may wait for a worker (default 2x workers)")
    parser.add_argument("--max", action="append", default=[], metavar="NAME=VALUE",
                        help="a per-job ceiling, e.g. --max memory_mb=2048 --max wall_seconds=120")
    parser.add_argument("--max-body-mb", type=float, default=64.0,
                        help="largest job accepted (files + stdin)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    try:
        token = read_token(args.token_file)
        backend = check_backend(args.backend)
        max_limits = _parse_max(args.max)
        sandbox = get_sandbox(backend, workers=args.workers, limits=max_limits)
    except (SandboxError, ValueError) as exc:
        print(f"rewardkit-sandbox service: {exc}", file=sys.stderr)
        return 2
    queue = 2 * args.workers if args.queue is None else args.queue
    service = Service(sandbox, token, queue, max_limits, int(args.max_body_mb * 1024 * 1024))
    server = make_server(service, args.host, args.port, args.verbose)

    def stop(*_: object) -> None:  # shutdown() waits for serve_forever: call it from another thread
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    print(json.dumps({"listening": f"http://{host}:{port}", "backend": backend, "workers": args.workers,
                      "queue_size": queue}), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        sandbox.close()
    return 0


if __name__ == "__main__":  # pragma: no cover - CLI
    sys.exit(main())
