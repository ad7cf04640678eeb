"""Adapters: a recipe's rewards inside other trainers (verl, OpenRLHF) and behind an HTTP server.

The adapter files (``rewardkit/adapters/verl.py``, ``rewardkit/adapters/openrlhf.py``) are what those
trainers load by *file path*; they use absolute imports only, so loading them outside the package works.
What they share lives here: which recipe to use (:func:`engine_for`) and which rewards a row goes to
(:func:`route_domain`). See docs/ADAPTERS.md.
"""

from __future__ import annotations

import json
import os
import threading
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from ..engine import ScoringEngine
    from ..recipe import Recipe

#: Environment variables the adapters read when their caller passes no setting.
RECIPE_ENV, PROFILE_ENV, DOMAINS_ENV = "REWARDKIT_RECIPE", "REWARDKIT_PROFILE", "REWARDKIT_DOMAINS"

#: Dataset names trainers put in ``data_source`` (verl's example preprocessors and common RL sets), and
#: the domains they may be routed to, best first: the first one the recipe's rewards serve wins.
KNOWN_SOURCES: dict[str, tuple[str, ...]] = {
    "openai/gsm8k": ("gsm8k", "math"),
    "gsm8k": ("gsm8k", "math"),
    "lighteval/MATH": ("math", "MATH"),
    "DigitalLearningGmbH/MATH-lighteval": ("math", "MATH"),
    "HuggingFaceH4/MATH-500": ("math", "MATH"),
    "math_dapo": ("math", "MATH"),
    "BytedTsinghua-SIA/DAPO-Math-17k": ("math", "MATH"),
    "hiyouga/geometry3k": ("math", "MATH"),
    "codecontests": ("code",),
    "apps": ("code",),
    "codeforces": ("code",),
    "taco": ("code",),
    "likaixin/TACO-verified": ("code",),
    "openai/humaneval": ("code",),
    "google/IFEval": ("ifeval",),
    "allenai/RLVR-IFeval": ("ifeval",),
}


class RoutingError(ValueError):
    """A row's data source routes to none of the recipe's domain-specific rewards."""


_loaded: dict[tuple[str, str | None], tuple["Recipe", "ScoringEngine"]] = {}
_lock = threading.Lock()


def recipe_setting(recipe: str | None, profile: str | None) -> tuple[str, str | None]:
    """The recipe path and profile: the arguments, else ``$REWARDKIT_RECIPE`` / ``$REWARDKIT_PROFILE``."""
    recipe = recipe or os.environ.get(RECIPE_ENV)
    if not recipe:
        raise ValueError(f"rewardkit needs a recipe: pass recipe=PATH (verl: reward_kwargs.recipe) or set "
                         f"{RECIPE_ENV}=recipes/quickstart.yaml")
    return str(recipe), profile or os.environ.get(PROFILE_ENV) or None


def loaded(recipe: str | None = None, profile: str | None = None) -> tuple["Recipe", "ScoringEngine"]:
    """A recipe and its scoring engine, loaded once per process (trainers call the adapters per row)."""
    key = recipe_setting(recipe, profile)
    found = _loaded.get(key)
    if found is None:
        with _lock:
            found = _loaded.get(key)
            if found is None:
                from ..recipe import load_recipe

                spec = load_recipe(key[0], profile=key[1])
                if not spec.rewards:
                    raise ValueError(f"{key[0]}: the recipe has no rewards: add a `rewards:` list")
                found = _loaded[key] = (spec, spec.build_engine())
    return found


def engine_for(recipe: str | None = None, profile: str | None = None) -> "ScoringEngine":
    """The scoring engine of a recipe (see :func:`loaded`)."""
    return loaded(recipe, profile)[1]


def domain_map(domains: Mapping[str, str] | str | None) -> dict[str, str]:
    """``data_source -> domain`` overrides: a mapping, a JSON object string, else ``$REWARDKIT_DOMAINS``."""
    raw: Any = domains if domains is not None else os.environ.get(DOMAINS_ENV)
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{DOMAINS_ENV} / domains must be a JSON object like "
                             f"'{{\"openai/gsm8k\": \"math\"}}', not {raw!r} ({exc})") from None
    if not isinstance(raw, Mapping) or not all(isinstance(v, str) for v in raw.values()):
        raise ValueError("domains must map data_source names to domain names, e.g. "
                         f"{{'openai/gsm8k': 'math'}}; got {raw!r}")
    return {str(k): v for k, v in raw.items()}


def engine_domains(engine: "ScoringEngine") -> set[str]:
    """Every domain some reward of the engine is restricted to (empty: every reward scores every row)."""
    return {d for spec in engine.specs for d in (spec.domains or ())}


def route_domain(data_source: str | None, engine: "ScoringEngine", overrides: Mapping[str, str] | None = None,
                 explicit: str | None = None) -> str | None:
    """The domain a row from ``data_source`` is scored as.

    In order: ``explicit`` (a row's own ``domain``), ``overrides[data_source]``, the data source itself
    when the recipe has a reward for that domain, the first of :data:`KNOWN_SOURCES` the recipe serves.
    When the recipe restricts rewards to domains and none of these match, raise :class:`RoutingError`
    (silently scoring a row with no reward would train on zeros).
    """
    if explicit:
        return explicit
    if overrides and data_source in overrides:
        return overrides[data_source]
    served = engine_domains(engine)
    if not served or data_source in served:
        return data_source
    for candidate in KNOWN_SOURCES.get(str(data_source), ()):
        if candidate in served:
            return candidate
    raise RoutingError(
        f"data_source {data_source!r} routes to none of the recipe's rewards (they serve the domains "
        f"{', '.join(sorted(served))}); map it, e.g. REWARDKIT_DOMAINS='{{\"{data_source}\": "
        f"\"{sorted(served)[0]}\"}}' or reward_kwargs.domains, or give rows an extra_info.domain")


def flat_scores(scored: Any, ids: list[str], none_value: float) -> tuple[float, dict[str, float], bool]:
    """A :class:`~rewardkit.engine.ScoredSample` as numbers a trainer accepts (no None, no NaN):
    ``(total, {reward id: value}, scored)``; ``scored`` is False when no reward applied (the total is
    then ``none_value``), so the trainer can log how often that happens."""
    values = {k: none_value if scored.scores[k].value is None else float(scored.scores[k].value) for k in ids}
    return (none_value if scored.total is None else float(scored.total)), values, scored.total is not None
