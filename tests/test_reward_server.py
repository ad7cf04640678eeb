"""`rewardkit serve` as a real subprocess on loopback: OpenRLHF's HTTP client, concurrent clients,
per-reward and per-request deadlines, health while a reward hangs, and bad requests."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

RECIPE = """\
name: server-test
scoring: {deadline: 30}
rewards:
  - {name: math.gsm8k, id: correct, domains: [math]}
  - {name: python, id: hang, weight: 0.0, deadline: 1, params: {function: "rk_server_rewards:hang"}}
  - {name: python, id: slow, weight: 0.0, params: {function: "rk_server_rewards:slow"}}
"""

REWARDS = """\
import time

def hang(sample):
    if "HANG" in sample.completion_text:
        time.sleep(120)  # past the reward's 1 s deadline: its score fails, the row goes on
    return 1.0

def slow(sample):
    if "SLOW" in sample.completion_text:
        time.sleep(4)  # inside the reward deadline (30 s), past the request deadline (2 s)
    return 1.0
"""

PROMPT = "<|im_start|>user\nNatalia sold 48 clips... How many?<|im_end|>\n<|im_start|>assistant\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url: str, body: bytes | None = None, method: str | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        text = exc.read()
        return exc.code, json.loads(text) if text.startswith(b"{") else {"text": text.decode()}


def post(base: str, payload) -> tuple[int, dict]:
    return request(base + "/get_reward", json.dumps(payload).encode())


def rows(answers: list[str], gold: str = "72") -> dict:
    return {"query": [PROMPT + f"#### {a}<|im_end|>" for a in answers], "prompts": [PROMPT] * len(answers),
            "labels": [gold] * len(answers)}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("server")
    (folder / "recipe.yaml").write_text(RECIPE)
    (folder / "rk_server_rewards.py").write_text(REWARDS)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rewardkit.cli", "serve", "recipe.yaml", "--port", str(port),
         "--domain", "math", "--request-timeout", "2"],
        cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        if proc.poll() is not None:
            pytest.fail(f"rewardkit serve exited: {proc.stdout.read()}")
        try:
            if request(base + "/health")[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("rewardkit serve did not answer /health within 60 s")
    yield base
    proc.terminate()
    proc.wait(timeout=20)


def wait_idle(base: str) -> dict:
    for _ in range(300):
        status, health = request(base + "/health")
        if status == 200 and health["scoring"] == 0 and health["queued"] == 0:
            return health
        time.sleep(0.05)
    pytest.fail(f"the server stayed busy: {health}")


def test_openrlhf_http_client_gets_rewards(server):
    from openrlhf.utils.agent import SingleTurnAgentExecutor

    executor = SingleTurnAgentExecutor(remote_rm_url=[server + "/get_reward"])  # OpenRLHF's own client
    payload = rows(["72", "70", "72"])
    fetch = executor._fetch_rewards_via_http(payload["query"], payload["prompts"], payload["labels"])
    [info] = asyncio.run(fetch)
    assert info["rewards"] == [1.0, 0.0, 1.0] and info["scores"] == info["rewards"]
    logs = info["extra_logs"]
    assert logs["correct"] == [1.0, 0.0, 1.0] and logs["rewardkit/scored"] == [1.0] * 3


def test_concurrent_clients_each_get_their_own_rows(server):
    def client(i: int) -> tuple[int, list[float], list[float]]:
        answers = [str(70 + (i + j) % 4) for j in range(5)]
        status, body = post(server, rows(answers))
        return status, body["rewards"], [float(a == "72") for a in answers]

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(client, range(32)))
    assert all(status == 200 and got == want for status, got, want in results)
    health = wait_idle(server)
    assert health["rows"] >= 32 * 5 and health["batches"] <= health["requests"]


def test_hanging_reward_hits_its_deadline_and_health_answers_meanwhile(server):
    wait_idle(server)
    answer: dict = {}
    thread = threading.Thread(target=lambda: answer.update(zip(("status", "body"), post(
        server, {**rows(["72", "72"]), "query": [PROMPT + "#### 72 HANG", PROMPT + "#### 72"]}))))
    thread.start()
    while thread.is_alive() and request(server + "/health")[1]["scoring"] == 0:
        time.sleep(0.02)
    status, health = request(server + "/health")  # the reward is hanging right now
    assert status == 200 and health["status"] == "ok"
    thread.join(timeout=60)
    assert answer["status"] == 200
    body = answer["body"]
    # the hanging reward failed on its row (a timeout, counted); the row's other rewards still scored it
    assert body["extra_logs"]["rewardkit/failed"] == [1.0, 0.0] and body["rewards"] == [1.0, 1.0]
    assert post(server, rows(["72"]))[1]["rewards"] == [1.0]  # and the server goes on


def test_request_past_its_deadline_gets_504_and_the_server_recovers(server):
    wait_idle(server)
    status, body = post(server, {**rows(["72"]), "query": [PROMPT + "#### 72 SLOW"]})
    assert status == 504 and "request deadline (2 s)" in body["error"]
    assert "--request-timeout" in body["error"]
    health = wait_idle(server)
    assert health["deadline_exceeded"] >= 1
    assert post(server, rows(["72", "1"]))[1]["rewards"] == [1.0, 0.0]


@pytest.mark.parametrize("body, message", [
    (b"not json", "the body is not JSON"),
    (b'["a"]', "must be a JSON object"),
    (b'{"query": "one string"}', "`query` must be a list of strings"),
    (b'{"query": ["a", "b"], "prompts": ["a"]}', "`prompts` must be a list with one item per query (2)"),
    (b'{"query": ["a"], "labels": "72"}', "`labels` must be a list with one item per query"),
    (b'{"query": ["a"], "prompts": [3]}', "`prompts` must be strings"),
])
def test_bad_requests_get_400_with_the_reason(server, body, message):
    status, answer = request(server + "/get_reward", body)
    assert status == 400 and message in answer["error"]


def test_rows_that_cannot_be_split_are_kept_and_flagged(server):
    status, body = post(server, {"query": [PROMPT + "#### 72", "garbled"], "prompts": [PROMPT, PROMPT],
                                 "labels": ["72", "72"]})
    assert status == 200 and body["rewards"] == [1.0, 0.0]
    assert body["errors"][0] is None and "does not contain its prompt" in body["errors"][1]
    assert body["extra_logs"]["rewardkit/scored"] == [1.0, 0.0]


def test_adapters_and_server_import_light():
    code = ("import sys, rewardkit.server, rewardkit.trl, rewardkit.adapters.verl, "
            "rewardkit.adapters.openrlhf;"
            "print(','.join(m for m in ('torch', 'transformers', 'trl', 'starlette', 'uvicorn', 'fastapi')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing the adapters pulled in {out.stdout.strip()}"


def test_serve_reports_a_bad_recipe(tmp_path, cli):
    (tmp_path / "bad.yaml").write_text("name: bad\nrewards: [{name: math.acuracy}]\n")
    out = cli("serve", str(tmp_path / "bad.yaml"), "--port", str(free_port()))
    assert out.returncode == 2 and "did you mean 'math.accuracy'" in out.stderr
    assert "Traceback" not in out.stderr
