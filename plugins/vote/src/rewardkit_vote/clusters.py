"""Group a group's answers into clusters of equivalent answers, deterministically and within a budget.

Answers are first merged by a cheap key (the normalised string; under math equivalence a plain number
is keyed by its exact value, so "18", "18.0" and "\\frac{36}{2}" meet without sympy). Distinct keys are
then taken most frequent first (ties: first seen); each round, the first unassigned key founds a
cluster and every other unassigned key is checked against it in one batch (rewardkit-math's checker:
fast paths, deduplication, worker processes with a deadline per check). A key joins the first cluster
whose founder it equals; equivalence is never chained through a third answer.

Rounds stop early once the answers still unassigned are fewer than the largest cluster (they can no
longer form a majority, nor tie it), or when the next round would exceed ``max_checks``: the keys left
stay clusters of their own, uncompared with each other (under-merged minorities; ``budget_spent`` is
reported because the vote itself may then be off).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .answers import normalise

EQUIVALENCES = ("auto", "math", "text")


@dataclass
class Clustering:
    """The clusters of one group's answers."""

    #: For each completion: its answer's cluster index, or None when it has no answer.
    cluster_of: list[int | None]
    #: Completion indices per cluster, in order of founding (most frequent key first).
    members: list[list[int]]
    #: How the answers were compared: "math" or "text".
    equivalence: str
    checks: int = 0  # pairwise equivalence checks made (math only; the cheap key merges are free)
    failed_checks: int = 0  # checks that timed out or crashed (counted as "not equivalent")
    #: The last keys were not compared with each other: they could no longer win the vote.
    stopped_early: bool = False
    #: ``max_checks`` ran out: the last keys were not compared with each other (the vote may be off).
    budget_spent: bool = False
    founders: list[int] = field(default_factory=list)  # the completion whose answer founded each cluster


def math_key(answer: str) -> str:
    """The cheap key under math equivalence: an exact number for plain numbers, else the normalised text."""
    from rewardkit_math import to_number

    value = to_number(answer)
    if value is not None:
        return f"#{value}"  # Fraction: "18", "1/2"; '#' keeps numbers apart from text keys
    return normalise(answer)


def cluster(answers: Sequence[str | None], *, equivalence: str = "text", timeout: float = 2.0,
            max_checks: int = 256, executor: str = "auto") -> Clustering:
    """Cluster ``answers`` (one per completion; None = no answer) by ``equivalence`` ("math" or "text")."""
    key_of = math_key if equivalence == "math" else normalise
    keys: dict[str, list[int]] = {}  # insertion order = first seen
    for i, answer in enumerate(answers):
        if answer is not None:
            keys.setdefault(key_of(answer), []).append(i)
    ordered = sorted(keys.values(), key=lambda idx: (-len(idx), idx[0]))
    result = Clustering([None] * len(answers), [], equivalence)
    if equivalence != "math":
        groups = ordered  # the keys are the clusters
    else:
        groups = _math_rounds(ordered, answers, result, timeout, max_checks, executor)
    for c, members in enumerate(groups):
        result.members.append(sorted(members))
        result.founders.append(members[0])
        for i in members:
            result.cluster_of[i] = c
    return result


def _math_rounds(ordered: list[list[int]], answers: Sequence[str | None], result: Clustering, timeout: float,
                 max_checks: int, executor: str) -> list[list[int]]:
    from rewardkit_math import CheckerConfig, check_pairs

    config = CheckerConfig(timeout=timeout, executor=executor)
    pending = list(ordered)  # each item: the completions sharing one key; item[0] is the first of them
    clusters: list[list[int]] = []
    while pending:
        largest = max((len(c) for c in clusters), default=0)
        if sum(len(k) for k in pending) < largest:
            result.stopped_early = True  # the rest can neither win nor tie the vote
            break
        founder, rest = pending[0], pending[1:]
        budget = max_checks - result.checks
        if len(rest) > budget:
            result.budget_spent = True
            break
        verdicts = check_pairs([(answers[founder[0]], answers[k[0]]) for k in rest], config) if rest else []
        result.checks += len(rest)
        members, pending = list(founder), []
        for k, verdict in zip(rest, verdicts):
            result.failed_checks += verdict.equal is None
            if verdict.equal:
                members.extend(k)
            else:
                pending.append(k)
        clusters.append(members)
    # Unchecked keys stay clusters of their own (their spellings agree, they were not compared further).
    return clusters + pending
