"""The recipes in recipes/: each passes `rewardkit validate` as it is and with each of its profiles,
and each CPU profile (`cpu`, `cpu-*`) runs end to end with `rewardkit run`, started from a scratch
directory (not the repository root) with an empty model cache, so the tiny models are built by the
recipe's own placeholders. Every run's manifest must mark each stage done; then each pipeline's own
technique is checked where the run shows it (sum loss, length-normalised DPO, a value model,
rounds on fresh prompts, prompt selection, routing by domain, the length-penalty warm-up...)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT / "recipes").glob("*.yaml"))


def profiles_of(recipe: Path) -> list[str]:
    return list((yaml.safe_load(recipe.read_text()) or {}).get("profiles") or {})


CPU_RUNS = [(r, p) for r in RECIPES for p in profiles_of(r) if p == "cpu" or p.startswith("cpu-")]


@pytest.fixture(scope="module", autouse=True)
def _sandbox(sandbox_ready: None) -> None:
    """The code recipes validate only where an isolating sandbox exists."""


@pytest.fixture(scope="module")
def fresh_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty ``$REWARDKIT_CACHE``: the first recipe that names ``{tiny_model}`` builds it."""
    return tmp_path_factory.mktemp("rewardkit-cache")


def test_every_recipe_has_a_cpu_profile():
    assert len(RECIPES) >= 14
    assert [r.stem for r in RECIPES if "cpu" not in profiles_of(r)] == []


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_validates_as_is_and_with_every_profile(recipe, tmp_path, monkeypatch, capsys, fresh_cache):
    from rewardkit.cli import main

    monkeypatch.chdir(tmp_path)  # paths in a recipe are its own or {shared_data}: not the cwd's
    monkeypatch.setenv("REWARDKIT_CACHE", str(fresh_cache))
    for profile in [None, *profiles_of(recipe)]:
        code = main(["validate", str(recipe), *(["--profile", profile] if profile else [])])
        out = capsys.readouterr()
        assert code == 0, f"{recipe.name} --profile {profile}: {out.err}"
        assert f"{recipe}: ok" in out.out


def _run(cli, recipe: Path, profile: str, where: Path, cache: Path) -> tuple[Path, list[dict[str, Any]]]:
    work = where / "elsewhere"
    work.mkdir()
    env = {**os.environ, "REWARDKIT_CACHE": str(cache)}
    run = where / "run"
    done = cli("run", str(recipe), "--profile", profile, "--output-dir", str(run), cwd=work, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["stages"] and all(s["status"] == "done" for s in manifest["stages"]), manifest["stages"]
    return run, [{"label": s["label"], "type": s["type"], **s["result"]} for s in manifest["stages"]]


def _model_ok(folder: str | Path) -> None:
    folder = Path(folder)
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file(), folder
    assert (folder / "tokenizer.json").is_file() or (folder / "tokenizer_config.json").is_file(), folder


def _train_args(stage_dir: Path) -> Any:
    import torch

    [path] = stage_dir.glob("checkpoint-*/training_args.bin")
    return torch.load(path, weights_only=False)


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize(("recipe", "profile"), CPU_RUNS, ids=lambda v: v.stem if isinstance(v, Path) else v)
def test_cpu_profile_runs_from_another_directory(recipe, profile, cli, tmp_path, fresh_cache):
    run, stages = _run(cli, recipe, profile, tmp_path, fresh_cache)
    assert str(fresh_cache) in (run / "recipe.yaml").read_text()  # the tiny model came from the placeholder
    for index, stage in enumerate(stages):
        folder = run / f"{index:02d}-{stage['label']}"
        if stage["type"] in ("grpo", "ppo", "rloo"):
            assert (folder / "reward_curves.png").is_file()
            assert any(k.startswith("rewards/") for row in _jsonl(folder / "metrics.jsonl") for k in row)
    models = [s["model"] for s in stages if s.get("model")]
    if models:  # the pipeline's final model
        _model_ok(models[-1])
    CHECKS[recipe.stem](run, stages, profile)


# -- what each pipeline must show in its run --------------------------------------------------------------
def _labels(stages: list[dict[str, Any]]) -> list[str]:
    return [s["label"] for s in stages]


def check_tulu3(run: Path, stages: list[dict[str, Any]], profile: str) -> None:
    last = "grpo" if profile == "cpu-grpo" else "ppo"
    assert _labels(stages) == ["sft", "dpo", last]
    sft, dpo, rl = stages
    assert sft["loss_reduction"] == "sum"                  # Tulu 3's sum over tokens
    assert dpo["loss_type"] == ["sigmoid_norm"]            # length-normalised DPO
    assert _train_args(run / "01-dpo").beta == 5.0
    if last == "ppo":                                      # the value model, started from the reward model
        _model_ok(rl["value_model"])
        assert _train_args(run / "02-ppo").beta == 0.05
    stats = json.loads((run / f"02-{last}" / "reward_stats.json").read_text())
    assert stats["math"]["scored"] > 0 and stats["gsm8k"]["scored"] > 0   # routed by the `dataset` column
    # the sample's first rows are MATH and GSM8K: the IF verifier sees them and says "not applicable"
    assert stats["ifeval"]["mean"] is None and stats["ifeval"]["share_none"] == 1.0


def check_llama3(run: Path, stages: list[dict[str, Any]], profile: str) -> None:
    inner = ["reward_model", "rejection_sampling", "sft", "dpo"]
    assert _labels(stages) == [f"round{r}-{s}" for r in (1, 2) for s in inner] + ["model_average"]
    for r in (1, 2):
        rs = next(s for s in stages if s["label"] == f"round{r}-rejection_sampling")
        assert rs["scorer"] == "reward_model" and rs["kept"] == rs["prompts"] == 4
        dpo = next(s for s in stages if s["label"] == f"round{r}-dpo")
        assert dpo["loss_type"] == ["sigmoid", "sft"] and dpo["mask_special_tokens"]  # NLL term, masked specials
    # each round samples fresh prompts, and its SFT reads that round's kept samples
    prompts = [{json.dumps(r["prompt"] if "prompt" in r else r["messages"][:-1]) for r in _jsonl(run / f"{i:02d}-round{r}-rejection_sampling" / "sft.jsonl")}
               for r, i in ((1, 1), (2, 5))]
    assert prompts[0] and prompts[1] and not prompts[0] & prompts[1]
    assert stages[6]["sequences"] == 4
    average = stages[-1]
    assert average["averaged"] == [stages[3]["model"], stages[7]["model"]]


def check_qwen25(run: Path, stages: list[dict[str, Any]], profile: str) -> None:
    assert _labels(stages) == ["sft", "dpo", "grpo"]
    selection = json.loads((run / "02-grpo" / "selection.json").read_text())
    assert selection["samples_per_prompt"] == 4 and selection["prompts"] == 8
    assert selection["kept"] == sum(p["std"] > 0.0 for p in selection["per_prompt"])
    assert stages[2]["selection"]["kept"] == selection["kept"]
    assert _train_args(run / "00-sft").weight_decay == 0.1


def check_deepseek_v3(run: Path, stages: list[dict[str, Any]], profile: str) -> None:
    assert _labels(stages) == ["grpo"]
    stats = json.loads((run / "00-grpo" / "reward_stats.json").read_text())
    # MATH rows go to the MATH rule, gsm8k rows to the GSM8K rule; nothing else is routed there
    assert stats["math"]["scored"] > 0 and stats["gsm8k"]["scored"] > 0
    assert all(stats[k]["scored"] == 0 for k in ("code", "ifeval", "judge_reference", "rm", "judge"))


def check_r1_zero(run: Path, stages: list[dict[str, Any]], profile: str) -> None:
    assert _labels(stages) == ["grpo"]
    assert set(stages[0]["last_rewards"]) >= {"rewards/accuracy/mean", "rewards/format/mean"}
    args = _train_args(run / "00-grpo")
    assert (args.epsilon, args.beta, args.sync_ref_model) == (10.0, 0.001, True)
    assert "User: " in json.loads((run / "manifest.json").read_text())["recipe"]["data"]["prompt_template"]


def check_r1(run: Path, stages: list[dict[str, Any]], profile: str) -> None:
    assert _labels(stages) == ["cold_start", "reasoning_rl", "rejection_sampling", "sft_all", "all_scenarios_rl"]
    cold, rl, rs, sft, final = stages
    assert rl["last_rewards"]["rewards/accuracy/mean"] is not None    # math rows: the rule
    assert rs["kept"] == rs["prompts"] == 4 and rs["scorer"] == "rewards"
    assert sft["base_model"] not in (rl["model"], cold["model"])     # R1 trains the base model again
    assert sft["sequences"] == 4
    assert final["last_rewards"]["rewards/helpfulness/mean"] is not None  # general prompts: the reward model
    assert final["last_rewards"]["rewards/accuracy/mean"] is None


def check_kimi15(run: Path, stages: list[dict[str, Any]], profile: str) -> None:
    assert _labels(stages) == ["warmup", "length_penalty"]
    warm, full = _train_args(run / "00-warmup"), _train_args(run / "01-length_penalty")
    assert (warm.reward_weights, full.reward_weights) == ([1.0, 0.0], [1.0, 1.0])  # the penalty after a warm-up
    assert warm.scale_rewards == full.scale_rewards == "none"
    assert "rewards/length/mean" in stages[1]["last_rewards"]
    # Kimi's sampling (2.3.4): the warm-up by curriculum, the easiest level of the 8 rows first; then by
    # priority, from the warm-up's success counts on (1 step x 1 prompt x 4 samples), plus its own 2 steps
    curriculum = json.loads((run / "00-warmup" / "sampling.json").read_text())
    assert curriculum["kind"] == stages[0]["sampling"]["kind"] == "curriculum"
    levels = [p["difficulty"] for p in curriculum["per_prompt"]]
    assert [levels[i] for i in curriculum["sequence"]][0] == min(levels)
    prioritized = json.loads((run / "01-length_penalty" / "sampling.json").read_text())
    assert prioritized["kind"] == stages[1]["sampling"]["kind"] == "prioritized"
    scored = [p for p in prioritized["per_prompt"] if p["completions"]]
    assert sum(p["completions"] for p in curriculum["per_prompt"]) == 4
    assert sum(p["completions"] for p in scored) == 4 + 8 and prioritized["prompts_scored"] == len(scored)
    assert all(p["success_rate"] == p["successes"] / p["completions"] for p in scored)


def check_grpo(run: Path, stages: list[dict[str, Any]], profile: str) -> None:
    assert _labels(stages) == ["grpo"] and stages[0]["steps"] >= 2


def check_scoring(run: Path, stages: list[dict[str, Any]], profile: str) -> None:
    """A scoring recipe's CPU run: a tiny model writes completions, the recipe's rewards score them."""
    assert _labels(stages) == ["generate", "score"]
    rows = _jsonl(run / "01-score" / "scores.jsonl")
    recipe = yaml.safe_load((run / "recipe.yaml").read_text())
    ids = {r.get("id") or r["name"] for r in recipe["rewards"]}
    assert len(rows) == stages[0]["rows"] == 8
    assert all(set(row["rewards"]) == ids and row["completion"] is not None for row in rows)
    assert any(value is not None for row in rows for value in row["rewards"].values())


CHECKS = {
    "tulu3": check_tulu3, "llama3": check_llama3, "qwen25": check_qwen25, "deepseek_v3": check_deepseek_v3,
    "r1_zero": check_r1_zero, "r1": check_r1, "kimi15": check_kimi15,
    "quickstart": check_grpo, "ifeval_grpo": check_grpo,
    "code_binary": check_scoring, "code_unit_tests": check_scoring, "ifeval_strict": check_scoring,
    "math_rlvr": check_scoring, "reasoning_shaping": check_scoring,
}


def test_every_recipe_has_its_checks():
    assert sorted(CHECKS) == sorted(r.stem for r in RECIPES)
