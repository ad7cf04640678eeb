"""rewardkit-sandbox: run untrusted, model-written code isolated and bounded.

```python
from rewardkit_sandbox import Limits, get_sandbox
with get_sandbox("auto", workers=2, limits=Limits(wall_seconds=5)) as sb:
    res = sb.run(["python3", "main.py"], files={"main.py": "print(1)"})
    assert res.exit_code == 0 and res.stdout == "1\\n"
```
Backends: ``process`` (rlimits + per-slot uid), ``forkserver`` (Python only: fork from a warm,
pre-imported interpreter), ``bubblewrap`` (namespaces, no network) and ``docker`` (a pool of locked-down
long-lived containers). :func:`available_backends` says which work here and why not.
"""

from __future__ import annotations

from .base import Sandbox, SandboxError
from .factory import available_backends, get_sandbox, resolve_backend
from .types import Limits, RunRequest, RunResult

__all__ = [
    "Limits",
    "RunRequest",
    "RunResult",
    "Sandbox",
    "SandboxError",
    "available_backends",
    "get_sandbox",
    "resolve_backend",
]
