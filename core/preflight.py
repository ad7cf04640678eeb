"""Checks made before a run starts, where failing later would waste minutes: a hub model with no
network to the hub fails now, with a message saying so (instead of a minute of retries and a
traceback)."""

from __future__ import annotations

import functools
import os
import socket
import threading
from typing import TYPE_CHECKING

from .recipe import RecipeError, RecipeProblem, _looks_local_model, _walk_stages

if TYPE_CHECKING:  # pragma: no cover
    from .recipe import Recipe

HUB_HOST = "huggingface.co"


@functools.lru_cache(maxsize=1)
def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face Hub answers a TCP connection within ``timeout`` (offline mode: no)."""
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("TRANSFORMERS_OFFLINE") == "1":
        return False
    endpoint = os.environ.get("HF_ENDPOINT", f"https://{HUB_HOST}").split("://")[-1].split("/")[0]
    ok: list[bool] = []

    def probe() -> None:  # name resolution itself can hang: bound the whole probe from outside
        try:
            socket.create_connection((endpoint, 443), timeout=timeout).close()
            ok.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(ok)


def in_hub_cache(repo_id: str) -> bool:
    """Whether ``repo_id`` was downloaded before (then it runs offline)."""
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(repo_id, local_files_only=True)
        return True
    except Exception:
        return False


def hub_models(recipe: "Recipe") -> list[tuple[str, str]]:
    """(field path, hub id) of every model the recipe names that is not a local folder."""
    found = []
    models = [("model", recipe.model)] + [
        (".".join(str(p) for p in loc) + ".model", s.model) for loc, s in _walk_stages(recipe.stages, ("stages",))]
    for where, model in models:
        if model is None:
            continue
        for key in ("name_or_path", "tokenizer"):
            value = getattr(model, key)
            if value and not _looks_local_model(value) and not recipe.resolve_path(value).exists():
                found.append((f"{where}.{key}", value))
    return found


def unreachable_models(recipe: "Recipe") -> list[RecipeProblem]:
    missing = [(where, repo) for where, repo in hub_models(recipe) if not in_hub_cache(repo)]
    if not missing or hub_reachable():
        return []
    return [RecipeProblem(where, f"{repo!r} is not a local folder, is not in the Hugging Face cache, and the hub "
                                 f"({HUB_HOST}) cannot be reached from this machine",
                          "download it where there is network and copy the folder here (then name the folder), "
                          "or use the recipe's CPU profile (`--profile cpu`, a tiny local model)")
            for where, repo in missing]


def check_models_reachable(recipe: "Recipe") -> None:
    problems = unreachable_models(recipe)
    if problems:
        raise RecipeError(str(recipe.source or recipe.name), problems)
