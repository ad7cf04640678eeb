"""Loading recipe data for trainer stages (needs ``datasets``).

Three shapes, one per kind of stage, all read through :func:`load_rows` (file or hub, the recipe's
``columns`` mapping, ``skip``/``limit``, ``domain``):

* :func:`load_dataset_for`: prompts (RL stages);
* :func:`load_sft_dataset`: ``messages`` rows, or ``prompt`` + ``completion`` (text or chat);
* :func:`load_preference_dataset`: ``prompt`` + ``chosen`` + ``rejected`` (text or chat), with an
  optional ``margin`` (or a grade column turned into one).

Text prompts are shaped the same way everywhere: ``prompt_template`` first, then with ``chat`` (the
default) wrapped as a user message, and ``system_prompt`` put in front of chat prompts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..recipe import DataConfig, Recipe

_LOCAL_FORMATS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv", ".arrow": "arrow"}


def load_rows(data: DataConfig, recipe: Recipe) -> Any:
    """The data's rows as a ``datasets.Dataset``: columns renamed, ``skip``/``limit`` applied, ``domain``
    added."""
    import datasets

    path = recipe.resolve_path(data.path)
    suffixes = [s for s in Path(data.path).suffixes if s != ".gz"]
    if path.exists():
        fmt = _LOCAL_FORMATS.get(suffixes[-1] if suffixes else "", "json")
        ds = datasets.load_dataset(fmt, data_files=str(path), split="train")
    else:  # a hub dataset id (needs network access to the hub)
        ds = datasets.load_dataset(data.path, data.subset, split=data.split)
    renames = {src: dst for dst, src in data.columns.items() if src != dst}
    if renames:
        missing = [c for c in renames if c not in ds.column_names]
        if missing:
            raise ValueError(f"data.columns names {missing} but {data.path} has columns {ds.column_names}")
        ds = ds.remove_columns([dst for dst in renames.values() if dst in ds.column_names])
        ds = ds.rename_columns(renames)
    if data.skip or data.limit is not None:
        start = min(data.skip, len(ds))
        stop = len(ds) if data.limit is None else min(start + data.limit, len(ds))
        if stop <= start:
            raise ValueError(f"{data.path}: no rows left after skip={data.skip} (it has {len(ds)}); "
                             "give the rounds fewer rows each or more data")
        ds = ds.select(range(start, stop))
    if data.domain is not None and "domain" not in ds.column_names:
        ds = ds.add_column("domain", [data.domain] * len(ds))
    return ds


def shape_prompt(prompt: Any, data: DataConfig) -> Any:
    """A prompt as the recipe asks: template, chat wrapping, system prompt."""
    if isinstance(prompt, str):
        if data.prompt_template:
            prompt = data.prompt_template.replace("{prompt}", prompt)
        if data.chat:
            prompt = [{"role": "user", "content": prompt}]
    if data.system_prompt and isinstance(prompt, list) and not (prompt and prompt[0].get("role") == "system"):
        prompt = [{"role": "system", "content": data.system_prompt}, *prompt]
    return prompt


def _require(ds: Any, data: DataConfig, needed: list[str], example: str) -> None:
    missing = [c for c in needed if c not in ds.column_names]
    if missing:
        raise ValueError(f"{data.path} has no {', '.join(map(repr, missing))} column (columns: "
                         f"{ds.column_names}); map them with data.columns, e.g. `columns: {example}`")


def load_dataset_for(data: DataConfig, recipe: Recipe) -> Any:
    """A ``datasets.Dataset`` with the recipe's column mapping, domain, limit and prompt shaping."""
    ds = load_rows(data, recipe)
    _require(ds, data, ["prompt"], "{prompt: question}")
    return ds.map(lambda row: {"prompt": shape_prompt(row["prompt"], data)})


def response_like_prompt(value: Any, prompt: Any, column: str, data: DataConfig) -> Any:
    """A completion in the prompt's form: assistant messages for a chat prompt, text for a text prompt."""
    if isinstance(prompt, list):
        if isinstance(value, str):
            return [{"role": "assistant", "content": value}]
        if isinstance(value, dict):
            return [value]
        return value
    if not isinstance(value, str):
        raise ValueError(f"{data.path}: the prompt is text (data.chat is false) but {column!r} is a list of "
                         "messages; set `chat: true` or give text")
    return value


def _split_messages(messages: list[dict[str, Any]], data: DataConfig) -> dict[str, Any]:
    """A conversation as prompt (everything before the last assistant turn) and completion (that turn)."""
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
    if last is None or last == 0:
        raise ValueError(f"{data.path}: a `messages` row needs a turn before an assistant reply to learn "
                         f"(roles here: {[m.get('role') for m in messages]})")
    return {"prompt": messages[:last], "completion": messages[last:last + 1]}


def load_sft_dataset(data: DataConfig, recipe: Recipe, *, keep_messages: bool = False) -> Any:
    """Rows for SFT: ``prompt`` + ``completion`` (TRL computes the loss on the completion only).

    ``messages`` rows become the conversation up to the last assistant turn (prompt) and that turn
    (completion), which works with any chat template; with ``keep_messages`` they stay whole, for
    TRL's ``assistant_only_loss`` (every assistant turn; needs a template with generation markers).
    Rows with only ``text`` are language modelling (loss on every token).
    """
    ds = load_rows(data, recipe)
    cols = ds.column_names
    if "messages" in cols and "prompt" not in cols:
        def shape_messages(row: dict[str, Any]) -> dict[str, Any]:
            messages = shape_prompt(list(row["messages"]), data)  # adds the system prompt
            return {"messages": messages} if keep_messages else _split_messages(messages, data)

        keep = ["messages"] if keep_messages else ["prompt", "completion"]
        return ds.map(shape_messages, remove_columns=[c for c in cols if c not in keep])
    if "text" in cols and "prompt" not in cols:
        return ds.select_columns(["text"])
    _require(ds, data, ["prompt", "completion"], "{prompt: question, completion: answer}")

    def shape(row: dict[str, Any]) -> dict[str, Any]:
        prompt = shape_prompt(row["prompt"], data)
        return {"prompt": prompt, "completion": response_like_prompt(row["completion"], prompt, "completion", data)}

    return ds.map(shape, remove_columns=[c for c in cols if c not in ("prompt", "completion")])


#: Llama 3's four preference grades. Margins: the "small margin" values of Llama 2 (Touvron et al.
#: 2023, Table 28), which introduced the margin term; Llama 3 kept the grades.
LLAMA_GRADE_MARGINS: dict[str, float] = {
    "significantly better": 1.0, "better": 2 / 3, "slightly better": 1 / 3, "marginally better": 0.0,
}


def _grade_key(grade: Any) -> str:
    return " ".join(str(grade).replace("_", " ").replace("-", " ").split()).casefold()


def load_preference_dataset(data: DataConfig, recipe: Recipe, *, grade_column: str | None = None,
                            grade_margins: Mapping[str, float] | None = None,
                            keep_margin: bool = True) -> Any:
    """Preference pairs: ``prompt`` (optional when ``chosen``/``rejected`` are whole conversations),
    ``chosen``, ``rejected``; a ``margin`` column (float) is kept with ``keep_margin``, and
    ``grade_column`` turns a grade (``"slightly better"``) into one through ``grade_margins``."""
    ds = load_rows(data, recipe)
    _require(ds, data, ["chosen", "rejected"], "{prompt: question, chosen: good, rejected: bad}")
    cols = ds.column_names
    margins = {_grade_key(k): float(v) for k, v in (grade_margins or LLAMA_GRADE_MARGINS).items()}
    if grade_column is not None and grade_column not in cols:
        raise ValueError(f"options.grade_column is {grade_column!r} but {data.path} has columns {cols}")

    def shape(row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        prompt = None
        if "prompt" in row:
            prompt = out["prompt"] = shape_prompt(row["prompt"], data)
        for column in ("chosen", "rejected"):
            value = row[column]
            out[column] = response_like_prompt(value, prompt, column, data) if prompt is not None else value
        if grade_column is not None:
            key = _grade_key(row[grade_column])
            if key not in margins:
                raise ValueError(f"{data.path}: grade {row[grade_column]!r} in column {grade_column!r} has "
                                 f"no margin; known grades: {sorted(margins)} (set options.grade_margins)")
            out["margin"] = margins[key]
        elif keep_margin and "margin" in row:
            out["margin"] = float(row["margin"])
        return out

    keep = {"prompt", "chosen", "rejected"} | ({"margin"} if keep_margin or grade_column else set())
    return ds.map(shape, remove_columns=[c for c in cols if c not in keep])
