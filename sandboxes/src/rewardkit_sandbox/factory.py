"""Choosing a backend by name: :func:`get_sandbox` and :func:`available_backends`."""

from __future__ import annotations

import os
import warnings
from typing import Callable

from .base import Sandbox, SandboxError
from .types import Limits

#: ``"auto"`` picks the first usable of these: the backends that hide the host's files and processes.
AUTO_ORDER = ("bubblewrap", "docker")
#: Set to 1 to let ``"auto"`` fall back to ``process`` (trusted code only) when neither is usable.
ALLOW_PROCESS_ENV = "REWARDKIT_SANDBOX_ALLOW_PROCESS"


def backend_classes() -> dict[str, type[Sandbox]]:
    """Every backend this package ships, by name."""
    from .process import ProcessSandbox

    classes: dict[str, type[Sandbox]] = {"process": ProcessSandbox}
    for module, cls_name in (("launcher", "ForkServerSandbox"), ("bubblewrap", "BubblewrapSandbox"),
                             ("docker_backend", "DockerSandbox"), ("remote", "RemoteSandbox")):
        try:
            mod = __import__(f"rewardkit_sandbox.{module}", fromlist=[cls_name])
        except ImportError:
            continue
        cls = getattr(mod, cls_name)
        classes[cls.name] = cls
    return classes


def available_backends() -> dict[str, str | None]:
    """Backend name -> None when usable here, else the reason it is not (and how to fix it)."""
    out: dict[str, str | None] = {}
    for name, cls in backend_classes().items():
        try:
            out[name] = cls.unavailable_reason()
        except Exception as exc:  # a probe must never break listing
            out[name] = f"probe failed: {exc}"
    return out


def resolve_backend(name: str = "auto") -> str:
    """The concrete backend ``name`` means here (``"auto"`` -> the best usable one)."""
    classes = backend_classes()
    if name == "auto":
        reasons = {}
        for candidate in AUTO_ORDER:
            if candidate in classes:
                reasons[candidate] = classes[candidate].unavailable_reason()
                if reasons[candidate] is None:
                    return candidate
        why = "; ".join(f"{k}: {v}" for k, v in reasons.items())
        if os.environ.get(ALLOW_PROCESS_ENV) == "1":
            warnings.warn(
                f"rewardkit-sandbox: no isolating backend is usable ({why}); {ALLOW_PROCESS_ENV}=1 makes 'auto' "
                f"run untrusted code with the 'process' backend, which can read the host's world-readable "
                f"files. Do this for trusted code only.", RuntimeWarning, stacklevel=2)
            return "process"
        raise SandboxError(
            f"no sandbox backend that isolates untrusted code is usable here ({why}). Install one: "
            f"`apt-get install -y bubblewrap` (or `python -m rewardkit_sandbox.provision`, which also sets up "
            f"docker). For trusted code only, choose backend 'process' or 'forkserver' explicitly, or set "
            f"{ALLOW_PROCESS_ENV}=1 to let 'auto' fall back to 'process'.")
    if name not in classes:
        raise SandboxError(f"unknown sandbox backend {name!r}; choose one of {sorted(classes)} or 'auto'")
    return name


def get_sandbox(backend: str = "auto", workers: int = 1, limits: Limits | None = None,
                **options: object) -> Sandbox:
    """A ready sandbox: ``get_sandbox("auto" | "process" | "forkserver" | "bubblewrap" | "docker")``.

    ``workers`` parallel slots; ``limits`` the default bounds (per-run overrides via ``run(limits=)``).
    Backend-specific ``options`` (e.g. ``image=`` for docker) are passed to the backend's constructor.
    Raises :class:`SandboxError` naming why when the backend cannot run here.
    """
    name = resolve_backend(backend)
    cls: Callable[..., Sandbox] = backend_classes()[name]
    return cls(workers=workers, limits=limits, **options)
