"""The two values every reward speaks: a :class:`Sample` in, a :class:`Score` out."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence, Union

#: A chat message as TRL and the OpenAI API write it: ``{"role": ..., "content": ...}``.
Message = Mapping[str, Any]
#: Prompts and completions are either plain text or a list of chat messages.
TextOrMessages = Union[str, Sequence[Message]]

#: Row keys that :meth:`Sample.from_row` maps to fields rather than keeping as columns.
_FIELD_KEYS = ("prompt", "completion", "domain", "group")
#: Columns tried, in order, for :attr:`Sample.reference` when a row names no ``reference``.
REFERENCE_COLUMNS = ("reference", "ground_truth", "answer", "solution", "label")


def as_text(value: TextOrMessages | None) -> str:
    """Flatten text-or-messages to text.

    For messages the *last* message's content is returned: for a completion that is the model's
    reply, and for a prompt it is the user's final turn. Multi-part content (lists of
    ``{"type": "text", "text": ...}``) is joined.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if not value:
        return ""
    content = value[-1].get("content", "")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
    return str(content)


@dataclass(frozen=True)
class Score:
    """One reward's verdict on one sample.

    ``value`` is ``None`` when the reward does not apply (TRL's multi-task convention) or when it
    could not be computed; ``error`` then says why, and ``timed_out`` marks deadline overruns.
    """

    value: float | None
    reason: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    timed_out: bool = False

    @classmethod
    def not_applicable(cls, reason: str, **details: Any) -> "Score":
        return cls(None, reason=reason, details=details)

    @classmethod
    def failed(cls, error: str, *, timed_out: bool = False) -> "Score":
        return cls(None, reason="timeout" if timed_out else "error", error=error, timed_out=timed_out)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value}
        if self.reason:
            out["reason"] = self.reason
        if self.details:
            out["details"] = dict(self.details)
        if self.error is not None:
            out["error"] = self.error
        if self.timed_out:
            out["timed_out"] = True
        return out

    @classmethod
    def coerce(cls, result: Any) -> "Score":
        """Turn whatever a reward function returned into a Score (or raise TypeError)."""
        if isinstance(result, Score):
            return result
        if result is None:
            return cls(None, reason="not applicable")
        if isinstance(result, bool):
            return cls(float(result))
        if isinstance(result, (int, float)):
            value = float(result)
            if math.isnan(value):
                return cls(None, reason="reward returned NaN")
            return cls(value)
        # numpy / torch scalars
        if hasattr(result, "item") and callable(result.item):
            return cls.coerce(result.item())
        raise TypeError(
            f"a reward must return a float, a bool, None or a rewardkit.Score, not {type(result).__name__}"
        )


@dataclass(frozen=True)
class Sample:
    """One completion to score, with everything a verifier may need.

    ``columns`` holds the dataset row's other columns by name (``answer``, ``test``,
    ``entry_point``, ``instruction_id_list``, ``kwargs``...), exactly as TRL passes them to reward
    functions. ``scores`` holds the results of rewards this one depends on (filled by the engine).
    """

    prompt: TextOrMessages = ""
    completion: TextOrMessages = ""
    reference: Any = None
    domain: str | None = None
    group: str | None = None
    columns: Mapping[str, Any] = field(default_factory=dict)
    scores: Mapping[str, Score] = field(default_factory=dict, compare=False)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "Sample":
        """Build a Sample from a dataset/JSONL row (the `rewardkit score` contract)."""
        columns = {k: v for k, v in row.items() if k not in _FIELD_KEYS}
        reference = next((row[k] for k in REFERENCE_COLUMNS if row.get(k) is not None), None)
        group = row.get("group")
        return cls(
            prompt=row.get("prompt", ""),
            completion=row.get("completion", ""),
            reference=reference,
            domain=row.get("domain"),
            group=None if group is None else str(group),
            columns=columns,
        )

    @property
    def completion_text(self) -> str:
        return as_text(self.completion)

    @property
    def prompt_text(self) -> str:
        return as_text(self.prompt)

    def column(self, *names: str, default: Any = None) -> Any:
        """The first of ``names`` present (and not None) among the row's columns."""
        for name in names:
            value = self.columns.get(name)
            if value is not None:
                return value
        return default

    @property
    def group_key(self) -> str:
        """The group this sample belongs to: its group id, else its prompt (GRPO repeats prompts)."""
        if self.group is not None:
            return self.group
        return "prompt:" + stable_hash(self.prompt)

    def with_scores(self, scores: Mapping[str, Score]) -> "Sample":
        copy = Sample(self.prompt, self.completion, self.reference, self.domain, self.group, self.columns, scores)
        if "_fingerprint" in self.__dict__:
            object.__setattr__(copy, "_fingerprint", self.__dict__["_fingerprint"])
        return copy

    def fingerprint(self) -> str:
        """A stable content hash (the scores of dependencies are not part of it); computed once."""
        cached = self.__dict__.get("_fingerprint")
        if cached is None:
            cached = stable_hash([self.prompt, self.completion, self.reference, self.domain, self.group, self.columns])
            object.__setattr__(self, "_fingerprint", cached)
        return cached


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset)):
        return sorted(map(repr, obj))
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return repr(obj)


def stable_hash(obj: Any) -> str:
    """A short hash of a JSON-able value, stable across processes and runs."""
    data = json.dumps(obj, sort_keys=True, default=_json_default, ensure_ascii=False)
    return hashlib.blake2b(data.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
