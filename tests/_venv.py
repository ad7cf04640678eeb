"""A throwaway virtual environment that sees this one's packages: for tests that `pip install -e` a
package (a scaffolded plugin) without touching the environment the test suite runs in."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path


def child_venv(path: Path) -> Path:
    """Create a venv at ``path`` whose site-packages adds this environment's (its .pth files, editable
    installs and console-script-less packages included); ``bin/`` gets ``rewardkit`` and ``pytest``
    launchers. Returns the venv's python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]
    Path(purelib, "_rewardkit_parent.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    for name, module in (("rewardkit", "rewardkit.cli"), ("pytest", "pytest"), ("pip", "pip")):
        launcher = path / "bin" / name
        launcher.write_text(f'#!/bin/sh\nexec "{python}" -m {module} "$@"\n')
        launcher.chmod(0o755)
    return python
