"""Stage types: what a recipe's ``stages: - type: NAME`` can name, registered through the plugin hook.

A :class:`StageType` says how to check a stage's configuration (its ``args`` map one-to-one onto a
TRL config dataclass, its ``options`` onto a small dataclass of rewardkit's own) and how to run it.
Runners are named as ``"module:function"`` and imported only when a stage runs, so registering the
training stages costs nothing at ``import rewardkit`` (no torch). A package adds a stage exactly
as the built-ins do::

    @hookimpl
    def rewardkit_register(registry):
        registry.add_stage(StageType("distill", run="my_pkg.distill:run", config="trl:SFTConfig"))

The runner receives a :class:`StageRun` and returns a JSON-able dict; ``result["model"]`` (a
folder) becomes the model of the next stage.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from .engine import ScoringEngine
    from .plugins import RewardKit
    from .recipe import DataConfig, Recipe, StageConfig


def _import(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class StageType:
    """A kind of stage. ``run`` and ``config``/``options`` may be ``"module:attr"`` strings (imported
    lazily) or the objects themselves."""

    name: str
    #: ``fn(StageRun) -> dict`` (or its ``"module:function"``).
    run: str | Callable[["StageRun"], dict[str, Any]]
    #: The dataclass the stage's ``args:`` map onto, field by field (a TRL config), if any.
    config: str | type | None = None
    #: The dataclass the stage's ``options:`` map onto (rewardkit's own settings), if any.
    options: str | type | None = None
    description: str = ""
    #: The stage starts from a model (the previous stage's, the stage's or the recipe's).
    needs_model: bool = True
    #: The stage reads rows (``data:`` of the stage or the recipe).
    needs_data: bool = True
    #: The stage scores with the recipe's rewards (they must be there).
    needs_rewards: bool = False
    #: Optional dependencies the stage needs, named for the error message (``rewardkit[train]``).
    extra: str = "train"

    def runner(self) -> Callable[["StageRun"], dict[str, Any]]:
        return _import(self.run) if isinstance(self.run, str) else self.run

    def config_class(self) -> type | None:
        """The ``args`` dataclass (importing it may need the training extra)."""
        return _import(self.config) if isinstance(self.config, str) else self.config

    def options_class(self) -> type | None:
        return _import(self.options) if isinstance(self.options, str) else self.options

    def info(self) -> dict[str, Any]:
        ref = self.config if isinstance(self.config, str) else getattr(self.config, "__name__", None)
        return {"name": self.name, "description": self.description, "args": ref}


@dataclass
class StageRun:
    """Everything a running stage needs: its config, its folder, the model it starts from."""

    stage: "StageConfig"
    index: int
    recipe: "Recipe"
    dir: Path
    #: The model this stage starts from: the stage's own ``model:``, else the previous stage's output,
    #: else the recipe's model.
    model: str | None
    kit: "RewardKit"
    #: A checkpoint folder of this stage's from an interrupted earlier attempt (resume from it), or None.
    resume_from: str | None = None
    #: Outputs of the stages before this one, by index (``{"model": ..., ...}``).
    previous: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.stage.name or self.stage.type

    def data(self) -> "DataConfig":
        """The stage's ``data:``, else the recipe's (checked at validation: the stage type needs it).
        ``data: {stage: NAME}`` becomes the file that earlier stage wrote (its result's ``data``)."""
        data = self.stage.data or self.recipe.data
        if data is None:
            raise ValueError(f"stage {self.label!r} needs `data:` (in the stage or the recipe)")
        if data.stage is None:
            return data
        for result in reversed(self.previous):  # the latest: in rounds, this round's
            label = str(result.get("stage", ""))
            if (label == data.stage or label.endswith("-" + data.stage)) and result.get("data"):
                return data.model_copy(update={"path": str(result["data"]), "stage": None})
        raise ValueError(f"stage {self.label!r} reads the data of stage {data.stage!r}, which wrote none "
                         f"(stages that write data: generate, rejection_sampling)")

    def model_reference(self, value: str) -> str:
        """A model named in an option: ``"@NAME"`` is what the earlier stage NAME (its name, else its
        type) produced (its ``reward_model``, else its ``model``); anything else a folder (relative to
        the recipe) or a hub id."""
        if not value.startswith("@"):
            local = self.recipe.resolve_path(value)
            return str(local) if local.exists() else value
        name = value[1:]
        for result in reversed(self.previous):
            label = str(result.get("stage", ""))
            if label == name or label.endswith("-" + name):
                found = result.get("reward_model") or result.get("model")
                if found:
                    return str(found)
        raise ValueError(f"stage {self.label!r}: {value!r} names no earlier stage that produced a model "
                         f"(earlier: {', '.join(str(r.get('stage')) for r in self.previous) or 'none'})")

    def options(self) -> Any:
        """The stage's ``options:`` as its stage type's options dataclass (defaults filled in)."""
        stage_type = self.kit.registry.stage(self.stage.type)
        cls = stage_type.options_class()
        return cls(**coerce_fields(cls, self.stage.options)) if cls is not None else None

    def engine(self, **overrides: Any) -> "ScoringEngine":
        """A ScoringEngine for the recipe's rewards (use as a context manager)."""
        return self.recipe.build_engine(kit=self.kit, **overrides)

    def model_config(self) -> Any:
        """The :class:`~rewardkit.recipe.ModelConfig` in force (the stage's, else the recipe's)."""
        return self.stage.model or self.recipe.model


# -- checking dataclass fields from YAML ------------------------------------------------------------------
def coerce_fields(cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with YAML's near-misses fixed for ``cls``'s field types: ``1e-6`` (a str in YAML
    1.1) becomes a float for a float field, ``"3"`` an int. Raises ValueError naming the field."""
    types = {f.name: f.type for f in dataclasses.fields(cls)}
    out = dict(values)
    for key, value in values.items():
        kind = _base_type(types.get(key))
        if kind is None or value is None:
            continue
        if kind is float and isinstance(value, str):
            try:
                out[key] = float(value)
            except ValueError:
                raise ValueError(f"{key} must be a number, got {value!r}") from None
        elif kind is float and isinstance(value, int) and not isinstance(value, bool):
            out[key] = float(value)
        elif kind is float and not isinstance(value, float):
            raise ValueError(f"{key} must be a number, got {value!r}")
        elif kind is int and isinstance(value, str):
            try:
                out[key] = int(value)
            except ValueError:
                raise ValueError(f"{key} must be an integer, got {value!r}") from None
        elif kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            if isinstance(value, float) and value.is_integer():
                out[key] = int(value)
            else:
                raise ValueError(f"{key} must be an integer, got {value!r}")
        elif kind is bool and not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false, got {value!r}")
        elif kind is str and not isinstance(value, str):
            raise ValueError(f"{key} must be a string, got {value!r}")
    return out


def _base_type(annotation: Any) -> type | None:
    """float/int/bool/str for annotations that are (optionally) one of them, else None."""
    if isinstance(annotation, str):  # postponed annotations: "float | None", "Optional[int]"
        text = annotation.replace("Optional[", "").replace("]", "").replace(" ", "")
        names = {part for part in text.split("|") if part != "None"}
        mapping = {"float": float, "int": int, "bool": bool, "str": str}
        return mapping.get(names.pop()) if len(names) == 1 else None
    if annotation in (float, int, bool, str):
        return annotation
    import types
    import typing

    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return None  # list[str], dict[...]: not a scalar field
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if len(args) == 1 and args[0] in (float, int, bool, str):
        return args[0]
    return None
