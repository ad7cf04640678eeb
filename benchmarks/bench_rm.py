"""Benchmark for rewardkit-rm: the per-sample cost of ``rm.score`` in a GRPO batch against calling the
model directly.

    .venv/bin/python benchmarks/bench_rm.py [--prompts 8] [--group 8] [--batch-size 16] [--rounds 3]
                                            [--model PATH | --tiny] [--device auto]

A GRPO-shaped batch (``--prompts`` GSM8K questions x ``--group`` completions, chat messages as GRPO
passes them; completions are the gold solution cut at different lengths, so lengths vary as in a real
group) is scored two ways on the same loaded model, each round on fresh prompts:

* ``rm.score`` through a ScoringEngine (thread executor, the recipe default): rendering with the chat
  template, length-sorted batches of ``--batch-size``, right padding, the engine's deadline machinery;
* directly: the same texts through ``tokenizer.apply_chat_template``, ``tokenizer(..., padding=True)``
  and ``model(...)`` in batches of ``--batch-size`` in input order, no engine; and the same again with
  batches of similar length (what rm.score's length sorting buys, taken out of the comparison).

Prints milliseconds per sample (median over rounds) for each and the ratios (rm.score / direct). The default model is a
real backbone, SmolLM2-135M-Instruct as a sequence classifier with a fresh score head (timing does
not depend on the head being trained); ``--tiny`` uses a tiny random model, where the forward pass
costs almost nothing and the ratio shows the plugin's and engine's own overhead.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path


def gsm8k_groups(start: int, prompts: int, group: int) -> list[tuple[list[dict], list[dict]]]:
    """(prompt messages, completion messages) for ``prompts`` questions x ``group`` completions."""
    from rewardkit.testing import shared_data_dir

    with open(shared_data_dir() / "gsm8k" / "test.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh][start:start + prompts]
    out = []
    for row in rows:
        prompt = [{"role": "user", "content": row["question"]}]
        words = row["answer"].split()
        for k in range(group):  # from a bare answer to the whole worked solution
            cut = max(1, round(len(words) * (k + 1) / group))
            text = " ".join(words[:cut]) if k < group - 1 else row["answer"]
            out.append((prompt, [{"role": "assistant", "content": f"{text} (attempt {k})"}]))
    return out


def direct(rm, pairs, batch_size: int, *, by_length: bool = False) -> list[float]:
    """The baseline: the model called on the same conversations, no engine, no plugin; in input order,
    or (``by_length``) in batches of similar length, as rm.score forms them."""
    import torch

    tok, model = rm.tokenizer, rm.model
    tok.padding_side = "right"
    texts = [tok.apply_chat_template([*p, *c], tokenize=False) for p, c in pairs]
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i])) if by_length else list(range(len(texts)))
    scores: list[float] = [0.0] * len(texts)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        enc = tok([texts[i] for i in chunk], return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            values = model(**enc.to(rm.device)).logits[:, 0].float().cpu().tolist()
        for i, value in zip(chunk, values):
            scores[i] = value
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--device", default="auto")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--model", help="a reward model folder (default: SmolLM2-135M with a fresh head)")
    which.add_argument("--tiny", action="store_true", help="a tiny random model: overhead only")
    args = parser.parse_args(argv)

    import torch
    from rewardkit import RewardSpec, ScoringEngine
    from rewardkit.testing import build_tiny_model, make_sample, real_instruct_model
    from rewardkit_rm import load_reward_model

    tmp = tempfile.TemporaryDirectory()
    if args.tiny:
        model, name = str(build_tiny_model(Path(tmp.name) / "tiny", kind="classifier")), "tiny random Llama"
    elif args.model:
        model, name = args.model, args.model
    else:
        model, name = str(real_instruct_model()), "SmolLM2-135M-Instruct (fresh score head)"
    started = time.perf_counter()
    rm = load_reward_model(model, device=args.device)
    load_s = time.perf_counter() - started
    n = args.prompts * args.group
    print(f"model: {name} on {rm.device} ({torch.get_num_threads()} torch threads); load {load_s:.2f} s")
    print(f"batch: {args.prompts} prompts x {args.group} completions = {n} samples; model batch "
          f"{args.batch_size}; {args.rounds} rounds on fresh prompts (after a warm-up group)")

    params = {"model": model, "device": args.device, "batch_size": args.batch_size}
    paths = ("rm.score", "direct", "direct, length-sorted")
    times: dict[str, list[float]] = {k: [] for k in paths}
    tokens: list[int] = []
    diff = 0.0
    with ScoringEngine([RewardSpec("rm.score", params=params)], batch_size=n, deadline=600) as engine:
        # round 0 warms every path up (kernels, allocator) on one small group
        for r in range(args.rounds + 1):
            pairs = gsm8k_groups(r * args.prompts, args.prompts if r else 1, args.group)
            samples = [make_sample(c, prompt=p) for p, c in pairs]
            results = {}
            for path in paths[r % 3:] + paths[:r % 3]:  # each path goes first in turn
                t0 = time.perf_counter()
                if path == "rm.score":
                    scored = engine.score_reward("rm.score", samples)
                    results[path] = [s.value for s in scored]
                else:
                    results[path] = direct(rm, pairs, args.batch_size, by_length=path != "direct")
                if r:
                    times[path].append(time.perf_counter() - t0)
            assert None not in results["rm.score"], [s.error for s in scored if s.value is None]
            for path in paths[1:]:
                diff = max(diff, *(abs(a - b) for a, b in zip(results["rm.score"], results[path])))
            assert diff < 1e-3, f"rm.score and the direct call disagree by {diff}"
            if r:
                tokens += [s.details["tokens"] for s in scored]
    print(f"tokens per sample: mean {statistics.fmean(tokens):.0f}, min {min(tokens)}, max {max(tokens)}; "
          f"scores agree with the direct calls (max difference {diff:.1e})")
    per = {k: statistics.median(v) / n * 1000 for k, v in times.items()}
    for k, ms in per.items():
        print(f"  {k:22s} {ms:8.2f} ms/sample  (per batch: {', '.join(f'{t:.2f}' for t in times[k])} s)")
    print(f"ratio rm.score / direct: {per['rm.score'] / per['direct']:.2f}x "
          f"(/ direct, length-sorted: {per['rm.score'] / per['direct, length-sorted']:.2f}x)")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
