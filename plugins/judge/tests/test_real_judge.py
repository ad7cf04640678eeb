"""A real instruct model as the judge, live: SmolLM2-135M-Instruct judges GSM8K answers (right and
wrong) through the rewards, in-process on CPU; its verdicts must parse (the rate is printed).

A 135M model is a weak judge: what is checked is that its verdicts are *read* (parse rate), not that
they are right. Recorded outputs of the same model over every template are in
tests/data/smollm2_judge_outputs.json (test_verdicts.py).
"""

from __future__ import annotations

import json
import re

import pytest
from rewardkit.testing import make_sample, shared_data_dir
from rewardkit_judge import pointwise, reference, stats


@pytest.fixture(scope="module")
def gsm8k_rows() -> list:
    """Right and wrong completions for GSM8K test questions 10 and 11 (not the recorded ones)."""
    with open(shared_data_dir() / "gsm8k" / "test.jsonl") as f:
        rows = [json.loads(line) for line in f][10:12]
    samples = []
    for row in rows:
        solution, gold = row["answer"].split("####")
        steps = re.sub(r"<<.*?>>", "", solution).strip()
        gold = gold.strip()
        samples.append(make_sample(f"{steps}\nThe answer is {gold}.", row["question"], answer=gold))
        samples.append(make_sample(f"{steps.rsplit(chr(10), 1)[0]}\nThe answer is {int(gold) + 7}.",
                                   row["question"], answer=gold))
    return samples


def test_smollm2_reference_verdicts_parse(smollm2: str, gsm8k_rows: list) -> None:
    scores = reference(gsm8k_rows, backend="transformers", model=smollm2, template="reference_fewshot",
                       max_new_tokens=48, options={"device": "cpu"})
    rate = stats()["reference"]["parse_rate"]
    print(f"SmolLM2-135M live reference parse rate: {rate:.0%} of {len(scores)};",
          [s.details["verdicts"] for s in scores])
    assert rate >= 0.75  # measured: 4/4 (see the README)
    for s in scores:
        assert s.value in (0.0, 1.0) or (s.value is None and s.reason == "unparseable verdict")
        assert s.details["judge"] == smollm2


def test_smollm2_pointwise_verdicts_parse(smollm2: str, gsm8k_rows: list) -> None:
    scores = pointwise(gsm8k_rows, backend="transformers", model=smollm2, template="pointwise_fewshot",
                       max_new_tokens=48, options={"device": "cpu"})
    rate = stats()["pointwise"]["parse_rate"]
    print(f"SmolLM2-135M live pointwise parse rate: {rate:.0%} of {len(scores)};",
          [(s.details["verdicts"], s.details.get("unparseable")) for s in scores])
    assert rate >= 0.5  # measured: see the README
    assert all(s.value is None or 0.0 <= s.value <= 1.0 for s in scores)
