"""The same response always gets the same verdict: twice in one process, and in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest

from rewardkit import RewardKit
from rewardkit.testing import make_sample, shared_data_dir
from rewardkit_ifeval.text import detect_language

#: langdetect samples n-grams at random: unseeded, it calls this text Dutch about one time in six.
BORDERLINE = "hello world"

_SCORE_IN_FRESH_PROCESS = """
import json, sys
from rewardkit import RewardKit
from rewardkit.testing import make_sample
reward = RewardKit().registry.reward("ifeval.instructions")
out = []
for item in json.load(sys.stdin):
    sample = make_sample(
        item["response"], item["prompt"], instruction_id_list=item["ids"], kwargs=item["kwargs"]
    )
    out.append({mode: reward.score([sample], {"mode": mode})[0].details["instructions"]
                for mode in ("strict", "loose")})
json.dump(out, sys.stdout)
"""


@pytest.fixture(scope="module")
def items(realistic_responses: list[tuple[int, str]]) -> list[dict[str, Any]]:
    with (shared_data_dir() / "ifeval" / "input_data.jsonl").open(encoding="utf-8") as f:
        rows = {row["key"]: row for row in map(json.loads, f)}
    out = [
        {
            "prompt": rows[k]["prompt"],
            "response": text,
            "ids": rows[k]["instruction_id_list"],
            "kwargs": rows[k]["kwargs"],
        }
        for k, text in realistic_responses
    ]
    # short answers whose language langdetect is unsure of
    for text in (BORDERLINE, "Salut, ça va?", "Prost!"):
        for iid, kwargs in (
            ("language:response_language", {"language": "en"}),
            ("change_case:english_lowercase", {}),
        ):
            out.append({"prompt": "", "response": text, "ids": [iid], "kwargs": [kwargs]})
    return out


def _score(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    reward = RewardKit().registry.reward("ifeval.instructions")
    out = []
    for item in items:
        sample = make_sample(
            item["response"], item["prompt"], instruction_id_list=item["ids"], kwargs=item["kwargs"]
        )
        scores = {mode: reward.score([sample], {"mode": mode})[0] for mode in ("strict", "loose")}
        out.append({mode: score.details["instructions"] for mode, score in scores.items()})
    return out


def test_unseeded_langdetect_is_not_deterministic() -> None:
    # The hazard the seed removes (so the tests below have something to catch).
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)

    def unseeded(text: str) -> str:
        detector = factory.create()
        detector.append(text)
        return detector.detect()

    assert len(Counter(unseeded(BORDERLINE) for _ in range(100))) > 1


def test_language_detection_is_seeded() -> None:
    assert len({detect_language(BORDERLINE) for _ in range(100)}) == 1


def test_seed_is_ours_whatever_langdetect_global_state() -> None:
    # Another library unseeding langdetect's global factory does not change our verdicts.
    from langdetect import DetectorFactory

    before = [detect_language(BORDERLINE) for _ in range(20)]
    saved = DetectorFactory.seed
    DetectorFactory.seed = None
    try:
        after = [detect_language(BORDERLINE) for _ in range(20)]
    finally:
        DetectorFactory.seed = saved
    assert len(set(before + after)) == 1


def test_same_responses_scored_twice_get_identical_verdicts(items: list[dict[str, Any]]) -> None:
    first = _score(items)
    second = _score(items)
    assert first == second
    assert [len(v["strict"]) for v in first] == [len(item["ids"]) for item in items]


def test_a_fresh_process_gives_the_same_verdicts(items: list[dict[str, Any]]) -> None:
    here = _score(items)
    env = {**os.environ, "PYTHONHASHSEED": "12345"}  # and another hash seed than this process's
    done = subprocess.run(
        [sys.executable, "-c", _SCORE_IN_FRESH_PROCESS],
        input=json.dumps(items),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout) == here
