"""The ``model_average`` stage: a weighted average of checkpoints' weights (Llama 3 averages the
models of several runs at each of its SFT, RM and DPO stages; "model soups").

The models are earlier stages of the run (by name, e.g. ``round1-dpo``, or by index) or folders;
they must share an architecture (same parameter names and shapes). The average is saved with the
first model's config and tokenizer, and becomes the next stage's model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..stage import StageRun


@dataclass
class ModelAverageOptions:
    """Which models to average and how much each weighs."""

    #: Earlier stages (their ``name``/label or index) or model folders. Empty: every earlier stage of
    #: this run that produced a model.
    models: list[str] = field(default_factory=list)
    #: One weight per model (normalised to sum 1). Empty: equal weights.
    weights: list[float] = field(default_factory=list)


def resolve_models(run: StageRun, references: list[str]) -> list[str]:
    """Model folders for ``references`` (stage labels, stage indexes, or paths)."""
    produced = [(i, r) for i, r in enumerate(run.previous) if r.get("model")]
    if not references:
        if not produced:
            raise ValueError("model_average: no earlier stage produced a model; name models in options.models")
        return [r["model"] for _, r in produced]
    from ..stages import plan

    labels = {(s.name or s.type): i for i, s in enumerate(plan(run.recipe, run.kit))}
    out = []
    for ref in references:
        ref = str(ref)
        index = int(ref) if ref.isdigit() else labels.get(ref)
        if index is not None and index < len(run.previous) and run.previous[index].get("model"):
            out.append(run.previous[index]["model"])
        elif run.recipe.resolve_path(ref).is_dir():
            out.append(str(run.recipe.resolve_path(ref)))
        else:
            known = ", ".join(sorted(k for k, i in labels.items() if i < len(run.previous))) or "none yet"
            raise ValueError(f"model_average: {ref!r} is neither an earlier stage with a model (earlier stages: "
                             f"{known}) nor a model folder")
    return out


def average_state_dicts(state_dicts: list[dict[str, Any]], weights: list[float]) -> dict[str, Any]:
    """sum_i w_i * sd_i for floating-point tensors (others are taken from the first)."""
    first = state_dicts[0]
    for i, sd in enumerate(state_dicts[1:], start=1):
        if sd.keys() != first.keys():
            missing = sorted(set(first) ^ set(sd))[:5]
            raise ValueError(f"model_average: model {i} has other parameters than model 0 (e.g. {missing}); "
                             "only models of one architecture can be averaged")
        for key, tensor in sd.items():
            if tensor.shape != first[key].shape:
                raise ValueError(f"model_average: {key} is {tuple(tensor.shape)} in model {i} but "
                                 f"{tuple(first[key].shape)} in model 0")
    out = {}
    for key, tensor in first.items():
        if tensor.is_floating_point():
            acc = tensor.double() * weights[0]
            for w, sd in zip(weights[1:], state_dicts[1:]):
                acc += sd[key].double() * w
            out[key] = acc.to(tensor.dtype)
        else:
            out[key] = tensor
    return out


def run_model_average_stage(run: StageRun) -> dict[str, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    options: ModelAverageOptions = run.options()
    paths = resolve_models(run, options.models)
    weights = options.weights or [1.0] * len(paths)
    if len(weights) != len(paths) or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f"model_average: {len(weights)} weights for {len(paths)} models; give one non-negative "
                         "weight per model (or none for equal weights)")
    total = sum(weights)
    weights = [w / total for w in weights]
    models = [AutoModelForCausalLM.from_pretrained(p) for p in paths]
    averaged = average_state_dicts([m.state_dict() for m in models], weights)
    base = models[0]
    base.load_state_dict(averaged)
    out = run.dir / "model"
    base.save_pretrained(str(out))
    AutoTokenizer.from_pretrained(paths[0]).save_pretrained(str(out))
    return {"model": str(out), "averaged": [str(Path(p)) for p in paths], "weights": weights}
