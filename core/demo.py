"""``make demo``: reinforcement learning with a verifier, visibly learning, on a laptop CPU.

The story (measured, see the README): a 1M-parameter model imitates a *noisy teacher* of 2-digit
addition, one that forgets to carry 60% of the time. Greedy decoding then repeats the teacher's
mistake, although sampling still finds the right sum often. GRPO with an exact-match verifier
(rewardkit's ``exact_match``) moves the model's preference to the right answer, which more imitation
of the same teacher cannot do. (A clean teacher would also get ~100%: this is not "RL beats SFT",
it is "a verifier fixes what a noisy teacher taught".)

Everything is built here, nothing is downloaded: a character-level tokenizer, a random-init
Llama-config model, the data (all pairs 10..99, 200 held out), and a recipe of rewardkit's own
stages, written to the work dir and run with ``rewardkit run``::

    eval (before) -> grpo (exact-match verifier) -> eval (after)

after an ``sft`` stage on the noisy teacher. The before/after table is printed at the end, and the
GRPO stage writes ``reward_curves.png``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from .cli import main as cli

#: The teacher forgets the carry this often (when the sum needs one).
NOISE = 0.6
HELD_OUT = 200
VOCAB = ["<pad>", "<eos>", "<unk>", *"0123456789", "+", "="]


def build_tokenizer() -> Any:
    """One token per character: digits, ``+``, ``=``, and ``<pad>``/``<eos>``."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(vocab={t: i for i, t in enumerate(VOCAB)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.decoder = decoders.Fuse()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>")
    fast.padding_side = "left"
    return fast


def build_model(path: Path, seed: int) -> Path:
    """A ~1M-parameter Llama-config model (hidden 128, 4 layers) and its tokenizer, saved to ``path``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tokenizer()
    config = LlamaConfig(vocab_size=len(VOCAB), hidden_size=128, intermediate_size=512, num_hidden_layers=4,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=32,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                         bos_token_id=None, tie_word_embeddings=True)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def noisy_label(a: int, b: int, rng: random.Random) -> str:
    """The teacher's answer: right, except that a carry is forgotten with probability NOISE."""
    if (a % 10 + b % 10 >= 10 or a // 10 + b // 10 >= 10) and rng.random() < NOISE:
        tens, ones = (a // 10 + b // 10) % 10, (a % 10 + b % 10) % 10
        return str(tens * 10 + ones)
    return str(a + b)


def write_data(folder: Path, seed: int, sft_rows: int) -> dict[str, Path]:
    """The data: SFT rows from the noisy teacher (fresh noise per row), GRPO prompts with the true sum,
    and the held-out prompts (never trained on)."""
    rng = random.Random(seed)
    pairs = [(a, b) for a in range(10, 100) for b in range(10, 100)]
    rng.shuffle(pairs)
    held, train = pairs[:HELD_OUT], pairs[HELD_OUT:]
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / f"{name}.jsonl" for name in ("sft", "rl", "held_out")}

    def write(path: Path, rows: Any) -> None:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    write(paths["sft"], ({"prompt": f"{a}+{b}=", "completion": noisy_label(a, b, rng)}
                         for a, b in (rng.choice(train) for _ in range(sft_rows))))
    write(paths["rl"], ({"prompt": f"{a}+{b}=", "answer": str(a + b)} for a, b in train[:4000]))
    write(paths["held_out"], ({"prompt": f"{a}+{b}=", "answer": str(a + b)} for a, b in held))
    return paths


def recipe(model: Path, data: dict[str, Path], seed: int, sft_steps: int, rl_steps: int) -> dict[str, Any]:
    """The demo as a recipe of rewardkit's own stages."""
    evaluate = {"greedy": True, "samples": 8, "pass_at": [1, 8], "max_new_tokens": 5, "batch_size": 256,
                "temperature": 1.0}
    held_out = {"path": str(data["held_out"]), "chat": False}
    return {
        "name": "demo-addition",
        "description": "Noisy-teacher SFT on 2-digit addition, then GRPO with an exact-match verifier.",
        "model": {"name_or_path": str(model)},
        "seed": seed,
        "rewards": [{"name": "exact_match", "id": "correct", "params": {"column": "answer"}}],
        "stages": [
            {"type": "sft", "name": "sft-noisy-teacher", "data": {"path": str(data["sft"]), "chat": False},
             "args": {"max_steps": sft_steps, "per_device_train_batch_size": 128, "learning_rate": 2.0e-3,
                      "warmup_steps": 50, "lr_scheduler_type": "linear", "max_grad_norm": 1.0,
                      "logging_steps": 50, "save_steps": 500, "max_length": 16}},
            {"type": "eval", "name": "before-rl", "data": held_out, "options": evaluate},
            {"type": "grpo", "name": "grpo-verifier", "data": {"path": str(data["rl"]), "chat": False},
             "args": {"max_steps": rl_steps, "learning_rate": 5.0e-5, "num_generations": 8,
                      "per_device_train_batch_size": 32, "max_completion_length": 5, "temperature": 1.0,
                      "top_k": 0, "beta": 0.0, "loss_type": "dapo", "mask_truncated_completions": True,
                      "disable_dropout": True, "logging_steps": 10, "save_steps": 100}},
            {"type": "eval", "name": "after-rl", "data": held_out, "options": evaluate},
        ],
    }


def summary(run_dir: Path) -> str:
    """The before/after table, with a few held-out completions before and after."""
    results = {r["stage"]: r for r in json.loads((run_dir / "results.json").read_text())}
    before, after = results["before-rl"], results["after-rl"]
    lines = ["", "held-out accuracy on 200 unseen sums (exact match)", "",
             f"{'':28s} {'greedy':>8s} {'pass@8':>8s}",
             f"{'after noisy-teacher SFT':28s} {before['greedy_accuracy']:8.1%} {before['pass@8']:8.1%}",
             f"{'after GRPO with a verifier':28s} {after['greedy_accuracy']:8.1%} {after['pass@8']:8.1%}", ""]
    greedy = {}
    for label in ("before-rl", "after-rl"):
        stage = next(p for p in run_dir.iterdir() if p.name.endswith(label))
        rows = [json.loads(line) for line in (stage / "greedy.jsonl").read_text().splitlines()]
        greedy[label] = rows
    shown = [i for i, r in enumerate(greedy["before-rl"]) if r["rewards"]["correct"] == 0][:4]
    lines.append("held-out sums the model got wrong before RL:")
    for i in shown:
        b, a = greedy["before-rl"][i], greedy["after-rl"][i]
        lines.append(f"  {b['prompt']}{b['answer']:<4s} before: {b['completion']!r:7s} after: {a['completion']!r}")
    grpo = next(p for p in run_dir.iterdir() if p.name.endswith("grpo-verifier"))
    lines += ["", f"reward curve: {grpo / 'reward_curves.png'}", f"run directory: {run_dir}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rewardkit.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default=".demo")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sft-steps", type=int, default=1500)
    parser.add_argument("--rl-steps", type=int, default=200)
    parser.add_argument("--fresh", action="store_true", help="start over instead of resuming the run")
    args = parser.parse_args(argv)
    started = time.monotonic()
    work = Path(args.workdir).resolve() / f"seed{args.seed}"
    model = work / "model"
    if not (model / "config.json").is_file():
        build_model(model, args.seed)
    data = write_data(work / "data", args.seed, sft_rows=args.sft_steps * 128)
    path = work / "demo.yaml"
    path.write_text(yaml.safe_dump(recipe(model, data, args.seed, args.sft_steps, args.rl_steps), sort_keys=False))
    print(f"[demo] recipe: {path}\n[demo] rewardkit run {path.name}: sft on a noisy teacher -> eval -> grpo "
          f"with an exact-match verifier -> eval", file=sys.stderr)
    code = cli(["run", str(path), "--output-dir", str(work / "run"), *(["--fresh"] if args.fresh else [])])
    if code:
        return code
    print(summary(work / "run"))
    print(f"\n[demo] done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
