"""Rewards: plain functions, described once with :func:`reward`.

Three call shapes, chosen with ``mode``:

* ``"sample"`` (default): ``fn(sample, **params) -> float | bool | Score | None``
* ``"batch"``: ``fn(samples, **params) -> list[...]`` for vectorised scoring of any batch
* ``"group"``: ``fn(samples, **params) -> list[...]`` where ``samples`` are all completions for one
  prompt (GRPO's group), for group-relative rewards such as Kimi's length penalty or majority vote.

``None`` means "not applicable to this sample"; it is never the same as 0.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from .types import Sample, Score

Mode = Literal["sample", "batch", "group"]
MODES: tuple[Mode, ...] = ("sample", "batch", "group")


@dataclass(frozen=True)
class ParamProblem:
    """One bad parameter: which, what is wrong, and the fix (what a recipe error prints)."""

    param: str
    message: str
    fix: str = ""


class RewardParamsError(ValueError):
    """A reward was given parameters it does not accept (or invalid values for them).

    ``problems`` names the parameters at fault (a recipe error points at their lines); ``fix`` says
    what to do when the error is about the parameters as a whole.
    """

    def __init__(self, message: str = "", *, problems: Sequence[ParamProblem] = (), fix: str = "") -> None:
        self.problems, self.fix = list(problems), fix
        super().__init__(message or "; ".join(p.message for p in self.problems))


@dataclass(frozen=True)
class Reward:
    """A named, documented reward function and how to call it."""

    name: str
    fn: Callable[..., Any]
    mode: Mode = "sample"
    description: str = ""
    #: Names of parameters whose *values* name other rewards this one reads from ``sample.scores``.
    depends_on: tuple[str, ...] = ()
    #: Domains the reward is meant for (documentation and `rewardkit plugins`; routing is per recipe).
    domains: tuple[str, ...] = ()
    #: Safe to cache: the same sample and params always give the same score.
    deterministic: bool = True
    #: Filled in by the registry: which plugin registered it, and that plugin's version.
    plugin: str = ""
    version: str = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    #: ``validate(**params)`` with every parameter (defaults filled in); raises RewardParamsError.
    validate: Callable[..., None] | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"reward {self.name!r}: mode must be one of {MODES}, not {self.mode!r}")
        if not self.defaults:
            object.__setattr__(self, "defaults", _param_defaults(self.fn))

    @property
    def accepts_any_params(self) -> bool:
        return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(self.fn).parameters.values())

    def check_params(self, params: Mapping[str, Any]) -> None:
        """Raise RewardParamsError for unknown parameters (naming the accepted ones) or bad values.

        The engine calls this once, when it is built, so a bad recipe fails before any scoring.
        """
        if not self.accepts_any_params:
            unknown = sorted(set(params) - set(self.defaults))
            if unknown:
                accepted = ", ".join(sorted(self.defaults)) or "none"
                raise RewardParamsError(
                    f"reward {self.name!r} has no parameter {', '.join(map(repr, unknown))}; it accepts: {accepted}"
                )
        problems = check_param_types(self.fn, params, name=self.name, defaults=self.defaults)
        if problems:
            raise RewardParamsError(problems=problems)
        if self.validate is not None:
            self.validate(**{**self.defaults, **params})

    def dependencies(self, params: Mapping[str, Any]) -> list[str]:
        """The reward ids this reward reads, given its parameters."""
        deps = []
        for key in self.depends_on:
            value = params.get(key, self.defaults.get(key))
            if value:
                deps.extend([value] if isinstance(value, str) else list(value))
        return deps

    def __call__(self, sample_or_samples: Any, **params: Any) -> Any:
        """Call the underlying function directly (params checked; no deadline, no cache): for tests."""
        self.check_params(params)
        return self.fn(sample_or_samples, **params)

    def score(self, samples: Sequence[Sample], params: Mapping[str, Any]) -> list[Score]:
        """Score ``samples`` in this reward's call shape; one call, no containment."""
        if self.mode == "sample":
            return [Score.coerce(self.fn(s, **params)) for s in samples]
        results = self.fn(list(samples), **params)
        results = list(results)
        if len(results) != len(samples):
            raise ValueError(
                f"reward {self.name!r} returned {len(results)} scores for {len(samples)} samples"
            )
        return [Score.coerce(r) for r in results]

    def __reduce__(self) -> Any:
        # Pickle by reference where the decorated function is importable (what process workers
        # need): the module attribute is the @reward-decorated original; registry copies differ
        # from it only in plugin and version. Otherwise pickle the fields (cloudpickle handles
        # local functions).
        module, qualname = getattr(self.fn, "__module__", None), getattr(self.fn, "__qualname__", "")
        if module and "<locals>" not in qualname:
            try:
                original = _import_attr(module, qualname)
            except Exception:  # noqa: BLE001 - not importable: pickle by value below
                original = None
            if isinstance(original, Reward) and original.fn is self.fn and original.name == self.name:
                return (_reward_by_reference, (module, qualname, self.plugin, self.version))
        return (_rebuild_reward, tuple(getattr(self, f.name) for f in fields(self)))

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mode": self.mode,
            "description": self.description,
            "plugin": self.plugin,
            "version": self.version,
            "domains": list(self.domains),
            "params": {k: _jsonable(v) for k, v in self.defaults.items()},
            "depends_on": list(self.depends_on),
        }


def _import_attr(module: str, qualname: str) -> Any:
    import importlib

    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _rebuild_reward(*values: Any) -> Reward:
    return Reward(*values)


def _reward_by_reference(module: str, qualname: str, plugin: str, version: str) -> Reward:
    original = _import_attr(module, qualname)
    return original if (original.plugin, original.version) == (plugin, version) else replace(
        original, plugin=plugin, version=version)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


def _param_defaults(fn: Callable[..., Any]) -> dict[str, Any]:
    """Keyword parameters after the first (the sample or samples) and their defaults."""
    params = list(inspect.signature(fn).parameters.values())[1:]
    return {
        p.name: (None if p.default is p.empty else p.default)
        for p in params
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


# -- parameter types -------------------------------------------------------------------------------
#: Per reward function: parameter name -> pydantic TypeAdapter of its annotation (built on first use).
_ADAPTERS: weakref.WeakKeyDictionary[Callable[..., Any], dict[str, Any]] = weakref.WeakKeyDictionary()


def _strict_scalars(ann: Any) -> Any:
    """``ann`` with bool, int, float and str made strict, nested types included: YAML already gives
    typed values, so ``"no"`` is not a bool and ``"5s"`` not a float (an int still is a float).
    Other types (Path, enums, models) keep pydantic's usual conversions from strings."""
    import types
    import typing

    from pydantic import Strict

    if ann in (bool, int, float, str):
        return typing.Annotated[ann, Strict()]
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is None or not args or origin in (typing.Literal, typing.Annotated):
        return ann
    inner = tuple(a if a is Ellipsis else _strict_scalars(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return typing.Union[inner]  # noqa: UP007 - built from a tuple of types
    try:
        return origin[inner]
    except TypeError:  # a generic that cannot be rebuilt: validate it as written
        return ann


def _param_adapters(fn: Callable[..., Any]) -> dict[str, Any]:
    """TypeAdapters for the annotated keyword parameters of ``fn`` (after the sample). Annotations that
    do not resolve (string annotations naming what is not importable) or that pydantic cannot check
    are skipped: those parameters accept anything, as unannotated ones do."""
    target = inspect.unwrap(fn)
    try:
        cached = _ADAPTERS.get(target)
    except TypeError:  # not weak-referenceable
        cached = None
    if cached is not None:
        return cached
    import typing

    from pydantic import TypeAdapter

    params = list(inspect.signature(target).parameters.values())[1:]
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # noqa: BLE001 - one bad annotation: resolve the others one by one
        hints = {}
        for p in params:
            if isinstance(p.annotation, str):
                try:
                    hints[p.name] = eval(p.annotation, getattr(target, "__globals__", {}))
                except Exception:  # noqa: BLE001, S112 - unresolvable: accept anything
                    continue
            elif p.annotation is not p.empty:
                hints[p.name] = p.annotation
    adapters: dict[str, Any] = {}
    for p in params:
        ann = hints.get(p.name, p.empty)
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) or ann in (p.empty, Any, object):
            continue
        try:
            adapters[p.name] = (TypeAdapter(_strict_scalars(ann)), ann)
        except Exception:  # noqa: BLE001, S112 - a type pydantic cannot validate: accept anything
            continue
    try:
        _ADAPTERS[target] = adapters
    except TypeError:
        pass
    return adapters


def type_name(ann: Any) -> str:
    """A short readable name of a type annotation: ``float``, ``list[str]``, ``Literal['a', 'b']``."""
    if isinstance(ann, type) and not getattr(ann, "__args__", None):
        return ann.__name__
    return str(ann).replace("typing.", "").replace("collections.abc.", "").replace("NoneType", "None")


def _yaml_scalar(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (str, list, dict, tuple)) else repr(value)


def check_param_types(fn: Callable[..., Any], params: Mapping[str, Any], *, name: str = "",
                      defaults: Mapping[str, Any] | None = None) -> list[ParamProblem]:
    """Problems with ``params`` (those given) against ``fn``'s parameter annotations.

    Scalars are strict: ``"no"`` is not a bool, ``"5s"`` (or ``"5"``) not a number; an int is a float.
    """
    from pydantic import ValidationError

    adapters = _param_adapters(fn)
    problems = []
    for key, value in params.items():
        entry = adapters.get(key)
        if entry is None:
            continue
        adapter, ann = entry
        try:
            adapter.validate_python(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = "".join(f"[{p!r}]" for p in first["loc"])
            detail = first["msg"][0].lower() + first["msg"][1:]
            message = (f"reward {name or getattr(fn, '__name__', '?')!r}: param {key!r} must be {type_name(ann)}, "
                       f"not {value!r} ({type(value).__name__}){': ' + where + ' ' + detail if where else ''}")
            problems.append(ParamProblem(key, message, _type_fix(key, value, ann, (defaults or {}).get(key))))
    return problems


def _type_fix(key: str, value: Any, ann: Any, default: Any) -> str:
    """What to write instead: a hint for strings that look like numbers or booleans, and an example."""
    hint = ""
    base = {t for t in (bool, int, float) if t is ann or t in getattr(ann, "__args__", ())}
    if isinstance(value, str) and bool in base:
        hint = "write true or false, without quotes"
    elif isinstance(value, str) and base:
        hint = "write a plain number, without quotes or units"
    example = f"e.g. `{key}: {_yaml_scalar(default)}` (the default)" if default is not None else ""
    return "; ".join(x for x in (hint or f"give a {type_name(ann)}", example) if x)


def reward(
    name: str,
    *,
    mode: Mode = "sample",
    description: str | None = None,
    depends_on: Sequence[str] = (),
    domains: Sequence[str] = (),
    deterministic: bool = True,
    validate: Callable[..., None] | None = None,
) -> Callable[[Callable[..., Any]], Reward]:
    """Describe a function as a reward.

    >>> @reward("demo.exact")
    ... def exact(sample, *, strip=True):
    ...     got, want = sample.completion_text, str(sample.reference)
    ...     return float(got.strip() == want.strip()) if strip else float(got == want)

    The function's keyword parameters (with their defaults) are the reward's ``params`` in a recipe.
    ``validate(**params)`` (all params, defaults filled in) may raise :class:`RewardParamsError` for
    bad values; it runs when a recipe is validated and when an engine is built, not per sample.
    """

    def wrap(fn: Callable[..., Any]) -> Reward:
        doc = description if description is not None else inspect.getdoc(fn) or ""
        return Reward(
            name=name,
            fn=fn,
            mode=mode,
            description=doc.strip().split("\n\n")[0].replace("\n", " "),
            depends_on=tuple(depends_on),
            domains=tuple(domains),
            deterministic=deterministic,
            validate=validate,
        )

    return wrap
