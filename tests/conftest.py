"""Shared fixtures for core tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rewardkit.testing import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def sandbox_ready() -> None:
    """bubblewrap installed (as on a fresh CI machine, where tests/ runs before the sandbox tests):
    recipes with ``code.*`` rewards need an isolating backend to validate."""
    from rewardkit_sandbox.provision import ensure_bubblewrap

    problem = ensure_bubblewrap()
    assert problem is None, problem


@pytest.fixture(scope="session")
def demo_plugin_installed() -> str:
    """pip-install the fixture plugin from its own folder for this test session, then remove it."""
    pkg = ROOT / "tests" / "fixtures" / "rewardkit-demo-plugin"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", str(pkg)], check=True)
    import importlib

    importlib.invalidate_caches()
    yield "rewardkit-demo-plugin"
    subprocess.run([*pip, "uninstall", "-y", "rewardkit-demo-plugin"], check=False)


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rewardkit.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, **kwargs)


@pytest.fixture
def cli():
    """Run ``rewardkit ARGS...`` in a subprocess (the real command, as a user runs it)."""
    return run_cli
