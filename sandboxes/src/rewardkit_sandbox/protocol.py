"""The wire format of the remote sandbox service (see README "Remote sandbox service").

A job is the JSON form of a :class:`RunRequest` plus its limits; a reply carries the
:class:`RunResult`. Text travels as JSON strings, bytes as ``{"base64": "..."}``. Every decoding
error is a ``ValueError`` or ``TypeError`` naming the field, which the server returns as a 400.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import asdict, fields
from typing import Any

from .types import Limits, RunRequest, RunResult

#: Bumped on any incompatible change; ``GET /health`` reports it.
PROTOCOL_VERSION = 1
LIMIT_FIELDS = tuple(f.name for f in fields(Limits))
_INT_LIMITS = {f.name for f in fields(Limits) if f.type in ("int", int)}
_JOB_FIELDS = {"command", "files", "stdin", "env", "limits", "queue_seconds"}


def encode_blob(value: str | bytes) -> str | dict[str, str]:
    return value if isinstance(value, str) else {"base64": base64.b64encode(bytes(value)).decode("ascii")}


def decode_blob(value: Any, where: str) -> str | bytes:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"base64"} and isinstance(value["base64"], str):
        try:
            return base64.b64decode(value["base64"], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"{where}: 'base64' is not valid base64") from None
    raise ValueError(f"{where} must be a string or {{\"base64\": \"...\"}}, got {type(value).__name__}")


def job_to_json(request: RunRequest, limits: Limits, queue_seconds: float) -> dict[str, Any]:
    """The body of ``POST /run`` for ``request`` run under ``limits``."""
    return {
        "command": list(request.command),
        "files": {name: encode_blob(content) for name, content in request.files.items()},
        "stdin": encode_blob(request.stdin),
        "env": dict(request.env),
        "limits": asdict(limits),
        "queue_seconds": queue_seconds,
    }


def job_from_json(data: Any) -> tuple[RunRequest, dict[str, float], float | None]:
    """(request without limits, the limits asked for, queue_seconds) from a ``POST /run`` body."""
    if not isinstance(data, dict):
        raise TypeError("the body must be a JSON object with 'command' (and optionally 'files', 'stdin', "
                         "'env', 'limits', 'queue_seconds')")
    unknown = sorted(set(data) - _JOB_FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s) {unknown}; protocol {PROTOCOL_VERSION} knows "
                         f"{sorted(_JOB_FIELDS)}")
    command = data.get("command")
    if not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command):
        raise ValueError("'command' must be a non-empty list of strings, e.g. [\"python3\", \"main.py\"]")
    files = data.get("files", {})
    if not isinstance(files, dict):
        raise TypeError("'files' must be an object: relative path -> content")
    decoded = {str(name): decode_blob(content, f"files[{name!r}]") for name, content in files.items()}
    env = data.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                            for k, v in env.items()):
        raise ValueError("'env' must be an object of string -> string")
    limits = data.get("limits") or {}
    if not isinstance(limits, dict):
        raise TypeError(f"'limits' must be an object with some of {list(LIMIT_FIELDS)}")
    for name, value in limits.items():
        if name not in LIMIT_FIELDS:
            raise ValueError(f"limits.{name} is not a limit; choose from {list(LIMIT_FIELDS)}")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"limits.{name} must be a positive number, got {value!r}")
    queue_seconds = data.get("queue_seconds")
    if queue_seconds is not None and (not isinstance(queue_seconds, (int, float)) or queue_seconds < 0):
        raise ValueError(f"'queue_seconds' must be a number >= 0, got {queue_seconds!r}")
    request = RunRequest(command=command, files=decoded, stdin=decode_blob(data.get("stdin", ""), "stdin"),
                         env=env)
    return request, dict(limits), queue_seconds


def cap_limits(asked: Mapping[str, float], default: Limits, maximum: Limits) -> tuple[Limits, list[str]]:
    """The limits a job runs under: ``asked`` over ``default``, each capped at ``maximum``; and the
    names of the fields that were lowered (a client can never get more than the server allows)."""
    values: dict[str, float] = {}
    capped = []
    for name in LIMIT_FIELDS:
        value = asked.get(name, getattr(default, name))
        ceiling = getattr(maximum, name)
        if value > ceiling:
            value = ceiling
            capped.append(name)
        values[name] = limit_value(name, value)
    return Limits(**values), capped  # type: ignore[arg-type]


def limit_value(name: str, value: float) -> float:
    """``value`` as the type of ``Limits.<name>`` (whole numbers for memory, files, processes...)."""
    return int(value) if name in _INT_LIMITS else float(value)


def result_to_json(result: RunResult) -> dict[str, Any]:
    return asdict(result)


def result_from_json(data: Any) -> RunResult:
    if not isinstance(data, dict):
        raise TypeError("'result' must be an object")
    known = {f.name for f in fields(RunResult)}
    return RunResult(**{k: v for k, v in data.items() if k in known})
