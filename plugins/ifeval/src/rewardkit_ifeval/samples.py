"""Deterministic sample responses for IFEval prompts, to exercise the rewards end to end.

For each row of IFEval's ``input_data.jsonl`` three completions are written:

* ``follows``: built from the row's instructions to follow all of them (plain filler sentences
  plus the bullets, sections, postscripts, keywords... each instruction asks for);
* ``chatty``: the same with a chatty first line and a sign-off last line, which strict mode holds
  against the response and loose mode forgives (the IFEval paper's reason for loose mode);
* ``ignores``: one fixed generic answer that pays no attention to the instructions.

This is test data, not a model: it is built from the instruction ids and kwargs and never asks a
checker whether it passes (it only measures its own length with the shared word and sentence
counters, to know when it has written enough). Run ``python -m rewardkit_ifeval.samples --input input_data.jsonl --output rows.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any
from collections.abc import Iterable, Iterator, Mapping, Sequence

from .filler import ENGLISH, OTHER
from .text import sentences, words

VARIANTS = ("follows", "chatty", "ignores")

IGNORES = (
    "Sure, here is my answer. This topic is Interesting, and there are many things to say about it. "
    "In summary, I hope this helps!"
)
_NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _num(k: int) -> str:
    return _NUMBER_WORDS[k - 1] if k <= len(_NUMBER_WORDS) else f"number {k}"


class _Plan:
    """What the instructions of one row ask for, gathered from their kwargs."""

    def __init__(self, ids: Sequence[str], kwargs: Sequence[Mapping[str, Any] | None]):
        self.k: dict[str, list[dict[str, Any]]] = {}
        for iid, kw in zip(ids, kwargs):
            self.k.setdefault(iid, []).append({a: v for a, v in (kw or {}).items() if v is not None})

    def has(self, iid: str) -> bool:
        return iid in self.k

    def one(self, iid: str) -> dict[str, Any]:
        return self.k[iid][0]

    def bounds(self, iid: str, count: str) -> tuple[int, int]:
        """(minimum, maximum) for a count instruction that may be given more than once."""
        lo, hi = 0, 10**9
        for kw in self.k.get(iid, []):
            n = int(kw[count])
            if kw["relation"] == "at least":
                lo = max(lo, n)
            else:  # "less than"
                hi = min(hi, n - 1)
        return lo, hi


def _pool(plan: _Plan, language: str) -> list[str]:
    """Filler sentences that break none of the row's "do not" instructions."""
    if language != "en":
        return list(OTHER[language])
    banned = [w.lower() for kw in plan.k.get("keywords:forbidden_words", []) for w in kw["forbidden_words"]]
    scarce = [
        kw["keyword"].lower() for kw in plan.k.get("keywords:frequency", []) if kw["relation"] == "less than"
    ]
    pool = [
        s
        for s in ENGLISH
        if not any(re.search(rf"\b{re.escape(w)}\b", s) for w in banned) and not any(k in s for k in scarce)
    ]
    for kw in plan.k.get("keywords:letter_frequency", []):
        if kw["let_relation"] == "less than":
            letter = kw["letter"].lower()
            pool = sorted(pool, key=lambda s: s.count(letter))  # the sentences poorest in it first
    return pool or ["ok."]


def _take(pool: list[str], plan: _Plan, n: int, offset: int) -> list[str]:
    """``n`` sentences from ``pool``, keeping under every "fewer than N letter x" budget."""
    budgets = {
        kw["letter"].lower(): int(kw["let_frequency"]) - 1
        for kw in plan.k.get("keywords:letter_frequency", [])
        if kw["let_relation"] == "less than"
    }
    lettered = bool(budgets)
    out: list[str] = []
    i = 0
    while len(out) < n and i < n + 4 * len(pool):
        s = pool[(i if lettered else i + offset) % len(pool)]
        i += 1
        if all(s.count(ch) <= left for ch, left in budgets.items()):
            out.append(s)
            budgets = {ch: left - s.count(ch) for ch, left in budgets.items()}
    return out


def _extras(plan: _Plan) -> list[str]:
    """Sentences carrying keywords, highlights, placeholders, letters and capital words."""
    extras: list[str] = []
    for kw in plan.k.get("keywords:existence", []):
        extras.append("we mention " + " and ".join(kw["keywords"]) + " here.")
    for kw in plan.k.get("keywords:frequency", []):
        if kw["relation"] == "at least":
            extras.append(" ".join([kw["keyword"]] * int(kw["frequency"])) + ".")
    if plan.has("detectable_format:number_highlighted_sections"):
        n = max(int(kw["num_highlights"]) for kw in plan.k["detectable_format:number_highlighted_sections"])
        extras.append("see " + " and ".join(f"*part {_num(i)}*" for i in range(1, n + 1)) + ".")
    if plan.has("detectable_content:number_placeholders"):
        n = max(int(kw["num_placeholders"]) for kw in plan.k["detectable_content:number_placeholders"])
        extras.append("fill in " + " ".join(f"[field {_num(i)}]" for i in range(1, n + 1)) + ".")
    for kw in plan.k.get("keywords:letter_frequency", []):
        if kw["let_relation"] == "at least":
            extras.append("look " + kw["letter"].lower() * int(kw["let_frequency"]) + ".")
    for kw in plan.k.get("change_case:capital_word_frequency", []):
        if kw["capital_relation"] == "at least":
            extras.append(" ".join(["NOTE"] * int(kw["capital_frequency"])) + ".")
    return extras


def _paragraph_count(plan: _Plan) -> int:
    n_par = 1
    if plan.has("length_constraints:number_paragraphs"):
        n_par = int(plan.one("length_constraints:number_paragraphs")["num_paragraphs"])
    elif plan.has("length_constraints:nth_paragraph_first_word"):
        n_par = int(plan.one("length_constraints:nth_paragraph_first_word")["num_paragraphs"])
    if plan.has("detectable_format:multiple_sections"):
        n_par = max(n_par, int(plan.one("detectable_format:multiple_sections")["num_sections"]))
    return n_par


def _render(plan: _Plan, body: list[str], extras: list[str]) -> str:
    """The response text: paragraphs, sections, bullets, title, postscript, case, wrappers."""
    n_par = _paragraph_count(plan)
    sep = "\n***\n" if plan.has("length_constraints:number_paragraphs") else "\n\n"
    paragraphs: list[list[str]] = [[] for _ in range(n_par)]
    for i, s in enumerate(extras + body):
        paragraphs[i % n_par].append(s)
    if plan.has("length_constraints:nth_paragraph_first_word"):
        kw = plan.one("length_constraints:nth_paragraph_first_word")
        nth = int(kw["nth_paragraph"]) - 1
        if nth < n_par:
            paragraphs[nth].insert(0, kw["first_word"] + " is where this paragraph starts.")
    texts = [" ".join(p) for p in paragraphs]
    if plan.has("detectable_format:number_bullet_lists"):
        n = int(plan.one("detectable_format:number_bullet_lists")["num_bullets"])
        texts[-1] += "".join(f"\n* point {_num(i)}" for i in range(1, n + 1))
    if plan.has("detectable_format:multiple_sections"):
        splitter = plan.one("detectable_format:multiple_sections")["section_spliter"]
        texts = [f"{splitter} {i}\n{t}" for i, t in enumerate(texts, 1)]
    if plan.has("detectable_format:title"):
        texts[0] += "\n<<a plain title>>"
    text = sep.join(texts)
    if plan.has("detectable_content:postscript"):
        text += "\n" + plan.one("detectable_content:postscript")["postscript_marker"] + " thanks for reading."
    if plan.has("combination:repeat_prompt"):
        text = plan.one("combination:repeat_prompt")["prompt_to_repeat"].strip() + "\n" + text
    if plan.has("startend:end_checker"):
        text += "\n" + plan.one("startend:end_checker")["end_phrase"]
    if plan.has("change_case:english_lowercase"):
        text = text.lower()
    elif plan.has("change_case:english_capital"):
        text = text.upper()
    if plan.has("detectable_format:constrained_response"):
        text = "My answer is yes. " + text
    if plan.has("detectable_format:json_format"):
        text = json.dumps({"answer": text}, ensure_ascii=False)
    if plan.has("startend:quotation"):
        text = f'"{text}"'
    return text


def follow_response(ids: Sequence[str], kwargs: Sequence[Mapping[str, Any] | None], seed: int = 0) -> str:
    """A response built to follow every instruction of one IFEval row."""
    plan = _Plan(ids, kwargs)
    language = (
        plan.one("language:response_language")["language"] if plan.has("language:response_language") else "en"
    )
    pool = _pool(plan, language)
    extras = _extras(plan)
    min_w, max_w = plan.bounds("length_constraints:number_words", "num_words")
    min_s, max_s = plan.bounds("length_constraints:number_sentences", "num_sentences")
    # Every paragraph needs a sentence, and language detection needs a few to be sure.
    needs_text = any(
        plan.has(i)
        for i in (
            "language:response_language",
            "change_case:english_capital",
            "change_case:english_lowercase",
        )
    )
    wanted = min(6, max_s, max(1, max_w // 12)) if needs_text else 1
    n = max(_paragraph_count(plan), wanted)
    while True:
        body = _take(pool, plan, n, seed)
        text = _render(plan, body, extras)
        if plan.has("combination:two_responses"):
            other = _render(plan, _take(pool, plan, n, seed + 1), extras)
            if other == text:
                other = _render(plan, _take(pool, plan, n + 1, seed + 1), extras)
            text = text + "\n******\n" + other
        n_words = len(words(text))
        n_sentences = len(sentences(text)) if min_s else 0
        if (n_words >= min_w and n_sentences >= min_s) or n_words > max_w or n > 400 or len(body) < n:
            return text
        # grow by about what is missing (filler sentences have about 10 words), at least one sentence
        n += max(1, (min_w - n_words) // 12, min_s - n_sentences)


def rows(data: Iterable[Mapping[str, Any]], variants: Sequence[str] = VARIANTS) -> Iterator[dict[str, Any]]:
    """Scoring rows (prompt, completion, instruction_id_list, kwargs, key, variant) for IFEval rows."""
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        raise ValueError(f"unknown variants {sorted(unknown)}; choose from {VARIANTS}")
    for row in data:
        ids, kwargs = row["instruction_id_list"], row["kwargs"]
        follows = follow_response(ids, kwargs, seed=int(row.get("key", 0)))
        completions = {
            "follows": follows,
            "chatty": "Sure! Here is my response:\n" + follows + "\nHope this helps!",
            "ignores": IGNORES,
        }
        for variant in variants:
            yield {
                "key": row.get("key"),
                "variant": variant,
                "prompt": row["prompt"],
                "completion": completions[variant],
                "instruction_id_list": ids,
                "kwargs": kwargs,
            }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rewardkit_ifeval.samples", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--input", required=True, help="IFEval input_data.jsonl")
    parser.add_argument("--output", required=True, help="JSONL to write, ready for `rewardkit score`")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help=f"comma-separated subset of {VARIANTS}"
    )
    args = parser.parse_args(argv)
    src = Path(args.input)
    if not src.is_file():
        print(f"error: --input {src}: no such file (IFEval's input_data.jsonl)", file=sys.stderr)
        return 2
    with src.open(encoding="utf-8") as f:
        data = [json.loads(line) for line in f if line.strip()]
    n = 0
    with open(args.output, "w", encoding="utf-8") as out:
        for row in rows(data, [v.strip() for v in args.variants.split(",") if v.strip()]):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    print(f"wrote {n} rows to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
