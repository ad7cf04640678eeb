"""Fixtures for the vote plugin's tests."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-init causal LM with a ChatML chat template (plumbing, not behaviour)."""
    from rewardkit.testing import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("vote-models") / "tiny")
