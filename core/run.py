"""A run directory: one folder per recipe run, resumable.

::

    RUN/
      recipe.yaml      the recipe as it ran (profile and --set applied)
      manifest.json    versions, seed, and each stage's status and result
      run.log          what the run printed, and the libraries' warnings
      results.json     the finished stages' results, in order
      00-sft/          one folder per stage: its checkpoints, metrics, model...

Running the same command again continues: finished stages are not redone (their results are read
back), the unfinished one resumes from its last checkpoint. A different recipe into the same
folder is refused unless ``fresh`` (which empties it first).
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from .version import __version__

MANIFEST = "manifest.json"


def is_main_process() -> bool:
    """Under ``accelerate launch`` / ``torchrun`` every process runs the recipe; only rank 0 writes
    the run directory's own files (the trainers coordinate the rest)."""
    import os

    return int(os.environ.get("RANK", "0")) == 0


class RunDirectoryError(ValueError):
    """The run directory cannot be used as asked (another recipe's run is there)."""


def _dist_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


class RunDirectory:
    """The folder of one run and its manifest."""

    def __init__(self, path: Path, recipe_data: dict[str, Any], plugins: dict[str, str], seed: int, *,
                 fresh: bool = False) -> None:
        self.path = path
        self.recipe_data = recipe_data
        text = json.dumps(recipe_data, sort_keys=True, default=str)
        self.recipe_sha = hashlib.sha256(text.encode()).hexdigest()[:16]
        manifest_path = path / MANIFEST
        if manifest_path.is_file():
            old = json.loads(manifest_path.read_text())
            if old.get("recipe_sha") != self.recipe_sha:
                if not fresh:
                    raise RunDirectoryError(
                        f"{path} holds a run of a different recipe ({old.get('recipe', {}).get('name', '?')}, "
                        f"changed since: {', '.join(_changed_keys(old.get('recipe', {}), recipe_data)) or 'details'}); "
                        f"run with --fresh to start it over, or pick another --output-dir")
            elif fresh:
                pass
            else:
                self.manifest = old
                self.path.mkdir(parents=True, exist_ok=True)
                return
        if fresh and path.exists() and is_main_process():
            shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)
        self.manifest = {
            "recipe_sha": self.recipe_sha,
            "recipe": recipe_data,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "seed": seed,
            "versions": {
                "rewardkit": __version__, "python": platform.python_version(),
                **{name: _dist_version(name) for name in ("torch", "transformers", "trl", "datasets", "vllm")},
                "plugins": plugins,
            },
            "command": sys.argv,
            "stages": [],
        }
        if is_main_process():
            (path / "recipe.yaml").write_text(yaml.safe_dump(recipe_data, sort_keys=False), encoding="utf-8")
        self.save()

    # -- stages ------------------------------------------------------------------------------------
    def stage_entry(self, index: int, label: str, stage_type: str) -> dict[str, Any]:
        stages = self.manifest["stages"]
        while len(stages) <= index:
            stages.append({"index": len(stages), "status": "pending"})
        entry = stages[index]
        entry.update(label=label, type=stage_type)
        return entry

    def done(self, index: int) -> dict[str, Any] | None:
        """The recorded result of stage ``index`` when it finished in an earlier attempt."""
        stages = self.manifest["stages"]
        if index < len(stages) and stages[index].get("status") == "done":
            return stages[index].get("result")
        return None

    def mark(self, index: int, label: str, stage_type: str, status: str, **fields: Any) -> None:
        entry = self.stage_entry(index, label, stage_type)
        entry["status"] = status
        entry[f"{status}_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        entry.update(fields)
        self.save()

    def results(self) -> list[dict[str, Any]]:
        return [{"stage": s["label"], **s["result"]} for s in self.manifest["stages"] if s.get("status") == "done"]

    def save(self) -> None:
        if not is_main_process():
            return
        tmp = self.path / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(self.manifest, indent=2, default=str))
        tmp.replace(self.path / MANIFEST)  # atomic: a kill never leaves half a manifest
        (self.path / "results.json").write_text(json.dumps(self.results(), indent=2, default=str))

    def log(self, message: str) -> None:
        """Print a progress line and keep it in ``run.log``."""
        if not is_main_process():
            return
        print(message, file=sys.stderr, flush=True)
        with open(self.path / "run.log", "a", encoding="utf-8") as fh:
            fh.write(f"{time.strftime('%H:%M:%S')} {message}\n")


def latest_checkpoint(stage_dir: Path) -> str | None:
    """The newest complete ``checkpoint-N`` folder TRL saved in ``stage_dir`` (to resume from)."""
    found = []
    for child in stage_dir.glob("checkpoint-*"):
        step = child.name.rsplit("-", 1)[-1]
        if step.isdigit() and (child / "trainer_state.json").is_file():
            found.append((int(step), child))
    return str(max(found)[1]) if found else None


def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    keys = sorted(set(old) | set(new))
    return [k for k in keys if json.dumps(old.get(k), sort_keys=True, default=str)
            != json.dumps(new.get(k), sort_keys=True, default=str)]
