"""The plugin's hook: registers the ``judge.*`` rewards and the three judge backends."""

from __future__ import annotations

from rewardkit import Registry, hookimpl

from .backends.base import _BUILTIN
from .rewards import REWARDS


class _LazyBackend:
    """A built-in backend class named in the registry without importing its module (vllm, torch)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        from .backends.base import backend_class

        return backend_class(self.kind)(*args, **kwargs)

    def __repr__(self) -> str:
        module, attr = _BUILTIN[self.kind]
        return f"{module}.{attr}"


@hookimpl
def rewardkit_register(registry: Registry) -> None:
    for r in REWARDS:
        registry.add_reward(r)
    for kind in _BUILTIN:
        registry.add_judge_backend(kind, _LazyBackend(kind))
