"""Fixtures of the judge tests: the real instruct model, a tiny random model, and a real
OpenAI-compatible server (`transformers serve`) on loopback."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def smollm2() -> str:
    """SmolLM2-135M-Instruct as a local transformers folder (the real judge of these tests)."""
    from rewardkit.testing import real_instruct_model

    return str(real_instruct_model())


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny random-init causal LM with a ChatML template: plumbing only (its verdicts are noise)."""
    from rewardkit.testing import build_tiny_model

    return str(build_tiny_model(tmp_path_factory.mktemp("judge-models") / "tiny"))


def start_server(model: str, log: Path, port: int | None = None, wait: float = 180.0) -> tuple[subprocess.Popen, str]:
    """Start `transformers serve MODEL` on 127.0.0.1 and wait for /health; returns (process, base_url)."""
    import httpx2 as httpx

    exe = Path(sys.executable).with_name("transformers")
    cmd = [str(exe) if exe.exists() else shutil.which("transformers") or "transformers", "serve", model,
           "--host", "127.0.0.1", "--port", str(port or free_port()), "--device", "cpu"]
    port_ = cmd[cmd.index("--port") + 1]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    with log.open("w") as out:  # the server keeps its own copy of the descriptor
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port_}"
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if httpx.get(base + "/health", timeout=1.0).status_code == 200:
                return proc, base + "/v1"
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    stop_server(proc)
    raise RuntimeError(f"`{' '.join(cmd)}` did not become healthy in {wait:g}s; its log:\n{log.read_text()[-3000:]}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: the server and any child it started
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="session")
def judge_server(smollm2: str, tmp_path_factory: pytest.TempPathFactory):
    """A real `transformers serve` process serving SmolLM2 on a free loopback port: yields its
    OpenAI base URL (``http://127.0.0.1:PORT/v1``); the process is stopped at the end of the session."""
    proc, base_url = start_server(smollm2, tmp_path_factory.mktemp("serve") / "serve.log")
    yield base_url
    stop_server(proc)
    assert proc.poll() is not None


@pytest.fixture(autouse=True)
def _fresh_stats():
    from rewardkit_judge import reset_stats

    reset_stats()
    yield
