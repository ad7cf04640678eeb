"""Process-wide counts of judgements: how many verdicts parsed, how many did not, how many calls failed.

``rewardkit_judge.stats()`` returns them per reward kind; every Score's ``details`` also carries the
counts of its own sample. Counts are per process (each worker of a process executor keeps its own).
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

_counts: dict[str, Counter[str]] = {}
_lock = threading.Lock()


def record(kind: str, *, parsed: int = 0, unparseable: int = 0, failed: int = 0) -> None:
    """Add judge outputs of ``kind``: ``parsed`` verdicts, ``unparseable`` texts, ``failed`` generations."""
    with _lock:
        c = _counts.setdefault(kind, Counter())
        c["parsed"] += parsed
        c["unparseable"] += unparseable
        c["failed"] += failed


def stats() -> dict[str, dict[str, Any]]:
    """Per kind: ``judged`` (texts the judge returned), ``parsed``, ``unparseable``, ``failed`` (backend
    errors, no text), and ``parse_rate`` (parsed / judged, None before any)."""
    with _lock:
        out = {}
        for kind, c in sorted(_counts.items()):
            judged = c["parsed"] + c["unparseable"]
            out[kind] = {"judged": judged, "parsed": c["parsed"], "unparseable": c["unparseable"],
                         "failed": c["failed"], "parse_rate": c["parsed"] / judged if judged else None}
        return out


def reset_stats() -> None:
    with _lock:
        _counts.clear()
