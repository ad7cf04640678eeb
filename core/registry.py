"""What the installed plugins registered, by name: rewards, answer parsers, sandbox and judge
backends, and stage types."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

from .reward import Reward

KINDS = ("reward", "parser", "sandbox_backend", "judge_backend", "stage")


class PluginConflictError(RuntimeError):
    """Two plugins registered the same name."""


class UnknownNameError(LookupError):
    """A name that no installed plugin registered; the message lists the closest installed names."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        self.kind, self.name = kind, name
        self.suggestions = closest(name, known)
        hint = (
            f"did you mean {' or '.join(repr(s) for s in self.suggestions)}?"
            if self.suggestions
            else "run `rewardkit plugins` to list what is installed"
        )
        super().__init__(f"no {kind.replace('_', ' ')} named {name!r} is installed; {hint}")


def closest(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    known = list(known)
    hits = difflib.get_close_matches(name, known, n=n, cutoff=0.5)
    if not hits:  # "accuracy" should still find "math.accuracy"
        tail = name.rsplit(".", 1)[-1]
        hits = [k for k in known if k.rsplit(".", 1)[-1] == tail][:n]
    return hits


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str = ""
    distribution: str = ""
    error: str | None = None  # set when the plugin failed to load


@dataclass
class Registry:
    """Names to objects, per kind, remembering which plugin registered each."""

    _entries: dict[str, dict[str, tuple[Any, PluginInfo]]] = field(
        default_factory=lambda: {k: {} for k in KINDS}
    )
    plugins: dict[str, PluginInfo] = field(default_factory=dict)
    _current: PluginInfo = field(default_factory=lambda: PluginInfo("<direct>"))

    # -- registration (called from rewardkit_register hooks) --------------------------------------
    def add_reward(self, reward: Reward | Callable[..., Any], name: str | None = None) -> Reward:
        """Register a :class:`Reward` (or a plain function, named ``name``)."""
        if not isinstance(reward, Reward):
            if name is None:
                raise TypeError("add_reward(fn) needs a name=... for a plain function")
            from .reward import reward as describe

            reward = describe(name)(reward)
        elif name is not None and name != reward.name:
            reward = replace(reward, name=name)
        reward = replace(reward, plugin=self._current.name, version=self._current.version)
        self._add("reward", reward.name, reward)
        return reward

    def add_parser(self, name: str, parser: Callable[..., Any]) -> None:
        """Register an answer parser (``text -> parsed answer``) that rewards can select by name."""
        self._add("parser", name, parser)

    def add_sandbox_backend(self, name: str, backend: Any) -> None:
        """Register a sandbox backend (a class or factory) for code-executing rewards."""
        self._add("sandbox_backend", name, backend)

    def add_judge_backend(self, name: str, backend: Any) -> None:
        """Register a judge backend (a client for an LLM judge or reward model server)."""
        self._add("judge_backend", name, backend)

    def add_stage(self, stage_type: Any) -> None:
        """Register a :class:`rewardkit.stage.StageType` that recipes can name in ``stages:``."""
        self._add("stage", stage_type.name, stage_type)

    def _add(self, kind: str, name: str, obj: Any) -> None:
        if not name or not isinstance(name, str):
            raise ValueError(f"{kind} names must be non-empty strings, got {name!r}")
        existing = self._entries[kind].get(name)
        if existing is not None and existing[0] is not obj:
            raise PluginConflictError(
                f"{kind.replace('_', ' ')} {name!r} is registered by both plugin "
                f"{existing[1].name!r} and plugin {self._current.name!r}; uninstall one of them, or "
                f"block one with RewardKit(blocked=[...]) / REWARDKIT_DISABLE_PLUGINS"
            )
        self._entries[kind][name] = (obj, self._current)

    # -- lookup -----------------------------------------------------------------------------------
    def get(self, kind: str, name: str) -> Any:
        try:
            return self._entries[kind][name][0]
        except KeyError:
            raise UnknownNameError(kind, name, self._entries[kind]) from None

    def reward(self, name: str) -> Reward:
        return self.get("reward", name)

    def parser(self, name: str) -> Callable[..., Any]:
        return self.get("parser", name)

    def sandbox_backend(self, name: str) -> Any:
        return self.get("sandbox_backend", name)

    def judge_backend(self, name: str) -> Any:
        return self.get("judge_backend", name)

    def stage(self, name: str) -> Any:
        return self.get("stage", name)

    def names(self, kind: str = "reward") -> list[str]:
        return sorted(self._entries[kind])

    def rewards(self) -> list[Reward]:
        return [self._entries["reward"][n][0] for n in self.names("reward")]

    def owner(self, kind: str, name: str) -> PluginInfo:
        return self._entries[kind][name][1]

    def __contains__(self, name: str) -> bool:
        return name in self._entries["reward"]

    def describe(self) -> dict[str, Any]:
        """Everything installed, JSON-ready (what `rewardkit plugins --json` prints)."""
        plugins = []
        for info in sorted(self.plugins.values(), key=lambda p: p.name):
            entry: dict[str, Any] = {
                "name": info.name,
                "version": info.version,
                "distribution": info.distribution,
            }
            for kind in KINDS:
                owned = [n for n, (_, p) in sorted(self._entries[kind].items()) if p.name == info.name]
                if kind == "reward":
                    entry["rewards"] = [self.reward(n).info() for n in owned]
                elif kind == "stage":
                    entry["stages"] = [self.stage(n).info() for n in owned]
                else:
                    entry[kind + "s"] = owned
            if info.error:
                entry["error"] = info.error
            plugins.append(entry)
        return {"plugins": plugins}
