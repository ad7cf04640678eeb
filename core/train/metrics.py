"""A stage's metrics on disk: every logged step to ``metrics.jsonl`` (as it happens) and
``metrics.csv``, and for RL stages a PNG of the reward curves, one line per reward."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

#: What the progress bar shows of each logged step (the rest is in metrics.jsonl).
_SHOWN = ("loss", "reward", "rewards/", "eval_", "kl")


class MetricsCallback(TrainerCallback):
    """Appends each log event to ``metrics.jsonl``; at the end writes ``metrics.csv`` and, with
    ``plot_rewards``, ``reward_curves.png``."""

    def __init__(self, stage_dir: Path, plot_rewards: bool = False) -> None:
        self.dir = Path(stage_dir)
        self.plot_rewards = plot_rewards

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not logs or not state.is_world_process_zero:
            return
        with open(self.dir / "metrics.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"step": state.global_step, **logs}, default=float) + "\n")

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            write_csv(self.dir)
            if self.plot_rewards:
                plot_reward_curves(self.dir)


class StageProgress(TrainerCallback):
    """One progress bar per stage, its postfix the latest loss and rewards (instead of a dict
    printed per logged step)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc=self.label, dynamic_ncols=True)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if self.bar is not None and logs:
            shown = {k.replace("rewards/", "").replace("/mean", ""): f"{v:.3g}" for k, v in logs.items()
                     if isinstance(v, (int, float)) and k.startswith(_SHOWN) and not k.endswith("/std")}
            self.bar.set_postfix(shown, refresh=False)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def read_metrics(stage_dir: Path) -> list[dict[str, Any]]:
    path = Path(stage_dir) / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_csv(stage_dir: Path) -> Path | None:
    rows = read_metrics(stage_dir)
    if not rows:
        return None
    columns = list(dict.fromkeys(k for row in rows for k in row))
    out = Path(stage_dir) / "metrics.csv"
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return out


def reward_series(rows: list[dict[str, Any]]) -> dict[str, list[tuple[int, float]]]:
    """``rewards/<id>/mean`` and the weighted ``reward`` by step."""
    series: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        for key, value in row.items():
            if (key == "reward" or (key.startswith("rewards/") and key.endswith("/mean"))) and \
                    isinstance(value, (int, float)):
                name = "total (weighted)" if key == "reward" else key.split("/")[1]
                series.setdefault(name, []).append((int(row.get("step", 0)), float(value)))
    return series


def plot_reward_curves(stage_dir: Path) -> Path | None:
    """``reward_curves.png``: each reward's mean by training step."""
    series = reward_series(read_metrics(stage_dir))
    if not series:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for name, points in sorted(series.items()):
        steps, values = zip(*points)
        total = name.startswith("total")
        ax.plot(steps, values, marker=None if total or len(points) >= 30 else "o", label=name,
                linewidth=1.5, linestyle="--" if total else "-", color="black" if total else None)
    ax.set_xlabel("training step")
    ax.set_ylabel("mean reward")
    ax.set_title(f"reward curves: {Path(stage_dir).name}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(stage_dir) / "reward_curves.png"
    fig.savefig(out)
    plt.close(fig)
    return out
