"""Rewards and data for the sampling/RL stage tests, used by recipes as ``python`` rewards
(``function: "_rk_rewards:prompt_parity"``, with this folder on PYTHONPATH)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rewardkit.types import Sample, stable_hash

HERE = Path(__file__).resolve().parent


def hashed(text: str) -> float:
    """A value in [0, 1) that is a stable function of ``text`` (different texts: different values)."""
    return int(stable_hash(text)[:8], 16) / 16**8


def number_in(sample: Sample) -> int:
    return int(re.findall(r"\d+", sample.prompt_text)[-1])


def prompt_parity(sample: Sample) -> float:
    """Even-numbered prompts: 1.0 whatever the completion (every sample agrees); odd ones: a value
    that differs from completion to completion."""
    return 1.0 if number_in(sample) % 2 == 0 else hashed(sample.completion_text)


def coin(sample: Sample) -> float:
    """1.0 or 0.0, a stable function of the completion."""
    return float(hashed(sample.completion_text) < 0.5)


def odd_prompts_win(sample: Sample) -> float:
    """Even-numbered prompts: 0.0; odd ones: 1.0 plus a value that differs from completion to completion."""
    return 0.0 if number_in(sample) % 2 == 0 else 1.0 + hashed(sample.completion_text)


def write_prompts(path: Path, n: int) -> Path:
    """``n`` rows ``{"prompt": "Say something about number i", "answer": str(i)}``, i = 1..n."""
    path.write_text("".join(json.dumps({"prompt": f"Say something about number {i}", "answer": str(i)}) + "\n"
                            for i in range(1, n + 1)))
    return path


def cli_env() -> dict[str, str]:
    """The environment for a ``rewardkit`` subprocess that imports this module."""
    import os

    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))}


def stage_run(recipe_file: Path, stage_dir: Path, index: int = 0):
    """The StageRun for stage ``index`` of a recipe, to call a runner in this process."""
    from rewardkit.testing import stage_run as make

    return make(recipe_file, stage_dir, index)


