"""docs/WRITING_A_VERIFIER.md works as written: its blocks run in order in an empty folder.

``<!-- file: NAME -->`` before a block writes the block to NAME; other python blocks run as scripts;
bash blocks run line by line (a trailing ``# exit N`` expects that exit status) in a throwaway venv
where `pip install -e` lands; a text block after a bash block must appear in that command's output."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _venv import child_venv

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "WRITING_A_VERIFIER.md"
_BLOCK = re.compile(r"(?:<!-- file: (?P<file>\S+) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)```", re.DOTALL)


def blocks() -> list[tuple[str, str | None, str]]:
    return [(m["lang"], m["file"], m["body"]) for m in _BLOCK.finditer(GUIDE.read_text(encoding="utf-8"))]


def test_the_guide_has_every_step():
    found = blocks()
    langs = [lang for lang, _, _ in found]
    assert langs.count("python") >= 5 and langs.count("bash") >= 4 and "yaml" in langs
    commands = " ".join(body for lang, _, body in found if lang == "bash")
    for step in ("rewardkit new plugin", "pip install", "pytest", "rewardkit plugins", "rewardkit validate",
                 "rewardkit score"):
        assert step in commands


def test_the_guide_runs(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    python = child_venv(tmp_path / "venv")
    env = {"PATH": f"{python.parent}:/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(work),
           "PYTHONDONTWRITEBYTECODE": "1"}
    last = None
    ran = 0
    for lang, file, body in blocks():
        if file is not None:
            (work / file).write_text(body, encoding="utf-8")
            continue
        if lang == "python":
            out = subprocess.run([str(python), "-c", body], cwd=work, env=env, check=False, capture_output=True, text=True,
                                 timeout=300)
            assert out.returncode == 0, f"guide block failed:\n{body}\n{out.stderr[-3000:]}"
            ran += 1
        elif lang == "bash":
            for line in body.strip().splitlines():
                command, _, comment = line.partition("  # ")
                want = int(comment.split("exit")[1]) if comment.startswith("exit") else 0
                last = subprocess.run(command, shell=True, cwd=work, env=env, check=False, capture_output=True, text=True,
                                      timeout=300)
                assert last.returncode == want, f"`{command}` exited {last.returncode}:\n{last.stdout[-2000:]}" \
                                                f"\n{last.stderr[-3000:]}"
                ran += 1
        elif lang == "text":
            assert last is not None, "a text block shows the output of the bash block before it"
            for expected in body.strip().splitlines():
                assert expected in last.stdout + last.stderr, f"{expected!r} not in:\n{last.stderr}"
    assert ran >= 11  # 3 python scripts, 8 shell commands
    listed = subprocess.run(["rewardkit", "plugins"], cwd=work, env=env, check=False, capture_output=True, text=True)
    assert "acme.keyword_match" in listed.stdout
    import json

    scored = [json.loads(line) for line in (work / "scored.jsonl").read_text().splitlines()]
    assert [row["rewards"]["acme.keyword_match"] for row in scored] == [1.0, 0.0]
