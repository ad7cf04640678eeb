"""rewardkit's pytest plugin (loaded by pytest through the ``pytest11`` entry point).

It stays light: nothing heavy is imported until a test uses it. It gives reward authors

* the ``rewardkit_conformance`` marker, carried by every test that
  :func:`rewardkit.conformance.conformance` builds (``pytest -m rewardkit_conformance`` runs only those);
* the ``reward_conformance`` fixture, for a conformance run inside a test of your own::

      def test_my_reward(reward_conformance):
          reward_conformance(my_reward, gold=[{"completion": "4", "answer": "4"}])

* the ``make_sample`` fixture (:func:`rewardkit.testing.make_sample`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "rewardkit_conformance: a check of rewardkit's conformance suite (rewardkit.conformance)")


@pytest.fixture
def reward_conformance() -> Callable[..., None]:
    """``reward_conformance(reward, gold=..., wrong=..., params=..., samples=..., skip=...)`` runs every
    check (but those in ``skip``); one AssertionError lists all that failed."""

    def run(reward: Any, *, skip: Any = (), **examples: Any) -> None:
        from rewardkit.conformance import suite_for

        suite_for(reward, **examples).run_all(skip=skip)

    return run


@pytest.fixture
def make_sample() -> Callable[..., Any]:
    """:func:`rewardkit.testing.make_sample`: a Sample from keyword columns, as a JSONL row gives it."""
    from rewardkit.testing import make_sample as make

    return make
