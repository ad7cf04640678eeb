"""Shared fixtures: the hand-written responses of ``realistic_responses.py`` (loaded by path:
pytest runs with ``--import-mode=importlib``, so test modules cannot import their neighbours)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def realistic_responses() -> list[tuple[int, str]]:
    path = Path(__file__).with_name("realistic_responses.py")
    spec = importlib.util.spec_from_file_location("rewardkit_ifeval_realistic_responses", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.RESPONSES)
