"""The http backend against a real OpenAI-compatible server: `transformers serve` serving
SmolLM2-135M-Instruct on loopback (started by the session fixture `judge_server`, stopped at the end).

Failure paths: a closed port (nothing listening), a model the server does not serve (its real HTTP
400), and, for 429/503/slow answers, a small fault-injecting proxy in front of the real server (it
answers the first requests with an error, then forwards to the server).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from rewardkit.testing import make_sample
from rewardkit_judge import clear_backends, get_backend, pointwise, stats

QUESTION = ("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
            "How many clips did Natalia sell altogether in April and May?")
ROWS = [make_sample("In May she sold 48 / 2 = 24 clips, so 48 + 24 = 72. The answer is 72.", QUESTION, answer="72"),
        make_sample("She sold 48 + 48 = 96 clips. The answer is 96.", QUESTION, answer="72")]
CONV = [{"role": "user", "content": "What is 2 + 3? Answer with one number."}]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _fresh_backends():
    clear_backends()
    yield
    clear_backends()


def test_pointwise_over_http_through_the_engine(judge_server: str, smollm2: str) -> None:
    """judge.pointwise with backend http, scored by the engine; the server's greedy verdicts are the
    ones the same model writes in-process."""
    from rewardkit import RewardSpec, ScoringEngine

    params = {"backend": "http", "model": smollm2, "base_url": judge_server, "template": "pointwise_fewshot",
              "max_new_tokens": 40, "concurrency": 2, "timeout": 60}
    with ScoringEngine([RewardSpec("judge.pointwise", params=params)], deadline=90) as engine:
        scored = [s.scores["judge.pointwise"] for s in engine.score(ROWS)]
    local = pointwise(ROWS, **{**params, "backend": "transformers", "base_url": None,
                               "options": {"device": "cpu", "batch_size": 1}})
    print("http verdicts:", [(s.value, s.details.get("verdicts"), s.error) for s in scored])
    for over_http, in_process in zip(scored, local):
        assert over_http.details["backend"] == "http" and over_http.details["judged"] == 1
        assert over_http.details["judge_tail"] == in_process.details["judge_tail"]
        assert over_http.value == in_process.value
        assert over_http.value is not None or "no 1-10 score" in over_http.error
    assert stats()["pointwise"]["judged"] == 4


def test_concurrency_is_bounded(judge_server: str, smollm2: str) -> None:
    backend = get_backend("http", smollm2, base_url=judge_server, concurrency=2)
    outs = backend.complete([CONV] * 5, max_new_tokens=6, timeout=60)
    assert all(o.ok and o.texts[0] for o in outs)
    assert len({o.texts[0] for o in outs}) == 1  # greedy: the same answer each time
    assert backend.counters["requests"] == 5
    assert backend.counters["max_in_flight"] == 2  # five requests at once, never more than two in flight
    assert backend.counters["in_flight"] == 0


def test_judge_samples_are_separate_requests(judge_server: str, smollm2: str) -> None:
    backend = get_backend("http", smollm2, base_url=judge_server, concurrency=3)
    [out] = backend.complete([CONV], n=3, temperature=1.0, max_new_tokens=6, timeout=60)
    assert out.ok and len(out.texts) == 3 and backend.counters["requests"] == 3


def test_client_error_is_not_retried(judge_server: str) -> None:
    """The server serves one model; asking for another is a real HTTP 400, reported at once."""
    backend = get_backend("http", "some-other-model", base_url=judge_server, retries=3)
    [out] = backend.complete([CONV], max_new_tokens=4, timeout=30)
    assert not out.ok and "HTTP 400" in out.error and "attempts: 1" in out.error
    assert backend.counters["retries"] == 0


def test_dead_server_fails_within_the_timeout() -> None:
    """Nothing listens on the port: connection errors are retried with backoff until the reward's
    timeout, then the sample is None (not 0) with the reason."""
    base_url = f"http://127.0.0.1:{free_port()}/v1"
    started = time.monotonic()
    [score] = pointwise(ROWS[:1], backend="http", model="judge", base_url=base_url, timeout=2.0, retries=20,
                        options={"backoff": 0.1})
    elapsed = time.monotonic() - started
    assert score.value is None and score.timed_out
    assert "cannot reach the judge server" in score.error and "no time left for another retry" in score.error
    assert elapsed < 2.0 + 1.0  # the deadline holds (plus scheduling slack), retries included
    backend = get_backend("http", "judge", base_url=base_url, concurrency=8, retries=20, api_key_env=None,
                          backoff=0.1)
    assert backend.counters["retries"] >= 2 and backend.counters["failures"] == 1
    assert stats()["pointwise"]["failed"] == 1


class FaultProxy:
    """Answers the first requests with the queued faults ``(status, headers, delay)``, then forwards
    to ``upstream`` (the real server)."""

    def __init__(self, upstream: str, faults: list[tuple[int, dict[str, str], float]]) -> None:
        import httpx2

        self.faults, self.seen = list(faults), 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                proxy.seen += 1
                if proxy.faults:
                    status, headers, delay = proxy.faults.pop(0)
                    time.sleep(delay)
                    payload, ctype = json.dumps({"error": "injected"}).encode(), "application/json"
                else:
                    r = httpx2.post(upstream + self.path.removeprefix("/v1"), content=body,
                                    headers={"content-type": "application/json"}, timeout=60)
                    status, headers, payload, ctype = r.status_code, {}, r.content, r.headers["content-type"]
                self.send_response(status)
                for k, v in {**headers, "content-type": ctype, "content-length": str(len(payload))}.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_429_and_503_are_retried_then_answered(judge_server: str, smollm2: str) -> None:
    proxy = FaultProxy(judge_server, [(503, {}, 0.0), (429, {"Retry-After": "0.2"}, 0.0)])
    try:
        backend = get_backend("http", smollm2, base_url=proxy.url, backoff=0.05)
        [out] = backend.complete([CONV], max_new_tokens=6, timeout=60)
    finally:
        proxy.close()
    direct = get_backend("http", smollm2, base_url=judge_server).generate([CONV], max_new_tokens=6)
    assert out.ok and out.texts == direct[0]
    assert proxy.seen == 3 and backend.counters["retries"] == 2


def test_slow_answer_times_out_within_the_deadline(judge_server: str, smollm2: str) -> None:
    proxy = FaultProxy(judge_server, [(503, {}, 3.0)])
    try:
        backend = get_backend("http", smollm2, base_url=proxy.url, retries=5)
        started = time.monotonic()
        [out] = backend.complete([CONV], max_new_tokens=6, timeout=0.8)
        elapsed = time.monotonic() - started
    finally:
        proxy.close()
    assert not out.ok and out.timed_out and "no answer within" in out.error
    assert elapsed < 0.8 + 1.0
    assert proxy.seen == 1  # no retry was started that could not finish in time
