"""`make demo` runs rewardkit.demo: run it end to end on a scratch folder."""

import json

from rewardkit.demo import main


def test_demo_scores_and_trains(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).resolve().parents[1])  # the demo reads recipes/ from the repo root
    assert main(["--workdir", str(tmp_path)]) == 0
    scored = [json.loads(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert len(scored) == 48
    # the demo's completions are right 3 times in 4, formatted every other row
    assert sum(r["rewards"]["correct"] for r in scored) == 36
    assert sum(r["rewards"]["format.think"] for r in scored) == 24
    [stage] = json.loads((tmp_path / "run" / "results.json").read_text())
    assert stage["steps"] == 3 and "rewards/correct/mean" in stage["last_rewards"]
    assert "[demo] done" in capsys.readouterr().out
