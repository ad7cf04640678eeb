"""Run directories: resume after SIGKILL, refusing another recipe, --fresh, --set, rounds, stage
types from plugins, model averaging, validation of stage config, and the hub preflight."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rewardkit.plugins import RewardKit
from rewardkit.recipe import RecipeError, load_recipe

GSM8K = '"{shared_data}/gsm8k/test.jsonl"'


def grpo_recipe(tmp_path: Path, model: Path, stages: str, name: str = "runs", extra: str = "") -> Path:
    recipe = tmp_path / f"{name}.yaml"
    recipe.write_text(f"""\
name: {name}
model: {{name_or_path: {model}}}
data: {{path: {GSM8K}, columns: {{prompt: question}}, limit: 8}}
rewards:
  - {{name: regex_match, id: has_digit, params: {{pattern: '\\d'}}}}
{extra}stages:
{stages}""")
    return recipe


GRPO_ARGS = "per_device_train_batch_size: 4, num_generations: 4, max_completion_length: 8"


def test_a_run_killed_in_its_second_stage_resumes_without_redoing_the_first(tiny_model, tmp_path):
    recipe = grpo_recipe(tmp_path, tiny_model, f"""\
  - {{type: grpo, name: first, args: {{max_steps: 2, {GRPO_ARGS}}}}}
  - {{type: grpo, name: second, args: {{max_steps: 24, save_steps: 1, {GRPO_ARGS}}}}}
""")
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "rewardkit.cli", "run", str(recipe), "--output-dir", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 240
    while not list((out / "01-second").glob("checkpoint-*/trainer_state.json")):
        assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline, "the second stage never saved a checkpoint"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["status"] for s in manifest["stages"]] == ["done", "running"]
    first_model = out / "00-first" / "model" / "model.safetensors"
    stamp = first_model.stat().st_mtime_ns

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "first: done in an earlier run, kept" in again.stderr
    assert "second (resuming from checkpoint-" in again.stderr
    assert first_model.stat().st_mtime_ns == stamp  # the first stage was not redone
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["status"] for s in manifest["stages"]] == ["done", "done"]
    assert manifest["stages"][1]["result"]["steps"] == 24
    results = json.loads((out / "results.json").read_text())
    assert [r["stage"] for r in results] == ["first", "second"]
    # metrics of the resumed stage continue after the checkpoint, and the RL stage drew its curves
    steps = [json.loads(line)["step"] for line in (out / "01-second" / "metrics.jsonl").read_text().splitlines()]
    assert max(steps) == 24 and (out / "01-second" / "reward_curves.png").stat().st_size > 1000
    assert (out / "recipe.yaml").is_file() and "rewardkit" in manifest["versions"]


def test_another_recipe_into_the_same_run_dir_is_refused_unless_fresh(tiny_model, tmp_path, cli):
    recipe = grpo_recipe(tmp_path, tiny_model, f"  - {{type: grpo, args: {{max_steps: 1, {GRPO_ARGS}}}}}\n")
    out = str(tmp_path / "run")
    assert cli("run", str(recipe), "--output-dir", out).returncode == 0
    changed = cli("run", str(recipe), "--output-dir", out, "--set", "stages.0.args.learning_rate=1.0e-3")
    assert changed.returncode == 2
    assert "holds a run of a different recipe" in changed.stderr and "--fresh" in changed.stderr
    fresh = cli("run", str(recipe), "--output-dir", out, "--set", "stages.0.args.learning_rate=1.0e-3", "--fresh")
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["recipe"]["stages"][0]["args"]["learning_rate"] == 1.0e-3
    log = (tmp_path / "run" / "run.log").read_text()
    assert "stage 1/1: grpo" in log


def test_rounds_run_each_round_on_fresh_rows(tiny_model, tmp_path, cli):
    recipe = grpo_recipe(tmp_path, tiny_model, f"""\
  - type: rounds
    rounds: 2
    stages:
      - {{type: grpo, args: {{max_steps: 1, {GRPO_ARGS}}}}}
      - {{type: model_average}}
""").read_text().replace("limit: 8", "limit: 4")
    path = tmp_path / "rounds.yaml"
    path.write_text(recipe)
    loaded = load_recipe(path)
    from rewardkit.stages import plan

    planned = plan(loaded, RewardKit())
    assert [s.name for s in planned] == ["round1-grpo", "round1-model_average", "round2-grpo", "round2-model_average"]
    assert [s.data.skip for s in planned if s.type == "grpo"] == [0, 4]
    out = cli("run", str(path), "--output-dir", str(tmp_path / "run"))
    assert out.returncode == 0, out.stderr[-3000:]
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert [r["stage"] for r in results] == [s.name for s in planned]
    # round 2 started from round 1's averaged model
    assert results[1]["averaged"] == [results[0]["model"]]


def test_model_average_is_the_weighted_mean_of_the_weights(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    from rewardkit.stage import StageRun
    from rewardkit.testing import build_tiny_model
    from rewardkit.train.model_average import run_model_average_stage

    a, b = build_tiny_model(tmp_path / "a", seed=1), build_tiny_model(tmp_path / "b", seed=2)
    recipe_path = tmp_path / "avg.yaml"
    recipe_path.write_text(f"name: avg\nstages:\n  - type: model_average\n    options: {{models: ['{a}', '{b}'], weights: [3, 1]}}\n")
    recipe = load_recipe(recipe_path)
    (tmp_path / "stage").mkdir()
    result = run_model_average_stage(StageRun(recipe.stages[0], 0, recipe, tmp_path / "stage", None, RewardKit()))
    assert result["weights"] == [0.75, 0.25]
    avg, ma, mb = (AutoModelForCausalLM.from_pretrained(p) for p in (result["model"], a, b))
    key = "model.layers.0.mlp.up_proj.weight"
    want = 0.75 * ma.state_dict()[key] + 0.25 * mb.state_dict()[key]
    assert torch.allclose(avg.state_dict()[key], want, atol=1e-6)
    assert not torch.allclose(ma.state_dict()[key], mb.state_dict()[key])


def test_a_stage_type_from_an_installed_plugin(demo_plugin_installed, tmp_path, cli):
    listed = cli("plugins")
    assert "stage demo.count_rows" in listed.stdout and "stage grpo" in listed.stdout
    recipe = tmp_path / "plugin-stage.yaml"
    recipe.write_text(f"name: plugin-stage\ndata: {{path: {GSM8K}}}\nstages:\n  - type: demo.count_rows\n")
    out = cli("run", str(recipe), "--output-dir", str(tmp_path / "run"))
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads((tmp_path / "run" / "00-demo.count_rows" / "count.json").read_text()) == {"rows": 1319}


def _problems(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    return str(info.value)


def test_validate_catches_stage_typos_types_and_ignored_fields(tiny_model, tmp_path):
    message = _problems(tmp_path, f"""\
name: bad
model: {{name_or_path: {tiny_model}}}
data: {{path: {GSM8K}}}
rewards: [{{name: exact_match}}]
stages:
  - type: grpo
    args:
      max_step: 2
      learning_rate: fast
  - type: grpo
    options: {{dynamic_samplng: true}}
  - type: model_average
    data: {{path: {GSM8K}}}
    model: {{name_or_path: ./no/such/model}}
  - type: sft
    rounds: 2
""")
    lines = message.splitlines()
    assert any(l.endswith("bad.yaml:8: stages[0].args.max_step: GRPOConfig has no field 'max_step'") for l in lines)
    assert "did you mean 'max_steps'?" in message
    assert "bad.yaml:9: stages[0].args.learning_rate: GRPOConfig.learning_rate must be a number, got 'fast'" in message
    assert "stages[1].options.dynamic_samplng: GRPOOptions has no field 'dynamic_samplng'" in message
    assert "stages[2].data: a model_average stage reads no data: this would be ignored" in message
    assert "stages[2].model: a model_average stage uses no model" in message
    assert "stages[2].model.name_or_path: model folder './no/such/model' does not exist" in message
    assert "stages[3].rounds: only `type: rounds` repeats stages" in message


def test_validate_rounds_and_yaml_number_strings(tiny_model, tmp_path):
    message = _problems(tmp_path, f"""\
name: bad-rounds
model: {{name_or_path: {tiny_model}}}
data: {{path: {GSM8K}}}
rewards: [{{name: exact_match}}]
stages:
  - type: rounds
    stages: [{{type: grpo}}]
""")
    assert "stages[0].rounds: a rounds stage needs `rounds:`" in message
    assert "stages[0].stages[0].data: each round needs fresh rows: give the data a `limit:`" in message
    # YAML 1.1 reads 1e-6 as a string: accepted for a float field, stored as a float
    ok = tmp_path / "ok.yaml"
    ok.write_text(f"name: ok\nmodel: {{name_or_path: {tiny_model}}}\ndata: {{path: {GSM8K}}}\n"
                  f"rewards: [{{name: exact_match}}]\nstages:\n  - {{type: grpo, args: {{learning_rate: 1e-6}}}}\n")
    assert load_recipe(ok).stages[0].args["learning_rate"] == "1e-6"  # coerced where the config is built


def test_a_hub_model_without_network_fails_fast_with_a_message(tmp_path, cli):
    recipe = tmp_path / "hub.yaml"
    recipe.write_text(f"name: hub\nmodel: {{name_or_path: Qwen/Qwen2.5-0.5B-Instruct}}\ndata: {{path: {GSM8K}}}\n"
                      f"rewards: [{{name: exact_match}}]\nstages:\n  - type: grpo\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    started = time.monotonic()
    out = cli("run", str(recipe), "--output-dir", str(tmp_path / "run"), env=env)
    assert out.returncode == 2 and time.monotonic() - started < 60
    assert "'Qwen/Qwen2.5-0.5B-Instruct' is not a local folder" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "run").exists()
    validated = cli("validate", str(recipe), env=env)
    assert validated.returncode == 0 and "warning: model.name_or_path" in validated.stderr


def test_model_tokenizer_and_dtype_are_honoured(tiny_model, tmp_path):
    import shutil

    import torch

    from rewardkit.stage import StageRun
    from rewardkit.train.common import load_causal_lm, load_tokenizer

    other_tok = tmp_path / "tok"
    shutil.copytree(tiny_model, other_tok)
    (other_tok / "model.safetensors").unlink()
    config = json.loads((other_tok / "tokenizer_config.json").read_text())
    config["model_max_length"] = 777  # a mark to recognise this tokenizer by
    (other_tok / "tokenizer_config.json").write_text(json.dumps(config))
    path = tmp_path / "r.yaml"
    path.write_text(f"name: r\nmodel: {{name_or_path: {tiny_model}, tokenizer: {other_tok}, dtype: bfloat16}}\n"
                    f"data: {{path: {GSM8K}}}\nrewards: [{{name: exact_match}}]\nstages: [{{type: grpo}}]\n")
    recipe = load_recipe(path)
    run = StageRun(recipe.stages[0], 0, recipe, tmp_path, str(tiny_model), RewardKit())
    assert load_tokenizer(run).model_max_length == 777
    assert next(load_causal_lm(run).parameters()).dtype == torch.bfloat16


def test_only_rank_zero_writes_the_run_directory(tmp_path, monkeypatch):
    from rewardkit.run import RunDirectory

    monkeypatch.setenv("RANK", "1")
    run = RunDirectory(tmp_path / "run", {"name": "x"}, {}, 0)
    run.mark(0, "a", "grpo", "running")
    run.log("hello")
    assert list((tmp_path / "run").iterdir()) == []


def test_a_stage_reads_the_data_an_earlier_stage_wrote(tiny_model, tmp_path, cli):
    recipe = tmp_path / "gen-score.yaml"
    recipe.write_text(f"""\
name: gen-score
model: {{name_or_path: {tiny_model}}}
data: {{path: {GSM8K}, columns: {{prompt: question}}, limit: 2}}
rewards: [{{name: regex_match, id: has_digit, params: {{pattern: '\\d'}}}}]
stages:
  - {{type: generate, options: {{samples: 2, max_new_tokens: 6}}}}
  - {{type: score, data: {{stage: generate}}}}
""")
    out = cli("run", str(recipe), "--output-dir", str(tmp_path / "run"))
    assert out.returncode == 0, out.stderr[-3000:]
    scored = [json.loads(l) for l in (tmp_path / "run" / "01-score" / "scores.jsonl").read_text().splitlines()]
    assert len(scored) == 4 and all("has_digit" in row["rewards"] for row in scored)
    assert {row["sample_index"] for row in scored} == {0, 1}
    bad = tmp_path / "bad-ref.yaml"
    bad.write_text(recipe.read_text().replace("{stage: generate}", "{stage: sample}"))
    with pytest.raises(RecipeError, match=r"stages\[1\]\.data\.stage: no earlier stage named 'sample' wrote data"):
        load_recipe(bad)


def test_list_valued_trl_args_validate(tiny_model, tmp_path):
    path = tmp_path / "dpo.yaml"
    path.write_text(f"name: dpo\nmodel: {{name_or_path: {tiny_model}}}\ndata: {{path: {GSM8K}}}\nstages:\n"
                    f"  - type: dpo\n    args: {{loss_type: [sigmoid_norm, sft], loss_weights: [1.0, 0.2], beta: '5'}}\n")
    assert load_recipe(path).stages[0].args["loss_type"] == ["sigmoid_norm", "sft"]
    path.write_text(path.read_text().replace("beta: '5'", "beta: [5]"))
    with pytest.raises(RecipeError, match="DPOConfig.beta must be a number"):
        load_recipe(path)


def test_option_values_are_checked_at_validation(tiny_model, tmp_path):
    path = tmp_path / "gen.yaml"
    path.write_text(f"name: gen\nmodel: {{name_or_path: {tiny_model}}}\ndata: {{path: {GSM8K}}}\nstages:\n"
                    f"  - {{type: generate, options: {{samples: 3, temperature: 0}}}}\n")
    with pytest.raises(RecipeError, match=r"stages\[0\]\.options: GenerateOptions: temperature 0 \(greedy\)"):
        load_recipe(path)


def test_options_name_an_earlier_stages_model(tiny_model, tmp_path, cli):
    """Tulu 3's shape: a reward model, then rejection sampling scored by it and PPO whose value model
    starts from it, named as "@reward_model"."""
    rows = [json.loads(line) for line in
            (Path(__file__).parents[2] / "../shared/data/gsm8k/test.jsonl").resolve().read_text().splitlines()[:8]]
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"prompt": r["question"], "chosen": r["answer"],
                                         "rejected": r["answer"].split("####")[-1].strip()}) + "\n" for r in rows))
    recipe = tmp_path / "chain.yaml"
    recipe.write_text(f"""\
name: chain
model: {{name_or_path: {tiny_model}}}
data: {{path: {GSM8K}, columns: {{prompt: question}}, limit: 4}}
rewards: [{{name: regex_match, id: has_digit, params: {{pattern: '\\d'}}}}]
stages:
  - {{type: reward_model, data: {{path: {pairs}}}, args: {{max_steps: 2, per_device_train_batch_size: 4}}}}
  - {{type: rejection_sampling, options: {{samples: 2, max_new_tokens: 6, reward_model: "@reward_model"}}}}
  - type: ppo
    options: {{value_model: "@reward_model"}}
    args: {{max_steps: 1, per_device_train_batch_size: 2, max_completion_length: 6, num_iterations: 1}}
""")
    out = cli("run", str(recipe), "--output-dir", str(tmp_path / "run"))
    assert out.returncode == 0, out.stderr[-3000:]
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    rm = results[0]["reward_model"]
    assert results[1]["scorer"] == "reward_model" and results[1]["kept"] == 4
    assert Path(results[2]["value_model"]).is_dir() and rm.endswith("00-reward_model/model")


def test_a_score_stage_maps_its_data_columns(tiny_model, tmp_path, cli):
    rows = tmp_path / "responses.jsonl"
    rows.write_text("".join(json.dumps({"question": f"{a}+{a}?", "response": str(2 * a), "gold": str(2 * a + (a % 2))})
                            + "\n" for a in range(4)))
    recipe = tmp_path / "score.yaml"
    recipe.write_text(f"""\
name: score-columns
model: {{name_or_path: {tiny_model}}}
data: {{path: {rows}, columns: {{prompt: question, completion: response, reference: gold}}}}
rewards: [{{name: exact_match, id: exact}}]
stages: [{{type: score}}]
""")
    out = cli("run", str(recipe), "--output-dir", str(tmp_path / "run"))
    assert out.returncode == 0, out.stderr[-3000:]
    scored = [json.loads(line) for line in (tmp_path / "run" / "00-score" / "scores.jsonl").read_text().splitlines()]
    assert [row["rewards"]["exact"] for row in scored] == [1.0, 0.0, 1.0, 0.0]
    assert all(not row["errors"] for row in scored)
