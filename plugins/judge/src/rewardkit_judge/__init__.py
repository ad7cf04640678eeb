"""rewardkit-judge: generative (chain-of-thought) judge rewards.

Rewards (see the README for params): ``judge.pointwise`` (1-10), ``judge.reference`` (PASS/FAIL
against the reference answer), ``judge.pairwise`` (A/B against a baseline, optionally both orders),
``judge.pairwise_group`` (A/B within a GRPO group).

The building blocks are public, for other rewards built on a judge (voting, rubrics)::

    from rewardkit_judge import get_backend, render, parse_verdict, Verdict
    backend = get_backend("transformers" | "vllm" | "http", model="...", base_url=None, **options)  # cached
    outs: list[list[str]] = backend.generate(conversations, n=1, temperature=0.0, max_new_tokens=256)
    messages = render("pointwise" | "reference" | "pairwise" | "path/template.txt", sample, **extra_fields)
    verdict: Verdict = parse_verdict("pointwise" | "reference" | "pairwise", text)  # .value in [0,1] | None, .reason

Importing this package imports no torch, transformers, vllm or httpx.
"""

from .backends import Completion, JudgeBackend, JudgeBackendError, clear_backends, get_backend
from .rewards import pairwise, pairwise_group, pointwise, reference
from .stats import reset_stats, stats
from .templates import BUILTIN as TEMPLATES
from .templates import TemplateError, render, template_source
from .verdicts import Verdict, parse_verdict

__version__ = "0.1.0"
__all__ = [
    "TEMPLATES",
    "Completion",
    "JudgeBackend",
    "JudgeBackendError",
    "TemplateError",
    "Verdict",
    "clear_backends",
    "get_backend",
    "pairwise",
    "pairwise_group",
    "parse_verdict",
    "pointwise",
    "reference",
    "render",
    "reset_stats",
    "stats",
    "template_source",
]
