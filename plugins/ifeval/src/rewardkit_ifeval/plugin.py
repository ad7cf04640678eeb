"""The rewards: IFEval instruction following, over IFEval rows or Tulu 3 RLVR constraint rows."""

from __future__ import annotations

import json
from typing import Any

from rewardkit import RewardParamsError, Sample, Score, hookimpl, reward

from .evaluate import MODES, evaluate
from .text import DEFAULT_SENTENCE_SPLITTER, SENTENCE_SPLITTERS, InstructionArgsError
from .tulu3 import parse_ground_truth

AGGREGATES = ("fraction", "all")


def _check_params(mode: str, aggregate: str, sentence_splitter: str) -> None:
    if sentence_splitter not in SENTENCE_SPLITTERS:
        raise RewardParamsError(
            f"sentence_splitter must be 'punkt' (nltk's Punkt model, as IFEval's reference counts "
            f"sentences) or 'pysbd' (rule-based), not {sentence_splitter!r}"
        )
    if mode not in MODES:
        raise RewardParamsError(f"mode must be 'strict' or 'loose' (the IFEval paper's two), not {mode!r}")
    if aggregate not in AGGREGATES:
        raise RewardParamsError(
            f"aggregate must be 'fraction' (share of instructions followed) or 'all' (1 only if every "
            f"instruction is followed), not {aggregate!r}"
        )


def strip_thinking(text: str) -> str:
    """The answer after a reasoning model's ``</think>``, if there is one (only the answer is judged)."""
    head, sep, tail = text.rpartition("</think>")
    return tail.lstrip() if sep else text


def _ifeval_columns(
    sample: Sample, ids_column: str, kwargs_column: str
) -> tuple[list[str], list[Any]] | None:
    ids = sample.column(ids_column)
    if ids is None:
        return None
    kwargs = sample.column(kwargs_column)
    if isinstance(ids, str):
        ids = json.loads(ids) if ids.lstrip().startswith("[") else [ids]
    if isinstance(kwargs, str):  # some exports store the kwargs list as a JSON string
        kwargs = json.loads(kwargs)
    if kwargs is None:
        kwargs = [{} for _ in ids]
    elif isinstance(kwargs, dict):
        kwargs = [kwargs]
    return list(ids), list(kwargs)


def _tulu_ground_truth(sample: Sample) -> tuple[list[str], list[Any]] | None:
    gt = sample.column("ground_truth")
    if gt is None:
        gt = sample.reference
    if isinstance(gt, str):
        try:
            gt = json.loads(gt)
        except ValueError:
            return None  # e.g. a math answer in a mixed RLVR dataset: not an IF row
    if isinstance(gt, list) and len(gt) == 1:
        gt = gt[0]
    if not isinstance(gt, dict) or not ({"func_name", "instruction_id"} & set(gt)):
        return None
    return parse_ground_truth(gt)


def _score(
    sample: Sample,
    found: tuple[list[str], list[Any]],
    source: str,
    mode: str,
    aggregate: str,
    think: bool,
    splitter: str,
) -> Score:
    ids, kwargs = found
    response = sample.completion_text
    if think:
        response = strip_thinking(response)
    try:
        verdicts = evaluate(response, ids, kwargs, mode, sentence_splitter=splitter)  # type: ignore[arg-type]
    except InstructionArgsError as exc:
        return Score.failed(f"{source} row has an instruction this plugin cannot check: {exc}")
    followed = sum(verdicts.followed)
    value = verdicts.fraction if aggregate == "fraction" else float(verdicts.all)
    return Score(
        value,
        reason=f"{followed}/{len(ids)} instructions followed ({mode})",
        details={
            "instructions": verdicts.as_dict(),
            "mode": mode,
            "sentence_splitter": splitter,
            "followed": followed,
            "total": len(ids),
            "format": source,
        },
    )


@reward("ifeval.instructions", domains=("ifeval", "instruction_following"))
def instructions(
    sample: Sample,
    *,
    mode: str = "strict",
    aggregate: str = "fraction",
    strip_think: bool = True,
    ids_column: str = "instruction_id_list",
    kwargs_column: str = "kwargs",
    sentence_splitter: str = DEFAULT_SENTENCE_SPLITTER,
) -> Score:
    """IFEval instruction following: the fraction (or all-or-nothing) of a row's instructions followed.

    Reads IFEval's ``instruction_id_list`` and ``kwargs`` columns, or else a Tulu 3 RLVR
    ``ground_truth`` constraint (``{"func_name": ...}``). ``mode`` is the IFEval paper's ``strict``
    or ``loose`` check; ``strip_think`` judges only the text after ``</think>``;
    ``sentence_splitter`` (``punkt``, the reference's, or ``pysbd``) counts sentences. Rows with
    neither are not applicable.
    """
    _check_params(mode, aggregate, sentence_splitter)
    try:
        found = _ifeval_columns(sample, ids_column, kwargs_column)
    except ValueError as exc:
        return Score.failed(f"cannot read the {ids_column!r}/{kwargs_column!r} columns: {exc}")
    if found is not None:
        return _score(sample, found, "ifeval", mode, aggregate, strip_think, sentence_splitter)
    return tulu3(
        sample, mode=mode, aggregate=aggregate, strip_think=strip_think, sentence_splitter=sentence_splitter
    )


@reward("ifeval.tulu3", domains=("ifeval", "instruction_following"))
def tulu3(
    sample: Sample,
    *,
    mode: str = "strict",
    aggregate: str = "fraction",
    strip_think: bool = True,
    sentence_splitter: str = DEFAULT_SENTENCE_SPLITTER,
) -> Score:
    """Tulu 3 RLVR instruction following: checks the ``ground_truth`` constraint (``{"func_name": ...}``).

    Rows whose ground truth is not an IF constraint (math answers in a mixed dataset) are not
    applicable. Params as for ``ifeval.instructions``.
    """
    _check_params(mode, aggregate, sentence_splitter)
    try:
        found = _tulu_ground_truth(sample)
    except InstructionArgsError as exc:
        return Score.failed(f"Tulu 3 ground_truth cannot be checked: {exc}")
    if found is None:
        return Score.not_applicable("no IFEval instructions (instruction_id_list) or Tulu 3 IF ground_truth")
    return _score(sample, found, "tulu3", mode, aggregate, strip_think, sentence_splitter)


@hookimpl
def rewardkit_register(registry: Any) -> None:
    registry.add_reward(instructions)
    registry.add_reward(tulu3)
