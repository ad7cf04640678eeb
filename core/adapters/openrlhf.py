"""A recipe's rewards for OpenRLHF: ``--remote_rm_url /path/to/rewardkit/adapters/openrlhf.py``.

OpenRLHF loads this file by path and calls ``reward_func(queries, prompts, labels)`` from a thread
(one query per call in 0.11). The recipe comes from ``$REWARDKIT_RECIPE`` (``$REWARDKIT_PROFILE``,
``$REWARDKIT_DOMAIN`` optional). For an HTTP reward server speaking the same protocol, run
``rewardkit serve RECIPE --port 5000`` and pass ``--remote_rm_url http://HOST:5000/get_reward``.

How a row is built (the server does the same):

* ``queries`` are prompt and response decoded together *with* special tokens; the completion is what
  follows the prompt (:func:`split_query`), with trailing end-of-sequence markers removed.
* a ``label`` is the gold (``reference`` / ``answer``); a label that is a JSON object (or a dict) is a
  whole row instead: ``{"answer": "72", "domain": "math", "test": "..."}``.
* the domain is the row's ``domain``, else ``$REWARDKIT_DOMAIN``, else the recipe's ``data.domain``.
"""

from __future__ import annotations

import json
import os
from typing import Any, Mapping, Sequence

# Absolute imports: OpenRLHF imports this file as a standalone module, outside the package.
from rewardkit.adapters import flat_scores, loaded
from rewardkit.types import Sample

DOMAIN_ENV = "REWARDKIT_DOMAIN"

#: End-of-sequence markers that ``decode(..., skip_special_tokens=False)`` leaves after a response.
EOS_MARKERS = ("<|im_end|>", "<|endoftext|>", "</s>", "<|eot_id|>", "<|end_of_text|>", "<|end|>",
               "<｜end▁of▁sentence｜>", "<eos>", "<end_of_turn>")


class QueryError(ValueError):
    """A query whose response cannot be told apart from its prompt."""


def split_query(query: str, prompt: str | None, eos_markers: Sequence[str] = EOS_MARKERS) -> str:
    """The response inside an OpenRLHF ``query`` (prompt + response, decoded together).

    The response is what follows the prompt: ``query`` must start with ``prompt``, or contain it (a BOS
    token the tokenizer adds on decode may come first). Without a prompt (older OpenRLHF sent only
    queries) the whole query is the response. Trailing end-of-sequence markers and padding are removed.
    """
    if prompt:
        at = 0 if query.startswith(prompt) else query.find(prompt)
        if at < 0:
            raise QueryError(f"the query does not contain its prompt (query starts {query[:60]!r}, prompt "
                             f"starts {prompt[:60]!r}); send the prompt exactly as the tokenizer got it")
        query = query[at + len(prompt):]
    trimmed = True
    while trimmed:  # "...<|im_end|><|endoftext|><|endoftext|>": strip every trailing marker
        trimmed = False
        for marker in eos_markers:
            if marker and query.endswith(marker):
                query, trimmed = query[: -len(marker)], True
    return query


def label_row(label: Any) -> dict[str, Any]:
    """A label as row fields: a dict or a JSON-object string is a row; anything else is the gold."""
    if isinstance(label, str) and label.lstrip().startswith("{"):
        try:
            parsed = json.loads(label)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    if isinstance(label, Mapping):
        return dict(label)
    return {} if label is None else {"reference": label, "answer": label}


def to_samples(queries: Sequence[str], prompts: Sequence[str] | None, labels: Sequence[Any] | None,
               domain: str | None) -> tuple[list[Sample | None], list[str | None]]:
    """Samples for OpenRLHF rows, and for each row the error that kept it from becoming one (or None)."""
    samples: list[Sample | None] = []
    errors: list[str | None] = []
    for i, query in enumerate(queries):
        prompt = prompts[i] if prompts else ""
        try:
            completion = split_query(query, prompt)
        except QueryError as exc:
            samples.append(None)
            errors.append(str(exc))
            continue
        row = label_row(labels[i] if labels else None)
        row.setdefault("domain", domain)
        row.update(prompt=prompt, completion=completion)
        samples.append(Sample.from_row(row))
        errors.append(None)
    return samples, errors


def score_rows(engine: Any, samples: Sequence[Sample | None], errors: Sequence[str | None],
               none_value: float = 0.0, scored: Sequence[Any] | None = None) -> dict[str, Any]:
    """OpenRLHF's reward answer: ``{"rewards", "scores", "extra_logs"}`` (one number per query each).

    ``extra_logs`` holds every reward's value by id, ``rewardkit/scored`` (0 when no reward applied
    or the row could not be read: its reward is then ``none_value``) and ``rewardkit/failed`` (how many
    rewards raised or overran their deadline on the row). ``scored`` may be passed when
    the samples were scored already (the server batches requests together).
    """
    if scored is None:
        scored = engine.score([s for s in samples if s is not None])
    results = iter(scored)
    rewards: list[float] = []
    logs: dict[str, list[float]] = {k: [] for k in engine.ids}
    logs["rewardkit/scored"], logs["rewardkit/failed"] = [], []
    for sample, error in zip(samples, errors):
        failed = 0
        if sample is None:
            total, values, ok = none_value, {k: none_value for k in engine.ids}, False
        else:
            result = next(results)
            total, values, ok = flat_scores(result, engine.ids, none_value)
            failed = len(result.errors)
        rewards.append(total)
        for key, value in values.items():
            logs[key].append(value)
        logs["rewardkit/scored"].append(float(ok))
        logs["rewardkit/failed"].append(float(failed))
    return {"rewards": rewards, "scores": list(rewards), "extra_logs": logs}


def reward_func(queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any],
                **_: Any) -> dict[str, Any]:
    """OpenRLHF's ``reward_func``: rewards, scores and extra logs as tensors (lists without torch)."""
    recipe, engine = loaded()
    domain = os.environ.get(DOMAIN_ENV) or (recipe.data.domain if recipe.data else None)
    samples, errors = to_samples(queries, prompts, labels, domain)
    out = score_rows(engine, samples, errors)
    try:
        import torch
    except ImportError:  # pragma: no cover - OpenRLHF always has torch
        return out
    return {"rewards": torch.tensor(out["rewards"]), "scores": torch.tensor(out["scores"]),
            "extra_logs": {k: torch.tensor(v) for k, v in out["extra_logs"].items()}}


if __name__ == "__main__":  # the path to give --remote_rm_url
    print(__file__)
