"""The verdict parser: the forms judges write, the last verdict wins, out-of-range is rejected; and on
real judge outputs recorded from SmolLM2-135M-Instruct (tests/data/smollm2_judge_outputs.json)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from rewardkit_judge import Verdict, parse_verdict

DATA = Path(__file__).parent / "data" / "smollm2_judge_outputs.json"


@pytest.mark.parametrize("text, score", [
    ("The answer is right and clear.\nScore: 8", 8),
    ("Good.\nScore: 7/10", 7),
    ("**Rating:** 8", 8),
    ("## Verdict\nVerdict: [[6]]", 6),
    ("Final score = 9.5", 9.5),
    ("blah [[6]] and some trailing text.", 6),
    ("I'd rate it 7 out of 10 overall.", 7),
    ("I give it a score of 6.", 6),
    ("Score (1-10): 7", 7),
    ("Reasoning first.\n\n8", 8),
    ("Accuracy score: 3. Clarity score: 9.\nScore: 5", 5),  # the last labelled verdict
    ("Verdict: 3 was my first thought, but looking again\nScore: 9", 9),
    ("<think>Score: 2 seems harsh</think>\nScore: 6", 6),  # after the thoughts
])
def test_pointwise_forms(text: str, score: float) -> None:
    v = parse_verdict("pointwise", text)
    assert v.score == score
    assert v.value == pytest.approx((score - 1) / 9)
    assert v.label == f"{score:g}" and v.ok


@pytest.mark.parametrize("text, why", [
    ("Score: 18", "outside 1-10"),
    ("Score: 0", "outside 1-10"),
    ("Score: 4/5", "not on the 1-10 scale"),
    ("Rating: 80/100", "not on the 1-10 scale"),
    ("The score is 1 to 10.", "no 1-10 score"),  # a range, not a score
    ("It is a fine answer.", "no 1-10 score"),
    ("", "no text"),
])
def test_pointwise_rejects(text: str, why: str) -> None:
    v = parse_verdict("pointwise", text)
    assert v.value is None and not v.ok
    assert why in v.reason


@pytest.mark.parametrize("text, label", [
    ("Verdict: PASS", "PASS"),
    ("**Verdict:** FAIL", "FAIL"),
    ("They differ.\nVerdict: FAIL. The PASS criteria were not met", "FAIL"),
    ("The final answers match.\n\nFinal verdict: [[PASS]]", "PASS"),
    ("Judgement: correct", "PASS"),
    ('Verdict: "not correct"', "FAIL"),
    ("The response is INCORRECT", "FAIL"),
    ("The student says 18 and the reference says 18, so they are the same.\nVerdict: PASS", "PASS"),
    ("At first I thought Verdict: PASS, but 18 != 25.\nVerdict: FAIL", "FAIL"),
])
def test_reference_forms(text: str, label: str) -> None:
    v = parse_verdict("reference", text)
    assert v.label == label
    assert v.value == (1.0 if label == "PASS" else 0.0)


def test_reference_without_verdict_is_none_with_reason() -> None:
    v = parse_verdict("reference", "The student's final answer is 18, and the correct answer is 18.")
    assert v.value is None and "no PASS/FAIL verdict" in v.reason


@pytest.mark.parametrize("text, label, value", [
    ("Response A explains more.\n[[A]]", "A", 1.0),
    ("Both are wrong, but B is closer.\n\n[[B]]", "B", 0.0),
    ("Equally good. [[C]]", "TIE", 0.5),
    ("[[tie]]", "TIE", 0.5),
    ("Final verdict: Response B", "B", 0.0),
    ("**Verdict:** A", "A", 1.0),
    ("Response A is better than response B.", "A", 1.0),
    ("I prefer Assistant B.", "B", 0.0),
    ("[[A]] at first sight.\nOn reflection: [[B]]", "B", 0.0),
])
def test_pairwise_forms(text: str, label: str, value: float) -> None:
    v = parse_verdict("pairwise", text)
    assert (v.label, v.value) == (label, value)


@pytest.mark.parametrize("text", ["Verdict: a dog", "Both have a point.", "It is a good answer."])
def test_pairwise_lowercase_a_is_not_a_verdict(text: str) -> None:
    assert parse_verdict("pairwise", text).value is None


@pytest.mark.parametrize("kind, text", [
    # a judge echoing its instructions lists every option on one line: that is not a choice
    ("pairwise", ('Third, finish with one last line that is exactly "[[A]]" if response A is better, "[[B]]" '
                  'if response B is better, or "[[C]]" for a')),
    ("reference", 'Then finish with: "Verdict: PASS" if the final answers match, or "Verdict: FAIL" if not'),
    ("pairwise", "Response A is more concise and direct.\nResponse B is more detailed."),  # descriptions
])
def test_listed_options_are_not_a_verdict(kind: str, text: str) -> None:
    assert parse_verdict(kind, text).value is None


def test_an_echo_does_not_hide_the_verdict_after_it() -> None:
    text = 'I must end with "[[A]]", "[[B]]" or "[[C]]".\nA is right.\n[[A]]'
    assert parse_verdict("pairwise", text).label == "A"


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="pointwise, reference, pairwise"):
        parse_verdict("listwise", "[[A]]")


def test_verdict_is_a_plain_value() -> None:
    v = parse_verdict("pointwise", "Score: 10")
    assert v == Verdict(1.0, label="10", reason="score 10/10", score=10.0, matched="Score: 10")


# -- real judge outputs ----------------------------------------------------------------------------
def _recorded() -> dict:
    return json.loads(DATA.read_text())


def test_recorded_outputs_are_real_and_labelled() -> None:
    data = _recorded()
    assert "SmolLM2-135M-Instruct" in data["produced_by"]
    assert data["script"] == "plugins/judge/scripts/record_smollm2_outputs.py"
    assert (Path(__file__).parents[1] / "scripts" / "record_smollm2_outputs.py").is_file()
    assert len(data["records"]) >= 90
    assert all("verdict_by_reader" in r for r in data["records"])


def test_parser_reads_what_a_reader_reads_on_real_outputs() -> None:
    """Every recorded output parses to the verdict a person reads in it (None where it states none)."""
    disagreements = []
    for r in _recorded()["records"]:
        got = parse_verdict(r["kind"], r["text"]).label
        if got != r["verdict_by_reader"]:
            disagreements.append((r["kind"], r["template"], r["question"], got, r["verdict_by_reader"],
                                  r["text"][-120:]))
    assert not disagreements, disagreements


def test_parse_rate_on_real_outputs() -> None:
    """How often SmolLM2-135M's verdicts parse, per template (printed; floors are what was measured)."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in _recorded()["records"]:
        t = totals[r["template"]]
        t[0] += parse_verdict(r["kind"], r["text"]).ok
        t[1] += 1
    rates = {name: ok / n for name, (ok, n) in sorted(totals.items())}
    print("SmolLM2-135M-Instruct parse rates on recorded outputs:",
          {k: f"{v:.0%} of {totals[k][1]}" for k, v in rates.items()})
    for name, floor in FLOORS.items():
        assert rates[name] >= floor, (name, rates[name])


#: Parse rates measured on the recorded file (see the README); a parser change that loses any fails.
FLOORS = {
    "pointwise": 0 / 16,           # zero-shot: SmolLM2-135M answers the question instead of judging
    "pointwise_fewshot": 9 / 16,   # the other 7 end "Score: <the answer's number>", rejected as out of range
    "reference": 0 / 16,
    "reference_fewshot": 16 / 16,
    "pairwise": 1 / 16,
    "pairwise_fewshot": 14 / 16,
}
