"""Judge templates: shipped as package data, rendered with the sample's fields, overridable by file."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from rewardkit.testing import make_sample
from rewardkit_judge import TEMPLATES, TemplateError, parse_verdict, render, template_source

QUESTION = "A pen costs $4. How much do 3 pens cost?"


def test_builtin_templates_are_package_files() -> None:
    folder = resources.files("rewardkit_judge") / "templates"
    for name in TEMPLATES:
        assert (folder / f"{name}.txt").is_file(), name
        where, text = template_source(name)
        assert where == f"<built-in {name}>" and "{{" in text


@pytest.mark.parametrize("name, ending", [
    ("pointwise", "Score: N"), ("reference", '"Verdict: FAIL"'), ("pairwise", '"[[C]]"'),
])
def test_builtin_templates_say_how_to_end(name: str, ending: str) -> None:
    sample = make_sample("3 * 4 = 12. The answer is 12.", QUESTION, answer="12")
    messages = render(name, sample, response_a="12", response_b="7")
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[-1]["content"]
    assert QUESTION in user and ending in user.rstrip().splitlines()[-1]  # the last instruction
    if name != "pairwise":
        assert "3 * 4 = 12. The answer is 12." in user
    else:
        assert "[Response A]\n12" in user and "[Response B]\n7" in user
    assert "{{" not in user and "{%" not in user


def test_the_example_verdicts_in_fewshot_templates_parse() -> None:
    """The worked examples show the judge the exact format the parser reads."""
    for kind in ("pointwise", "reference", "pairwise"):
        messages = render(f"{kind}_fewshot", make_sample("x", "q", answer="1"), response_a="a", response_b="b")
        examples = [m["content"] for m in messages if m["role"] == "assistant"]
        assert len(examples) == 2
        assert all(parse_verdict(kind, e).ok for e in examples), examples
        assert messages[-1]["role"] == "user"


def test_optional_reference_block() -> None:
    with_ref = render("pointwise", make_sample("12", QUESTION, answer="12"))[-1]["content"]
    without = render("pointwise", make_sample("12", QUESTION))[-1]["content"]
    assert "[Reference answer" in with_ref and "[Reference answer" not in without


def test_chat_prompt_is_written_out_by_turn() -> None:
    prompt = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}]
    completion = [{"role": "assistant", "content": "12"}]
    user = render("pointwise", make_sample(completion, prompt))[-1]["content"]
    assert "system: Be brief.\n\nuser: " + QUESTION in user
    assert "[Response]\n12" in user


def test_override_file_relative_to_working_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "mine.txt").write_text(
        "{# my judge #}\n@system\nJudge {{ columns.topic }}.\n@user\nQ: {{ prompt }}\nA: {{ completion }}\n"
        "Gold: {{ reference }} / {{ extra }}\nEnd with Score: N\n")
    monkeypatch.chdir(tmp_path)
    sample = make_sample("12", QUESTION, answer="12", topic="arithmetic")
    messages = render("prompts/mine.txt", sample, extra="more")
    assert messages == [
        {"role": "system", "content": "Judge arithmetic."},
        {"role": "user", "content": f"Q: {QUESTION}\nA: 12\nGold: 12 / more\nEnd with Score: N"},
    ]
    assert render(str(tmp_path / "prompts" / "mine.txt"), sample, extra="x")[1]["content"].endswith("Score: N")


def test_edited_template_is_reread(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("one {{ completion }}")
    assert render(str(path), make_sample("x"))[0]["content"] == "one x"
    path.write_text("two {{ completion }}")
    import os

    os.utime(path, (1, 1))  # a different modification time, even within the same clock tick
    assert render(str(path), make_sample("x"))[0]["content"] == "two x"


def test_file_without_roles_is_one_user_message(tmp_path: Path) -> None:
    path = tmp_path / "plain.txt"
    path.write_text("Rate: {{ completion }}")
    assert render(str(path), make_sample("hi")) == [{"role": "user", "content": "Rate: hi"}]


def test_template_errors_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="neither a built-in template"):
        render("no/such/template.txt", make_sample("x"))
    bad = tmp_path / "bad.txt"
    bad.write_text("@user\n{{ promt }}")
    with pytest.raises(TemplateError, match="'promt' is undefined; the fields are .*prompt"):
        render(str(bad), make_sample("x"))
    stray = tmp_path / "stray.txt"
    stray.write_text("stray words\n@user\n{{ prompt }}")
    with pytest.raises(TemplateError, match="before the first @system/@user"):
        render(str(stray), make_sample("x"))
    syntax = tmp_path / "syntax.txt"
    syntax.write_text("@user\n{% if prompt %}never closed")
    with pytest.raises(TemplateError, match="line"):
        render(str(syntax), make_sample("x"))
