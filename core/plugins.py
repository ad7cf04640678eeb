"""Finding plugins: core's built-ins, the entry-point group ``rewardkit``, and objects passed in."""

from __future__ import annotations

import os
import threading
import traceback
import warnings
from importlib import metadata
from typing import Any, Iterable

import pluggy

from . import hookspecs
from .registry import PluginInfo, Registry

ENTRY_POINT_GROUP = "rewardkit"
#: Comma-separated plugin names to skip, e.g. ``REWARDKIT_DISABLE_PLUGINS=math,code``.
DISABLE_ENV = "REWARDKIT_DISABLE_PLUGINS"


class PluginLoadWarning(UserWarning):
    """An installed plugin failed to import or register; its rewards are unavailable."""


class RewardKit:
    """A plugin manager plus the registry its plugins filled.

    ``RewardKit()`` loads core's built-ins and every installed plugin. Pass ``plugins=[module]``
    to add plugins that are not installed (tests, notebooks), ``entry_points=False`` to load only
    those, and ``blocked=[name]`` to skip installed plugins by entry-point name.
    """

    def __init__(
        self,
        plugins: Iterable[Any] = (),
        *,
        entry_points: bool = True,
        blocked: Iterable[str] = (),
    ) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.registry = Registry()
        blocked = set(blocked) | {b.strip() for b in os.environ.get(DISABLE_ENV, "").split(",") if b.strip()}
        from . import builtin, version

        self._register(builtin, PluginInfo("builtin", version.__version__, "rewardkit"))
        if entry_points:
            for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
                if ep.name in blocked:
                    continue
                dist = getattr(ep, "dist", None)
                info = PluginInfo(ep.name, dist.version if dist else "", dist.name if dist else "")
                try:
                    module = ep.load()
                except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the others
                    self._broken(info, exc)
                    continue
                self._register(module, info)
        for obj in plugins:
            name = getattr(obj, "__name__", None) or type(obj).__name__
            self._register(obj, PluginInfo(name, getattr(obj, "__version__", ""), ""))

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def _register(self, plugin: Any, info: PluginInfo) -> None:
        from .registry import PluginConflictError

        if self.pm.is_registered(plugin):
            return
        self.pm.register(plugin, name=info.name)
        self.registry.plugins[info.name] = info
        # Call each plugin's register hook on its own so the registry knows who added what.
        for impl in self.pm.hook.rewardkit_register.get_hookimpls():
            if impl.plugin is not plugin:
                continue
            self.registry._current = info
            try:
                impl.function(registry=self.registry)
            except PluginConflictError:
                raise
            except Exception as exc:  # noqa: BLE001
                self._broken(info, exc)
            finally:
                self.registry._current = PluginInfo("<direct>")

    def _broken(self, info: PluginInfo, exc: BaseException) -> None:
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        self.registry.plugins[info.name] = PluginInfo(info.name, info.version, info.distribution, detail)
        warnings.warn(
            f"rewardkit plugin {info.name!r} ({info.distribution or 'not installed'}) failed to load: "
            f"{detail}. Its rewards are unavailable; reinstall it or set {DISABLE_ENV}={info.name}.",
            PluginLoadWarning,
            stacklevel=3,
        )


_default: RewardKit | None = None
_lock = threading.Lock()


def default_kit() -> RewardKit:
    """The process-wide RewardKit with every installed plugin (built once, on first use)."""
    global _default
    with _lock:
        if _default is None:
            _default = RewardKit()
        return _default


def get_registry() -> Registry:
    return default_kit().registry
