"""Judge prompts: Jinja text files rendered with a sample's fields into chat messages.

A template is a text file (the built-in ones are ``templates/{pointwise,reference,pairwise}.txt`` in
this package). Lines that are exactly ``@system``, ``@user`` or ``@assistant`` start a message of that
role; a file without them is one user message. Each message is a Jinja template (sandboxed, strict:
an unknown field is an error naming the fields there are) with these fields:

``prompt``       the question (a multi-turn chat prompt is written out turn by turn)
``completion``   the response being judged
``reference``    the row's reference answer, or ``""``
``baseline``     the row's ``baseline`` column, or ``""``
``response_a`` / ``response_b``  the two responses of a pairwise judgement
``columns``      every other column of the row (``columns.answer``...)

plus whatever ``render(..., **extra_fields)`` passes. To change a prompt, copy a built-in file, edit it
and pass its path (``template: prompts/strict.txt``, relative to the working directory, or absolute).
Keep the last instruction (``Verdict: N``, ``[[A]]``...): the verdict parser reads that line.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from rewardkit import Sample

BUILTIN = ("pointwise", "reference", "pairwise", "pointwise_fewshot", "reference_fewshot", "pairwise_fewshot")
_ROLE_LINE = re.compile(r"^@(system|user|assistant)[^\S\n]*$", re.MULTILINE)
_cache: dict[tuple[str, float], list[tuple[str, Any]]] = {}
_lock = threading.Lock()


class TemplateError(ValueError):
    """A judge template that cannot be found or rendered."""


def template_source(name: str) -> tuple[str, str]:
    """``(where, text)`` of a built-in template name or a template file path."""
    if name in BUILTIN:
        ref = resources.files("rewardkit_judge") / "templates" / f"{name}.txt"
        return f"<built-in {name}>", ref.read_text(encoding="utf-8")
    path = Path(name).expanduser()
    if not path.is_file():
        raise TemplateError(
            f"judge template {name!r} is neither a built-in template ({', '.join(BUILTIN)}) nor a file "
            f"(looked for {path.resolve()}); give a path relative to {os.getcwd()} or an absolute one"
        )
    return str(path.resolve()), path.read_text(encoding="utf-8")


def _mtime(name: str) -> float:
    if name in BUILTIN:
        return 0.0
    try:
        return Path(name).expanduser().stat().st_mtime
    except OSError:
        return -1.0  # template_source() below says what is missing


def _compiled(name: str) -> list[tuple[str, Any]]:
    """The template's messages as ``(role, jinja template)``, cached per file and modification time."""
    key = (name, _mtime(name))
    with _lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    where, text = template_source(name)
    from jinja2 import StrictUndefined, TemplateSyntaxError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    parts = _ROLE_LINE.split(text)
    # parts = [before the first role line, role, body, role, body, ...]
    sections = [("user", parts[0])] if len(parts) == 1 else list(zip(parts[1::2], parts[2::2]))
    if len(parts) > 1 and env.from_string(parts[0]).render().strip():
        raise TemplateError(f"judge template {where}: text before the first @system/@user line; move it "
                            f"under one, or into a {{# comment #}}")
    try:
        compiled = [(role, env.from_string(body)) for role, body in sections]
    except TemplateSyntaxError as exc:
        raise TemplateError(f"judge template {where}, line {exc.lineno}: {exc.message}") from None
    if not any(role == "user" for role, _ in compiled):
        raise TemplateError(f"judge template {where} has no @user message")
    with _lock:
        _cache[key] = compiled
    return compiled


def _prompt_text(prompt: Any) -> str:
    """The prompt as the judge should read it: a chat with several turns is written out by role."""
    if prompt is None:
        return ""
    if isinstance(prompt, str):
        return prompt
    turns = [m for m in prompt if isinstance(m, Mapping)]
    if len(turns) == 1:
        return _content(turns[0])
    return "\n\n".join(f"{m.get('role', 'user')}: {_content(m)}" for m in turns)


def _content(message: Mapping[str, Any]) -> str:
    content = message.get("content", "")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
    return "" if content is None else str(content)


def sample_fields(sample: Sample | Mapping[str, Any]) -> dict[str, Any]:
    """The template fields of a Sample (or of a dataset row)."""
    if not isinstance(sample, Sample):
        sample = Sample.from_row(sample)
    baseline = sample.column("baseline")
    return {
        "prompt": _prompt_text(sample.prompt),
        "completion": sample.completion_text,
        "reference": "" if sample.reference is None else str(sample.reference),
        "baseline": "" if baseline is None else _prompt_text(baseline),
        "columns": dict(sample.columns),
    }


def render(template: str, sample: Sample | Mapping[str, Any], **extra_fields: Any) -> list[dict[str, str]]:
    """Chat messages for the judge: ``template`` (a built-in name or a file) filled with ``sample``'s
    fields and ``extra_fields`` (which win over the sample's)."""
    fields = {**sample_fields(sample), **extra_fields}
    from jinja2 import UndefinedError

    messages = []
    for role, tmpl in _compiled(template):
        try:
            content = tmpl.render(**fields).strip()
        except UndefinedError as exc:
            raise TemplateError(f"judge template {template!r}: {exc.message}; the fields are "
                                f"{', '.join(sorted(fields))}") from None
        if content:
            messages.append({"role": role, "content": content})
    return messages
