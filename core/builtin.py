"""Core's built-in rewards and stage types. They register through the same hook as any installed plugin."""

from __future__ import annotations

import importlib
import re
from functools import lru_cache
from typing import Any, Callable

from .hookspecs import hookimpl
from .registry import Registry
from .reward import RewardParamsError, reward
from .stage import StageType
from .types import Sample, Score


def _normalise(text: str, *, strip: bool, case_sensitive: bool) -> str:
    text = " ".join(text.split()) if strip else text
    return text if case_sensitive else text.casefold()


@reward("exact_match")
def exact_match(sample: Sample, *, column: str | None = None, strip: bool = True, case_sensitive: bool = True) -> Score:
    """1.0 when the completion equals the reference (or the named column), else 0.0."""
    want = sample.column(column) if column else sample.reference
    if want is None:
        return Score.not_applicable("no reference to compare with")
    got = _normalise(sample.completion_text, strip=strip, case_sensitive=case_sensitive)
    return Score(float(got == _normalise(str(want), strip=strip, case_sensitive=case_sensitive)))


@lru_cache(maxsize=256)
def _compile(pattern: str, flags: int) -> re.Pattern[str]:
    return re.compile(pattern, flags)


def _check_pattern(*, pattern: str = "", **_: Any) -> None:
    if not pattern:
        raise RewardParamsError("regex_match needs params.pattern, e.g. pattern: '^<think>'")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise RewardParamsError(f"params.pattern {pattern!r} is not a valid regular expression: {exc}") from None


@reward("regex_match", validate=_check_pattern)
def regex_match(sample: Sample, *, pattern: str = "", full: bool = False, ignore_case: bool = False) -> float:
    """1.0 when the completion matches ``pattern`` (``full``: the whole completion), else 0.0."""
    if not pattern:
        raise RewardParamsError("regex_match needs params.pattern, e.g. pattern: '^<think>'")
    rx = _compile(pattern, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)
    found = rx.fullmatch(sample.completion_text) if full else rx.search(sample.completion_text)
    return float(found is not None)


@lru_cache(maxsize=64)
def load_callable(path: str) -> Callable[..., Any]:
    """Import ``"package.module:function"`` (the form used by ``python`` rewards in recipes)."""
    module, sep, attr = path.partition(":")
    if not sep or not module or not attr:
        raise RewardParamsError(f"function must look like 'package.module:function', not {path!r}")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _check_function(*, function: str = "", **_: Any) -> None:
    if not function:
        raise RewardParamsError("the python reward needs params.function: 'package.module:function'")
    try:
        load_callable(function)
    except RewardParamsError:
        raise
    except (ImportError, AttributeError) as exc:
        raise RewardParamsError(
            f"params.function {function!r} cannot be imported ({type(exc).__name__}: {exc}); put its module "
            "on PYTHONPATH or in the working directory") from None


@reward("python", validate=_check_function)
def python_function(sample: Sample, *, function: str = "", **kwargs: Any) -> Any:
    """Call your own function ``fn(sample, **params)`` by import path: no packaging needed."""
    if not function:
        raise RewardParamsError("the python reward needs params.function: 'package.module:function'")
    fn = load_callable(function)
    return getattr(fn, "fn", fn)(sample, **kwargs)


#: The built-in stage types. Runners and option classes are imported only when used; the ``args`` of
#: each map onto the TRL config named (validated field by field at ``rewardkit validate``).
BUILTIN_STAGES = (
    StageType("score", run="rewardkit.stages:run_score_stage", needs_model=False, needs_rewards=True, extra="",
              description="score the data's completions with the recipe's rewards"),
    StageType("sft", run="rewardkit.train.sft:run_sft_stage", config="trl:SFTConfig",
              options="rewardkit.train.sft:SFTOptions",
              description="supervised fine-tuning on messages or prompt/completion rows (loss on completions)"),
    StageType("reward_model", run="rewardkit.train.reward_model:run_reward_model_stage", config="trl:RewardConfig",
              options="rewardkit.train.reward_model:RewardModelOptions",
              description="Bradley-Terry reward model on preference pairs (optional margins by grade)"),
    StageType("dpo", run="rewardkit.train.dpo:run_dpo_stage", config="trl:DPOConfig",
              options="rewardkit.train.dpo:DPOOptions",
              description="DPO: sigmoid, length-normalised, SimPO, NLL term on the chosen response"),
    StageType("grpo", run="rewardkit.train.grpo:run_grpo_stage", config="trl:GRPOConfig",
              options="rewardkit.train.grpo:GRPOOptions", needs_rewards=True,
              description="GRPO with the recipe's rewards (variance-based prompt selection, dynamic sampling)"),
    StageType("rloo", run="rewardkit.train.rloo:run_rloo_stage", config="trl:RLOOConfig", needs_rewards=True,
              description="RLOO with the recipe's rewards"),
    StageType("ppo", run="rewardkit.train.ppo:run_ppo_stage", config="rewardkit.train.ppo_trainer:PPOConfig",
              options="rewardkit.train.ppo:PPOOptions", needs_rewards=True,
              description="PPO with a learned value model (GAE) and the recipe's verifiable rewards"),
    StageType("generate", run="rewardkit.train.generate:run_generate_stage",
              options="rewardkit.train.generate:GenerateOptions",
              description="K samples per prompt to JSONL, in the `rewardkit score` contract"),
    StageType("eval", run="rewardkit.train.evaluate:run_eval_stage", options="rewardkit.train.evaluate:EvalOptions",
              needs_rewards=True, description="held-out accuracy with the recipe's rewards (greedy, pass@k, mean@k)"),
    StageType("rejection_sampling", run="rewardkit.train.rejection_sampling:run_rejection_sampling_stage",
              options="rewardkit.train.rejection_sampling:RejectionSamplingOptions",
              description="best-of-K by the recipe's rewards or a reward model, written as a new SFT set"),
    StageType("model_average", run="rewardkit.train.model_average:run_model_average_stage",
              options="rewardkit.train.model_average:ModelAverageOptions", needs_data=False, needs_model=False,
              description="weighted average of checkpoints (earlier stages' models or paths)"),
)


@hookimpl
def rewardkit_register(registry: Registry) -> None:
    for r in (exact_match, regex_match, python_function):
        registry.add_reward(r)
    for stage_type in BUILTIN_STAGES:
        registry.add_stage(stage_type)
