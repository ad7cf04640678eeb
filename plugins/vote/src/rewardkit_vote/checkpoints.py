"""The judge as the policy's own latest checkpoint: ``model: "latest:<stage dir>"``.

TRL saves ``checkpoint-N`` folders (model, tokenizer, ``trainer_state.json`` last) in a training
stage's directory. Each call resolves the newest *complete* one (it has ``trainer_state.json``: a
checkpoint still being written is skipped); when a newer one has appeared, the judge backend is
rebuilt on it and the old one closed, so at most one judge model per ``latest:`` spec is in memory.
Before the first checkpoint the judge is ``initial_model`` (the policy the stage started from).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LATEST = "latest:"


def is_latest(model: str) -> bool:
    return model.startswith(LATEST)


def latest_dir(model: str) -> Path:
    return Path(model[len(LATEST):]).expanduser()


def newest_checkpoint(stage_dir: Path) -> Path | None:
    """The complete ``checkpoint-N`` folder with the largest N in ``stage_dir`` (None when there is none)."""
    from rewardkit.run import latest_checkpoint

    found = latest_checkpoint(stage_dir) if stage_dir.is_dir() else None
    return None if found is None else Path(found)


class NoJudgeYet(LookupError):
    """``latest:<dir>`` has no complete checkpoint yet and no ``initial_model`` was given."""


class _Slot:
    """One ``latest:`` judge: the checkpoint it was built on, and the backend."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.path: str | None = None
        self.backend: Any = None


_slots: dict[str, _Slot] = {}
_guard = threading.Lock()


@contextmanager
def latest_backend(kind: str, model: str, initial_model: str, options: Mapping[str, Any],
                   build: Callable[[str], Any]) -> Iterator[tuple[Any, str]]:
    """``(backend, model path)`` of the newest checkpoint in ``latest:<dir>``, held for the ``with``
    block (a switch to a newer checkpoint waits until no call is using the old backend).

    ``build(path)`` makes a backend for a model folder; the previous one is closed on a switch.
    """
    key = json.dumps([kind, model, initial_model, options], sort_keys=True, default=repr)
    with _guard:
        slot = _slots.setdefault(key, _Slot())
    stage_dir = latest_dir(model)
    with slot.lock:  # local judges generate one batch at a time anyway
        newest = newest_checkpoint(stage_dir)
        path = str(newest) if newest is not None else initial_model
        if not path:
            raise NoJudgeYet(f"no complete checkpoint-N folder in {stage_dir} yet, and no initial_model to "
                             "judge with until then; set initial_model to the model the stage starts from")
        if path != slot.path:
            old, slot.backend, slot.path = slot.backend, None, None
            if old is not None:
                old.close()
            slot.backend, slot.path = build(path), path
        yield slot.backend, path


def clear() -> None:
    """Close every ``latest:`` judge (tests, or to free memory)."""
    with _guard:
        slots = list(_slots.values())
        _slots.clear()
    for slot in slots:
        with slot.lock:
            if slot.backend is not None:
                slot.backend.close()
            slot.backend, slot.path = None, None
