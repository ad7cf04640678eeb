"""Loading recipe data for trainer stages (needs ``datasets``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..recipe import DataConfig, Recipe

_LOCAL_FORMATS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv", ".arrow": "arrow"}


def load_dataset_for(data: DataConfig, recipe: Recipe) -> Any:
    """A ``datasets.Dataset`` with the recipe's column mapping, domain, limit and prompt shaping."""
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
    if "prompt" not in ds.column_names:
        raise ValueError(f"{data.path} has no 'prompt' column (columns: {ds.column_names}); "
                         "map one with data.columns, e.g. `columns: {prompt: question}`")

    def shape(row: dict[str, Any]) -> dict[str, Any]:
        prompt = row["prompt"]
        if isinstance(prompt, str):
            if data.prompt_template:
                prompt = data.prompt_template.replace("{prompt}", prompt)
            if data.chat:
                prompt = [{"role": "user", "content": prompt}]
        if data.system_prompt and isinstance(prompt, list):
            prompt = [{"role": "system", "content": data.system_prompt}, *prompt]
        return {"prompt": prompt}

    return ds.map(shape)
