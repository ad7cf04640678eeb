"""A recipe's rewards as verl's ``custom_reward_function``.

verl loads this file by path and calls ``compute_score(data_source, solution_str, ground_truth,
extra_info, **reward_kwargs)`` per response (reward manager ``naive``, the default), or
``compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos, **reward_kwargs)`` once
per batch (reward manager ``batch``: group rewards then see whole GRPO groups)::

    reward:
      custom_reward_function:
        path: /path/to/site-packages/rewardkit/adapters/verl.py  # python -m rewardkit.adapters.verl prints it
        name: compute_score
        reward_kwargs: {recipe: recipes/math_rlvr.yaml, profile: null, domains: {"openai/gsm8k": gsm8k}}

Without ``reward_kwargs.recipe`` the recipe comes from ``$REWARDKIT_RECIPE`` (and ``$REWARDKIT_PROFILE``,
``$REWARDKIT_DOMAINS``). ``data_source`` picks the domain (so the rewards) of each row: see
:func:`rewardkit.adapters.route_domain`. Each call returns ``{"score": total, <reward id>: value, ...,
"rewardkit_scored": 0 or 1}`` (verl logs every key), or the bare total with ``return_dict=False``.
No reward applied (or all failed): the score is ``none_value`` (default 0.0) and ``rewardkit_scored`` 0.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

# Absolute imports: verl imports this file as a standalone module, outside the package.
from rewardkit.adapters import domain_map, engine_for, flat_scores, route_domain
from rewardkit.types import Sample

#: extra_info keys that become Sample fields rather than columns.
_PROMPT_KEYS = ("prompt", "question", "problem")
_GROUP_KEYS = ("group", "uid", "index")


def to_sample(data_source: str, solution_str: str, ground_truth: Any, extra_info: Mapping[str, Any] | None,
              engine: Any, domains: Mapping[str, str], group: str | None = None) -> Sample:
    """One verl row as a Sample: ``ground_truth`` is the gold (the ``answer``, ``ground_truth`` and
    ``reference`` columns all hold it); other ``extra_info`` keys are columns; the prompt is
    ``extra_info``'s ``prompt`` / ``question`` / ``problem`` when there is one (verl passes no prompt)."""
    extra = dict(extra_info or {})
    domain = route_domain(data_source, engine, domains, extra.pop("domain", None))
    prompt = next((extra[k] for k in _PROMPT_KEYS if isinstance(extra.get(k), str)), "")
    row = {**extra, "data_source": data_source, "prompt": prompt, "completion": solution_str,
           "domain": domain, "group": group,
           "answer": ground_truth, "ground_truth": ground_truth, "reference": ground_truth}
    return Sample.from_row(row)


def _result(scored: Any, ids: list[str], none_value: float, return_dict: bool) -> Any:
    total, values, ok = flat_scores(scored, ids, none_value)
    if not return_dict:
        return total
    return {"score": total, **values, "rewardkit_scored": int(ok)}


def compute_score(data_source: str, solution_str: str, ground_truth: Any,
                  extra_info: Mapping[str, Any] | None = None, *, recipe: str | None = None,
                  profile: str | None = None, domains: Any = None,
                  none_value: float = 0.0, return_dict: bool = True, **_: Any) -> float | dict[str, Any]:
    """Score one verl response with the recipe's rewards (weighted total, per-reward values)."""
    engine = engine_for(recipe, profile)
    sample = to_sample(data_source, solution_str, ground_truth, extra_info, engine, domain_map(domains))
    [scored] = engine.score([sample])
    return _result(scored, engine.ids, none_value, return_dict)


def compute_score_batch(data_sources: Sequence[str], solution_strs: Sequence[str],
                        ground_truths: Sequence[Any],
                        extra_infos: Sequence[Mapping[str, Any] | None] | None = None, *,
                        recipe: str | None = None, profile: str | None = None, domains: Any = None,
                        none_value: float = 0.0,
                        return_dict: bool = True, **_: Any) -> list[float | dict[str, Any]]:
    """verl's ``batch`` reward manager: one engine call for the whole batch (parallel, deduplicated).

    Rows sharing ``extra_info`` ``group`` / ``uid`` / ``index`` (verl's preprocessors write ``index``,
    one per prompt) form a group for group rewards; without those, rows with the same prompt do, and
    rows without a prompt are groups of one.
    """
    engine = engine_for(recipe, profile)
    overrides = domain_map(domains)
    extras = list(extra_infos) if extra_infos is not None else [None] * len(solution_strs)
    if not len(data_sources) == len(solution_strs) == len(ground_truths) == len(extras):
        raise ValueError(f"compute_score_batch got {len(data_sources)} data_sources, {len(solution_strs)} "
                         f"solution_strs, {len(ground_truths)} ground_truths and {len(extras)} extra_infos; "
                         "verl passes one of each per response")
    samples = []
    for i, (source, text, gold, extra) in enumerate(zip(data_sources, solution_strs, ground_truths, extras)):
        info = extra or {}
        gid = next((info[k] for k in _GROUP_KEYS if info.get(k) is not None), None)
        has_prompt = any(isinstance(info.get(k), str) for k in _PROMPT_KEYS)
        group = f"{source}:{gid}" if gid is not None else (None if has_prompt else f"row:{i}")
        samples.append(to_sample(source, text, gold, extra, engine, overrides, group))
    return [_result(s, engine.ids, none_value, return_dict) for s in engine.score(samples)]


if __name__ == "__main__":  # the path to give verl's custom_reward_function.path
    print(__file__)
