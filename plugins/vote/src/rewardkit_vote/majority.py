"""``vote.majority``: Test-Time RL's majority vote as a reward (no gold answer needed).

All completions of one prompt (a GRPO group) vote with their final answers; the largest cluster of
equivalent answers is the pseudo-label, and a completion scores 1.0 when its answer is in it, 0.0
otherwise (TTRL, Zuo et al. 2025). A group whose majority holds less than ``min_agreement`` of it has
no reliable pseudo-label and gets None ("not applicable") throughout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rewardkit import RewardParamsError, Sample, Score, reward

from . import answers as ans
from .clusters import EQUIVALENCES, Clustering, cluster

TIES = ("first", "none")


def resolve_equivalence(equivalence: str) -> str:
    """``auto`` -> ``math`` when rewardkit-math is installed, else ``text``."""
    if equivalence == "auto":
        return "math" if ans.math_installed() else "text"
    return equivalence


def check(*, extract: str, pattern: str, equivalence: str, min_agreement: float, min_group: int, ties: str,
          no_answer: float | None, timeout: float, max_checks: int, executor: str) -> None:
    ans.check_extract(extract, pattern)
    if equivalence not in EQUIVALENCES:
        raise RewardParamsError(f"equivalence must be one of {', '.join(EQUIVALENCES)}, not {equivalence!r}")
    if equivalence == "math" and not ans.math_installed():
        raise RewardParamsError(f"equivalence: math needs rewardkit-math, which is not installed; "
                                f"{ans.MATH_INSTALL}, or use equivalence: text (normalised strings)")
    if not 0.0 <= float(min_agreement) <= 1.0:
        raise RewardParamsError(f"min_agreement is a share of the group between 0 and 1, "
                                f"not {min_agreement!r}")
    if int(min_group) < 1:
        raise RewardParamsError(f"min_group must be at least 1, not {min_group!r}")
    if ties not in TIES:
        raise RewardParamsError(f"ties must be 'first' (the cluster seen first wins) or 'none' (no label), "
                                f"not {ties!r}")
    if no_answer is not None and not isinstance(no_answer, (int, float)):
        raise RewardParamsError(f"no_answer is the score of a completion without an answer (a number or "
                                f"null), not {no_answer!r}")
    if float(timeout) <= 0:
        raise RewardParamsError(f"timeout must be a positive number of seconds, not {timeout!r}")
    if int(max_checks) < 0:
        raise RewardParamsError(f"max_checks must be >= 0, not {max_checks!r}")
    if executor not in ("auto", "process", "inline", "ray"):
        raise RewardParamsError(f"executor must be auto, process, inline or ray, not {executor!r}")


@reward("vote.majority", mode="group", validate=check)
def majority(
    samples: Sequence[Sample],
    *,
    extract: str = "auto",
    pattern: str = "",
    equivalence: str = "auto",
    min_agreement: float = 0.0,
    min_group: int = 2,
    ties: str = "first",
    no_answer: float | None = 0.0,
    timeout: float = 2.0,
    max_checks: int = 256,
    executor: str = "auto",
) -> list[Score]:
    """1.0 when the completion's answer agrees with the group's majority answer (TTRL; no gold needed).

    ``extract``: auto (math when rewardkit-math is installed, else last_number), math, last_number,
    regex (with ``pattern``), text. ``equivalence``: auto (math when installed, else text), math, text.
    A group whose majority holds less than ``min_agreement`` of it, or smaller than ``min_group``, or
    with no answer at all, gets None. ``ties``: first (the cluster seen first in the group wins) or
    none (a tied group gets None). ``no_answer``: the score of a completion without an answer.
    """
    extract = ans.resolve_extract(extract)
    equivalence = resolve_equivalence(equivalence)
    find = ans.extractor(extract, pattern)
    options: dict[str, Any] = {
        "extract": extract, "equivalence": equivalence, "min_agreement": float(min_agreement),
        "min_group": int(min_group), "ties": ties, "no_answer": no_answer, "timeout": float(timeout),
        "max_checks": int(max_checks), "executor": executor}
    # The engine calls a group reward once per group; called directly, a batch may hold several.
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(samples):
        groups.setdefault(s.group_key, []).append(i)
    out: list[Score | None] = [None] * len(samples)
    for members in groups.values():
        for i, score in zip(members, _vote([find(samples[i].completion_text) for i in members], **options)):
            out[i] = score
    return out  # type: ignore[return-value]


def _vote(found: list[str | None], *, extract: str, equivalence: str, min_agreement: float, min_group: int,
          ties: str, no_answer: float | None, timeout: float, max_checks: int, executor: str) -> list[Score]:
    """The scores of one group whose answers are ``found`` (None: no answer)."""
    n = len(found)
    base: dict[str, Any] = {"extractor": extract, "equivalence": equivalence, "group_size": n}
    if n < min_group:
        return [Score.not_applicable(f"a group of {n} (min_group {min_group}): nothing to vote with",
                                     answer=a, **base) for a in found]
    if all(a is None for a in found):
        return [Score.not_applicable("no completion in the group has an answer", answer=None, **base)] * n
    clusters = cluster(found, equivalence=equivalence, timeout=timeout, max_checks=max_checks,
                       executor=executor)
    winner, tied = _winner(clusters)
    share = len(clusters.members[winner]) / n
    group = {
        **base,
        "majority": found[clusters.founders[winner]],
        "share": share,
        "clusters": sorted((len(m) for m in clusters.members), reverse=True),
        "no_answer": sum(a is None for a in found),
        **({"checks": clusters.checks} if equivalence == "math" else {}),
        **({"failed_checks": clusters.failed_checks} if clusters.failed_checks else {}),
        **({"budget_spent": True} if clusters.budget_spent else {}),
        **({"tied": True} if tied else {}),
    }
    if tied and ties == "none":
        return [Score.not_applicable("the vote is tied (ties: none)", answer=a, **group) for a in found]
    if share < min_agreement:
        return [Score.not_applicable(f"the majority holds {share:.0%} of the group, below min_agreement "
                                     f"{min_agreement:.0%}: no reliable pseudo-label", answer=a, **group)
                for a in found]
    scores = []
    for a, c in zip(found, clusters.cluster_of):
        if a is None:
            scores.append(Score(None if no_answer is None else float(no_answer), reason="no answer found",
                                details={**group, "answer": None}))
        elif c == winner:
            scores.append(Score(1.0, reason="agrees with the majority", details={**group, "answer": a}))
        else:
            scores.append(Score(0.0, reason="disagrees with the majority", details={**group, "answer": a}))
    return scores


def _winner(clusters: Clustering) -> tuple[int, bool]:
    """The largest cluster (ties: the one holding the earliest completion), and whether it was tied."""
    sizes = [len(m) for m in clusters.members]
    top = max(sizes)
    best = [c for c, size in enumerate(sizes) if size == top]
    return min(best, key=lambda c: clusters.members[c][0]), len(best) > 1
