"""Judge throughput: the same judge prompts over HTTP (a real `transformers serve` on loopback) against
direct local `transformers` generate in this process, measured in the same run.

The judge is SmolLM2-135M-Instruct (``rewardkit.testing.real_instruct_model()``), greedy, CPU; the
prompts are ``reference_fewshot`` judgements of GSM8K answers (right and wrong). Paths:

* local: the ``transformers`` backend, one batched ``generate`` per ``--batch-size`` conversations
  (the baseline);
* http c=1: the ``http`` backend, one request at a time;
* http c=N: the ``http`` backend with ``--concurrency`` requests in flight (the server runs without
  continuous batching unless ``--continuous-batching``).

Server and client share the machine's cores. Greedy outputs are compared: the paths should write the
same judgements.

    .venv/bin/python benchmarks/bench_judge.py [--prompts 16] [--max-new-tokens 48] [--concurrency 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _prompts(count: int) -> list[list[dict[str, str]]]:
    from rewardkit.testing import make_sample, shared_data_dir
    from rewardkit_judge import render

    with open(shared_data_dir() / "gsm8k" / "test.jsonl") as f:
        rows = [json.loads(line) for line in f][: (count + 1) // 2]
    convs = []
    for row in rows:
        solution, gold = row["answer"].split("####")
        steps, gold = re.sub(r"<<.*?>>", "", solution).strip(), gold.strip()
        for answer in (gold, str(int(gold.replace(",", "")) + 7)):
            sample = make_sample(f"{steps.rsplit(chr(10), 1)[0]}\nThe answer is {answer}.", row["question"],
                                 answer=gold)
            convs.append(render("reference_fewshot", sample))
    return convs[:count]


def _serve(model: str, extra: list[str]) -> tuple[subprocess.Popen, str]:
    import httpx2

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).with_name("transformers")
    log = Path(tempfile.mkdtemp()) / "serve.log"
    with log.open("w") as out:  # the child keeps its own copy of the file descriptor
        proc = subprocess.Popen([str(exe), "serve", model, "--host", "127.0.0.1", "--port", str(port), "--device",
                                 "cpu", *extra], stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "HF_HUB_OFFLINE": "1"})
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        if proc.poll() is not None:
            break
        try:
            if httpx2.get(base + "/health", timeout=1).status_code == 200:
                return proc, base + "/v1"
        except httpx2.TransportError:
            time.sleep(0.3)
    raise SystemExit(f"transformers serve did not start; see {log}")


def _timed(backend, convs, max_new_tokens):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    outs = backend.generate(convs, max_new_tokens=max_new_tokens, timeout=3600)
    return [o[0] for o in outs], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--continuous-batching", action="store_true", help="start the server with it")
    args = parser.parse_args()

    from rewardkit.testing import real_instruct_model
    from rewardkit_judge import get_backend, parse_verdict

    model = str(real_instruct_model())
    convs = _prompts(args.prompts)
    print(f"{len(convs)} reference_fewshot judge prompts, SmolLM2-135M-Instruct, greedy, "
          f"max_new_tokens={args.max_new_tokens}, CPU ({os.cpu_count()} cores)")

    local = get_backend("transformers", model, device="cpu", batch_size=args.batch_size)
    local.generate(convs[:2], max_new_tokens=4)  # warm-up outside the timing
    proc, base_url = _serve(model, ["--continuous-batching"] if args.continuous_batching else [])
    paths = {f"local generate, batch {args.batch_size}": local}
    try:
        for c in (1, args.concurrency):
            backend = get_backend("http", model, base_url=base_url, concurrency=c)
            backend.generate(convs[:1], max_new_tokens=4, timeout=600)  # the server's first request loads kernels
            paths[f"http, concurrency {c}"] = backend
        # rounds interleave the paths, so a slow spell of the machine hits all of them alike
        seconds: dict[str, list[float]] = {name: [] for name in paths}
        texts: dict[str, list[str]] = {}
        for _ in range(args.rounds):
            for name, backend in paths.items():
                texts[name], secs = _timed(backend, convs, args.max_new_tokens)
                seconds[name].append(secs)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)

    local_name = next(iter(paths))
    base = len(convs) / statistics.median(seconds[local_name])
    print(f"\n| path | judgements/s (median of {args.rounds}) | x local | same text as local |\n|---|---|---|---|")
    for name in paths:
        rate = len(convs) / statistics.median(seconds[name])
        same = sum(a == b for a, b in zip(texts[name], texts[local_name]))
        print(f"| {name} | {rate:.2f} | {rate / base:.2f} | {same}/{len(convs)} |")
    parsed = sum(parse_verdict("reference", t).ok for t in texts[local_name])
    print(f"\nlocal verdicts parsed: {parsed}/{len(convs)}; seconds per round: "
          + ", ".join(f"{name}: {[round(s, 1) for s in secs]}" for name, secs in seconds.items()))


if __name__ == "__main__":
    main()
