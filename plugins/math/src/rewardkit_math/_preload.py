"""Imported by the forkserver (see :func:`rewardkit_math.checker._preload_forkserver`): every worker
forked from it starts with math-verify and sympy imported and warm, so restarting a killed worker is
a fork, not a second of imports that would eat into the next check's deadline."""

from .equivalence import warm_up

try:
    warm_up()
except Exception:  # noqa: BLE001 - the forkserver only tolerates ImportError; a cold worker still works
    pass
