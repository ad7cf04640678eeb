"""The generate stage: K completions per prompt to ``<stage>/samples.jsonl``, in the contract
``rewardkit score --input`` reads (the data row, ``prompt``, ``completion``, ``sample_index``).

::

    stages:
      - type: generate
        options: {samples: 8, temperature: 0.8, max_new_tokens: 512}

The stage does not change the model: the next stage starts from the same one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..stage import StageRun
from .sampling import SamplingOptions


@dataclass
class GenerateOptions(SamplingOptions):
    """K samples per prompt (``samples``), decoding settings and backend (``transformers`` or ``vllm``)."""


def run_generate_stage(run: StageRun) -> dict[str, Any]:
    from .common import load_tokenizer, model_path
    from .sampling import load_rows, sample_to_file

    options: GenerateOptions = run.options()
    sampling = options.sampling(run)
    rows = load_rows(run)
    out = sample_to_file(run, rows, run.dir / "samples.jsonl", sampling, model_path=model_path(run),
                         tokenizer=load_tokenizer(run))
    return {"data": str(out), "rows": len(rows) * sampling.samples, "prompts": len(rows),
            "samples_per_prompt": sampling.samples}
