"""rewardkit entry point: registers every sandbox backend under its name."""

from __future__ import annotations

from typing import Any

from rewardkit import hookimpl

from .factory import backend_classes


@hookimpl
def rewardkit_register(registry: Any) -> None:
    for name, cls in backend_classes().items():
        registry.add_sandbox_backend(name, cls)
