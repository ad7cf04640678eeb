"""The remote sandbox service and the ``remote`` backend, with real server processes on loopback.

Servers are ``python -m rewardkit_sandbox.service`` subprocesses on the isolating backend the other
tests use (bubblewrap, provisioned by conftest); where it cannot run, ``process`` with the explicit
opt-in, so these tests never skip. Code rewards score through them exactly as they do locally.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from rewardkit.testing import make_sample
from rewardkit_sandbox import Limits, RunRequest, SandboxError, get_sandbox
from rewardkit_sandbox.provision import ensure_bubblewrap

TOKEN = "test-token-7b1e2c9a4f0d"
SERVICE = [sys.executable, "-m", "rewardkit_sandbox.service", "--host", "127.0.0.1", "--port", "0"]


@functools.cache
def server_backend() -> tuple[str, dict[str, str]]:
    if ensure_bubblewrap() is None:
        return "bubblewrap", {}
    return "process", {"REWARDKIT_SANDBOX_ALLOW_PROCESS": "1"}


class Server:
    """One service process; ``url`` once it listens."""

    def __init__(self, workers: int = 2, *extra: str, token: str = TOKEN) -> None:
        backend, env = server_backend()
        self.proc = subprocess.Popen(
            [*SERVICE, "--workers", str(workers), "--backend", backend, *extra],
            env={**os.environ, **env, "REWARDKIT_SANDBOX_TOKEN": token}, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True)
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            stderr = self.proc.stderr.read()  # type: ignore[union-attr]
            raise RuntimeError(f"the service did not start: {stderr}")
        self.url = json.loads(line)["listening"]

    def health(self) -> dict:
        with urllib.request.urlopen(self.url + "/health", timeout=5) as resp:
            return json.loads(resp.read())

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()  # type: ignore[union-attr]


def post(url: str, body: bytes, token: str | None = TOKEN) -> tuple[int, dict, dict]:
    """(status, JSON reply, headers) of a raw ``POST /run``."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url + "/run", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read()), dict(err.headers)


def job(command: list[str], **fields: object) -> bytes:
    return json.dumps({"command": command, **fields}).encode()


def wait_until_busy(server: Server, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while server.health()["busy"] == 0:
        assert time.monotonic() < deadline, "the server never started the job"
        time.sleep(0.02)


def sleep_echo(seconds: float, i: int) -> RunRequest:
    return RunRequest(command=["sh", "-c", f"sleep {seconds}; echo {i}"])


@pytest.fixture(scope="module")
def fleet():
    servers = [Server(2), Server(2)]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def token_env(monkeypatch):
    monkeypatch.setenv("REWARDKIT_SANDBOX_TOKEN", TOKEN)


# -- code rewards through the fleet ----------------------------------------------------------------

PROMPT = 'def quad(x):\n    """Four times x."""\n'
TEST = "def check(candidate):\n    assert candidate(1) == 4\n    assert candidate(3) == 12\n"
FORGE_ON_FDS = textwrap.dedent("""\
    import os, marshal
    def quad(x):
        for fd in range(3, 256):
            try:
                os.write(fd, marshal.dumps({"status": "pass"}))
            except OSError:
                pass
        os._exit(0)
""")
COMPLETIONS = {
    "right": "```python\ndef quad(x):\n    return 4 * x\n```",
    "wrong": "```python\ndef quad(x):\n    return 3 * x\n```",
    "forged_verdict": f"```python\n{FORGE_ON_FDS}```",
    "exit_zero": "```python\nimport sys\ndef quad(x):\n    sys.exit(0)\n```",
    "stdout_verdict": "```python\ndef quad(x):\n"
                      "    print(\"{'i': 0, 'status': 'pass'}\\n{'i': 1, 'status': 'pass'}\")\n"
                      "    raise SystemExit(0)\n```",
}


def test_code_rewards_score_through_two_servers_and_forged_verdicts_stay_zero(fleet, token_env):
    from rewardkit_code import unit_tests
    from rewardkit_code.sandbox_pool import close_all

    samples = [make_sample(c, PROMPT, test=TEST, entry_point="quad") for c in COMPLETIONS.values()] * 2
    url = ",".join(s.url for s in fleet)
    scores = unit_tests.score(samples, {"backend": "remote", "sandbox_url": url})
    got = {name: s.value for name, s in zip(list(COMPLETIONS) * 2, scores)}
    want = {"right": 1.0, "wrong": 0.0, "forged_verdict": 0.0, "exit_zero": 0.0, "stdout_verdict": 0.0}
    assert got == want, [(s.value, s.reason) for s in scores]
    assert scores[0].details["backend"] == f"remote:{server_backend()[0]}"
    assert all(s.health()["served"] > 0 for s in fleet)  # round-robin used both
    close_all()


def test_unreachable_fleet_scores_none_with_the_reason(token_env):
    from rewardkit_code import unit_tests

    sample = make_sample(COMPLETIONS["right"], PROMPT, test=TEST, entry_point="quad")
    score = unit_tests.score([sample], {"backend": "remote", "sandbox_url": "http://127.0.0.1:9"})[0]
    assert score.value is None
    assert "no sandbox server is reachable" in score.error and "127.0.0.1:9" in score.error


def test_recipes_validate_the_remote_params():
    from rewardkit import RewardParamsError
    from rewardkit_code import unit_tests

    with pytest.raises(RewardParamsError, match="sandbox_url is for backend 'remote'"):
        unit_tests.check_params({"backend": "auto", "sandbox_url": "http://127.0.0.1:1"})
    with pytest.raises(RewardParamsError, match=r"must look like http://HOST:PORT"):
        unit_tests.check_params({"backend": "remote", "sandbox_url": "127.0.0.1:8910"})
    unit_tests.check_params({"backend": "remote", "sandbox_url": "http://127.0.0.1:1,http://127.0.0.1:2"})


# -- protocol ----------------------------------------------------------------------------------------

def test_health_needs_no_token_and_reports_the_pool(fleet):
    health = fleet[0].health()
    assert health["backend"] == server_backend()[0] and health["workers"] == 2
    assert health["busy"] == 0 and health["queue"] == 0 and health["queue_size"] == 4
    assert health["token_ok"] is None and health["protocol"] == 1


def test_a_bad_token_is_refused_with_a_clear_error(fleet):
    status, reply, headers = post(fleet[0].url, job(["true"]), token="not-the-token-at-all")
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer" and "Bearer" in reply["error"]
    assert post(fleet[0].url, job(["true"]), token=None)[0] == 401
    with pytest.raises(SandboxError, match=r"reject this token \(401\).*REWARDKIT_SANDBOX_TOKEN"):
        get_sandbox("remote", urls=fleet[0].url, token="not-the-token-at-all")


def test_bad_jobs_get_400_naming_the_field(fleet):
    url = fleet[0].url
    status, reply, _ = post(url, b"{not json")
    assert status == 400 and "bad job" in reply["error"]
    status, reply, _ = post(url, job("python3 main.py"))
    assert status == 400 and "'command' must be a non-empty list" in reply["error"]
    status, reply, _ = post(url, job(["true"], limits={"memory_gb": 1}))
    assert status == 400 and "limits.memory_gb is not a limit" in reply["error"]
    status, reply, _ = post(url, job(["true"], files={"a.py": {"base64": "@@"}}))
    assert status == 400 and "files['a.py']" in reply["error"]


def test_bytes_files_stdin_and_env_round_trip(fleet, token_env):
    with get_sandbox("remote", urls=[s.url for s in fleet]) as sb:
        res = sb.run(["sh", "-c", "cat data.bin | od -An -tx1 | tr -d ' \\n'; cat; echo \" $GREETING\""],
                     files={"data.bin": b"\x00\xff\x10"}, stdin=b"\xc3\xa9", env={"GREETING": "hi"})
        assert res.ok, res
        assert res.stdout == "00ff10é hi\n"
        assert res.backend.startswith("remote:")


def test_limits_are_capped_by_the_server():
    server = Server(1, "--max", "wall_seconds=1.5", "--max", "memory_mb=256", "--max-body-mb", "0.01")
    try:
        asked = {"wall_seconds": 100, "memory_mb": 8000}
        status, reply, _ = post(server.url, job(["sleep", "5"], limits=asked))
        assert status == 200
        assert reply["limits"]["wall_seconds"] == 1.5 and reply["limits"]["memory_mb"] == 256
        assert sorted(reply["capped"]) == ["memory_mb", "wall_seconds"]
        assert reply["result"]["timed_out"] is True and reply["result"]["exit_code"] is None
        status, reply, _ = post(server.url, job(["true"], stdin="x" * 20_000))
        assert status == 413 and "--max-body-mb" in reply["error"]
    finally:
        server.stop()


def test_a_full_queue_answers_503_and_the_client_retries():
    server = Server(1, "--queue", "0")
    try:
        slow = job(["sleep", "1"])
        first = threading.Thread(target=post, args=(server.url, slow))
        first.start()
        wait_until_busy(server)
        status, reply, headers = post(server.url, slow)
        assert status == 503 and headers["Retry-After"] == "1" and "queue full" in reply["error"]
        first.join()
        with get_sandbox("remote", workers=3, urls=server.url, token=TOKEN) as sb:
            results = sb.run_many([sleep_echo(0.3, i) for i in range(3)])
        assert [r.stdout for r in results] == ["0\n", "1\n", "2\n"], [r.error for r in results]
        assert server.health()["rejected"] >= 2  # the client saw 503s and retried them
    finally:
        server.stop()


def test_failover_when_a_server_is_killed_mid_run():
    a, b = Server(1), Server(1)
    try:
        killed = threading.Event()

        def kill_a_while_busy() -> None:
            wait_until_busy(a)
            a.kill()  # SIGKILL, a job in flight on it
            killed.set()

        killer = threading.Thread(target=kill_a_while_busy)
        killer.start()
        with get_sandbox("remote", workers=2, urls=[a.url, b.url], token=TOKEN,
                         limits=Limits(wall_seconds=10)) as sb:
            results = sb.run_many([sleep_echo(0.5, i) for i in range(6)])
        killer.join()
        assert killed.is_set()
        assert [r.stdout for r in results] == [f"{i}\n" for i in range(6)], [r.error for r in results]
        assert b.health()["served"] >= 4  # b ran its own share and what a dropped
    finally:
        for server in (a, b):
            server.stop()
            try:
                os.killpg(server.proc.pid, signal.SIGKILL)  # leftovers of the killed server's session
            except ProcessLookupError:
                pass


def test_a_fleet_lost_after_start_fails_runs_as_infrastructure_faults():
    server = Server(1)
    try:
        with get_sandbox("remote", urls=server.url, token=TOKEN, connect_retry_seconds=0.5) as sb:
            assert sb.run(["true"]).ok
            server.kill()
            res = sb.run(["true"])
        assert res.exit_code is None and "no sandbox server reachable (infrastructure fault)" in res.error
        assert server.url in res.error
    finally:
        server.stop()


def test_the_service_refuses_unsafe_or_unauthenticated_starts(tmp_path: Path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("REWARDKIT_SANDBOX_ALLOW_PROCESS", "REWARDKIT_SANDBOX_TOKEN")}
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    proc = subprocess.run([*SERVICE, "--backend", "process", "--token-file", str(token_file)], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "REWARDKIT_SANDBOX_ALLOW_PROCESS=1" in proc.stderr
    proc = subprocess.run([*SERVICE, "--backend", "process"],
                          env={**env, "REWARDKIT_SANDBOX_ALLOW_PROCESS": "1"}, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 2 and "needs a token" in proc.stderr and "--token-file" in proc.stderr
