"""``make demo``: the main job on the embedded default (tiny local model, bundled data, CPU).

1. builds a tiny random-init model with a local tokenizer (no network),
2. scores GSM8K completions (right and wrong answers, with and without <think>) with the
   quickstart recipe's rewards: ``rewardkit score``,
3. runs the quickstart recipe's GRPO stage on that tiny model: ``rewardkit run --profile cpu``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .cli import main as cli
from .testing import build_tiny_model, shared_data_dir


def write_completions(path: Path, n: int = 48) -> Path:
    """GSM8K rows with completions a policy could write: right or wrong, formatted or not."""
    rows = []
    with open(shared_data_dir() / "gsm8k" / "test.jsonl", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i == n:
                break
            item = json.loads(line)
            gold = item["answer"].split("####")[-1].strip()
            answer = gold if i % 4 else str(int(gold.replace(",", "")) + 3)
            work = item["answer"].split("####")[0].strip().splitlines()[0]
            completion = (f"<think>\n{work}\n</think>\nThe answer is #### {answer}" if i % 2
                          else f"{work} So the answer is {answer}.")
            rows.append({"prompt": item["question"], "completion": completion, "answer": item["answer"],
                         "domain": "math"})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rewardkit.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default=".demo")
    parser.add_argument("--recipe", default="recipes/quickstart.yaml")
    args = parser.parse_args(argv)
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)

    model = work / "tiny-model"
    if not (model / "config.json").is_file():
        print(f"[demo] building a tiny local model in {model}")
        build_tiny_model(model)
    os.environ["REWARDKIT_TINY_MODEL"] = str(model)

    print("\n[demo] installed plugins")
    cli(["plugins"])

    completions = write_completions(work / "completions.jsonl")
    print(f"\n[demo] rewardkit score --recipe {args.recipe} --input {completions}")
    code = cli(["score", "--recipe", args.recipe, "--input", str(completions),
                "--output", str(work / "scores.jsonl"), "--overwrite"])
    if code:
        return code
    first = json.loads((work / "scores.jsonl").read_text().splitlines()[1])
    print(f"[demo] a scored row: rewards={first['rewards']} reward={first['reward']}")

    print(f"\n[demo] rewardkit run {args.recipe} --profile cpu")
    code = cli(["run", args.recipe, "--profile", "cpu", "--output-dir", str(work / "run")])
    if code:
        return code
    results = json.loads((work / "run" / "results.json").read_text())
    for stage in results:
        print(f"[demo] stage {stage['stage']}: {stage.get('steps')} steps in {stage['seconds']} s; "
              f"last logged rewards {stage.get('last_rewards')}; model saved to {stage.get('model')}")
    print(f"\n[demo] done: scores in {work / 'scores.jsonl'}, run in {work / 'run'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
