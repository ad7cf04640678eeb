"""`rewardkit new plugin NAME`: the scaffold installs (`pip install -e`) into a fresh virtual environment
and passes its own tests (the conformance suite included) at once; `rewardkit plugins` then lists it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rewardkit.scaffold import ScaffoldError, new_plugin

sys.path.insert(0, str(Path(__file__).parent))
from _venv import child_venv


def test_new_plugin_installs_and_passes_its_own_tests(tmp_path, cli):
    out = cli("new", "plugin", "kwcheck", "--dir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    root = tmp_path / "rewardkit-kwcheck"
    assert (root / "pyproject.toml").is_file() and (root / "tests" / "test_rewards.py").is_file()
    python = child_venv(tmp_path / "venv")
    pip = subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", "install", "-q", "--no-deps",
                          "--no-build-isolation", "-e", str(root)], check=False, capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr[-3000:]
    tests = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests")],
                           check=False, capture_output=True, text=True, cwd=root, timeout=300)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    passed = int(tests.stdout.strip().splitlines()[-1].split(" passed")[0].split()[-1])
    assert passed >= 10  # the conformance checks plus the plugin's own two tests
    listed = subprocess.run([str(python), "-m", "rewardkit.cli", "plugins", "--json"], check=False, capture_output=True,
                            text=True, cwd=tmp_path, timeout=120)
    assert listed.returncode == 0, listed.stderr
    plugins = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}
    assert plugins["kwcheck"]["distribution"] == "rewardkit-kwcheck"
    assert [r["name"] for r in plugins["kwcheck"]["rewards"]] == ["kwcheck.keyword_match"]


def test_new_plugin_refuses_bad_names_and_existing_folders(tmp_path, cli):
    with pytest.raises(ScaffoldError, match="lowercase Python identifier"):
        new_plugin("My-Plugin", tmp_path)
    new_plugin("twice", tmp_path)
    out = cli("new", "plugin", "twice", "--dir", str(tmp_path))
    assert out.returncode == 2 and "already exists" in out.stderr and "Traceback" not in out.stderr
