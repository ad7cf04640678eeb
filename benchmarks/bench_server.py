"""HTTP reward server throughput (`rewardkit serve`, OpenRLHF's protocol) against scoring the same rows
in-process with the same recipe's engine, measured in the same run.

Rows: GSM8K test questions, each with a right and a wrong answer (``<think>`` or not), rendered as
OpenRLHF sends them (chat-templated prompt + response + ``<|im_end|>``). Rewards: ``math.gsm8k`` and
``format.think`` (cheap rule rewards: the worst case for HTTP overhead). The cache is off on both sides,
so every round computes every score. Paths:

* in-process: ``engine.score`` on batches of ``--batch`` rows (the baseline), and one row per call
  (how OpenRLHF calls a ``reward_func`` file);
* http batch: requests of ``--batch`` rows, ``--concurrency`` clients (keep-alive connections);
* http single: one query per request, ``--concurrency`` clients (what OpenRLHF 0.11 sends per rollout).

Server and clients share the machine's cores.

    .venv/bin/python benchmarks/bench_server.py [--rows 1024] [--batch 64] [--concurrency 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

RECIPE = """\
name: bench-server
scoring: {cache_size: 0, executor: thread}
rewards:
  - {name: math.gsm8k, id: correct, domains: [math]}
  - {name: format.think, weight: 0.2}
"""
PROMPT = "<|im_start|>system\nThink, then answer after ####.<|im_end|>\n<|im_start|>user\n{q}<|im_end|>\n" \
         "<|im_start|>assistant\n"


def make_rows(count: int) -> list[tuple[str, str, str]]:
    """(query, prompt, label) triples."""
    from rewardkit.testing import shared_data_dir

    with open(shared_data_dir() / "gsm8k" / "test.jsonl") as f:
        data = [json.loads(line) for line in f]
    out = []
    for i in range(count):
        row = data[(i // 2) % len(data)]
        gold = row["answer"].split("####")[-1].strip()
        answer = gold if i % 2 == 0 else str(int(gold.replace(",", "")) + 1 + i)
        prompt = PROMPT.format(q=row["question"])
        steps = row["answer"].split("####")[0].strip()
        response = f"<think>{steps}</think>" if i % 4 < 2 else "Let me see."
        out.append((prompt + f"{response}\n#### {answer}<|im_end|>", prompt, gold))
    return out


def chunks(rows: list, size: int) -> list[list]:
    return [rows[i:i + size] for i in range(0, len(rows), size)]


def in_process(recipe: Path, rows: list, batch: int, rounds: int) -> tuple[float, list[float]]:
    from rewardkit.adapters.openrlhf import score_rows, to_samples
    from rewardkit.recipe import load_recipe

    engine = load_recipe(recipe).build_engine()
    best, rewards = float("inf"), []
    for _ in range(rounds):
        start, rewards = time.perf_counter(), []
        for part in chunks(rows, batch):
            queries, prompts, labels = zip(*part)
            samples, errors = to_samples(queries, prompts, labels, "math")
            rewards += score_rows(engine, samples, errors)["rewards"]
        best = min(best, time.perf_counter() - start)
    engine.close()
    return len(rows) / best, rewards


def start_server(recipe: Path) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "rewardkit.cli", "serve", str(recipe), "--port", str(port),
                             "--domain", "math"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(600):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"rewardkit serve did not start: {proc.stderr.read().decode()[-2000:]}")


def over_http(port: int, rows: list, batch: int, concurrency: int, rounds: int) -> tuple[float, list[float]]:
    parts = chunks(rows, batch)
    local = __import__("threading").local()

    def send(part: list) -> list[float]:
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        body = json.dumps({"query": [r[0] for r in part], "prompts": [r[1] for r in part],
                           "labels": [r[2] for r in part]})
        local.conn.request("POST", "/get_reward", body, {"Content-Type": "application/json"})
        resp = local.conn.getresponse()
        data = json.loads(resp.read())
        if resp.status != 200:
            raise SystemExit(f"server answered {resp.status}: {data}")
        return data["rewards"]

    best, rewards = float("inf"), []
    with ThreadPoolExecutor(concurrency) as pool:
        for _ in range(rounds):
            start = time.perf_counter()
            rewards = [x for out in pool.map(send, parts) for x in out]
            best = min(best, time.perf_counter() - start)
    return len(rows) / best, rewards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    recipe = Path(tempfile.mkdtemp()) / "bench_server.yaml"
    recipe.write_text(RECIPE)
    rows = make_rows(args.rows)
    base, want = in_process(recipe, rows, args.batch, args.rounds)
    subset = rows[: max(64, args.rows // 4)]
    base_single, _ = in_process(recipe, subset, 1, args.rounds)  # OpenRLHF's reward_func: a call per query
    proc, port = start_server(recipe)
    try:
        batched, got_batched = over_http(port, rows, args.batch, args.concurrency, args.rounds)
        single, got_single = over_http(port, subset, 1, args.concurrency, args.rounds)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    same = got_batched == want and got_single == want[: len(got_single)]
    print(f"{args.rows} rows (math.gsm8k + format.think, cache off), best of {args.rounds}; "
          f"same rewards on every path: {same}")
    print(f"  in-process engine.score, batches of {args.batch}:  {base:9.0f} rows/s  (baseline)")
    print(f"  HTTP, {args.batch} rows/request, {args.concurrency} clients:      {batched:9.0f} rows/s  "
          f"-> {batched / base:.2f}x")
    print(f"  in-process, 1 row per call (reward_func's shape):  {base_single:9.0f} rows/s")
    print(f"  HTTP, 1 row/request, {args.concurrency} clients:        {single:9.0f} rows/s  "
          f"-> {single / base:.2f}x of the baseline, {single / base_single:.2f}x of 1 row per call")
    if not same:
        raise SystemExit("the server's rewards differ from in-process scoring")


if __name__ == "__main__":
    main()
