"""`make demo` runs rewardkit.demo: a short version end to end from another directory, and the
pieces it is built from (the noisy teacher, the character tokenizer, the data split)."""

import json
import random

from rewardkit.demo import HELD_OUT, build_tokenizer, main, noisy_label, write_data


def test_the_teacher_forgets_carries_and_nothing_else():
    rng = random.Random(0)
    labels = [noisy_label(57, 68, rng) for _ in range(2000)]
    share_wrong = labels.count("15") / len(labels)
    assert set(labels) == {"125", "15"} and 0.55 < share_wrong < 0.65  # 57+68 without its carries: 5|15 -> 15
    assert {noisy_label(12, 34, rng) for _ in range(50)} == {"46"}  # no carry: always right


def test_tokenizer_is_one_token_per_character_and_round_trips():
    tok = build_tokenizer()
    ids = tok("57+68=125")["input_ids"]
    assert len(ids) == 9 and tok.decode(ids) == "57+68=125"
    assert tok.decode(ids + [tok.eos_token_id], skip_special_tokens=True) == "57+68=125"


def test_held_out_sums_are_never_trained_on(tmp_path):
    paths = write_data(tmp_path, seed=3, sft_rows=500)
    held = {json.loads(line)["prompt"] for line in paths["held_out"].read_text().splitlines()}
    trained = {json.loads(line)["prompt"] for name in ("sft", "rl") for line in paths[name].read_text().splitlines()}
    assert len(held) == HELD_OUT and not held & trained


def test_the_demo_runs_end_to_end_from_elsewhere(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # nothing outside the repository's package is needed
    assert main(["--workdir", str(tmp_path / "demo"), "--sft-steps", "60", "--rl-steps", "6"]) == 0
    out = capsys.readouterr().out
    assert "after noisy-teacher SFT" in out and "after GRPO with a verifier" in out and "[demo] done" in out
    run = tmp_path / "demo" / "seed0" / "run"
    results = {r["stage"]: r for r in json.loads((run / "results.json").read_text())}
    assert list(results) == ["sft-noisy-teacher", "before-rl", "grpo-verifier", "after-rl"]
    assert results["grpo-verifier"]["steps"] == 6 and 0.0 <= results["after-rl"]["greedy_accuracy"] <= 1.0
    assert (run / "02-grpo-verifier" / "reward_curves.png").stat().st_size > 1000
