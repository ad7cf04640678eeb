"""Strict and loose evaluation of a response against a list of instructions (the IFEval paper's modes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from collections.abc import Mapping, Sequence

from .checkers import INSTRUCTIONS, Instruction
from .text import DEFAULT_SENTENCE_SPLITTER, InstructionArgsError, check_splitter

Mode = Literal["strict", "loose"]
MODES: tuple[str, ...] = ("strict", "loose")


class UnknownInstructionError(InstructionArgsError):
    """An instruction id that no checker knows."""


def get_instruction(instruction_id: str) -> Instruction:
    try:
        return INSTRUCTIONS[instruction_id]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(str(instruction_id), INSTRUCTIONS, n=2, cutoff=0.6)
        hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        raise UnknownInstructionError(
            f"unknown IFEval instruction id {instruction_id!r}; {hint}"
            f"the plugin README lists all {len(INSTRUCTIONS)} ids"
        ) from None


def loose_variants(response: str) -> list[str]:
    """The 8 texts the paper's loose mode tries: the response with its first line, last line or both
    removed (markdown chatter such as "Sure, here it is:"), each also with every ``*`` removed."""
    lines = response.split("\n")
    cut = [
        response,
        "\n".join(lines[1:]).strip(),
        "\n".join(lines[:-1]).strip(),
        "\n".join(lines[1:-1]).strip(),
    ]
    return cut + [text.replace("*", "") for text in cut]


def follows(
    response: str,
    instruction_id: str,
    kwargs: Mapping[str, Any] | None = None,
    mode: Mode = "strict",
    *,
    sentence_splitter: str = DEFAULT_SENTENCE_SPLITTER,
) -> bool:
    """Whether ``response`` follows one instruction. An empty response follows nothing.

    ``sentence_splitter`` (``punkt``, the reference's, or ``pysbd``) counts sentences for
    ``length_constraints:number_sentences`` and cuts words for ``change_case:capital_word_frequency``.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be 'strict' or 'loose', not {mode!r}")
    check_splitter(sentence_splitter)
    inst = get_instruction(instruction_id)
    bound = inst.bind(kwargs)  # validate even when the response is empty: bad data should be loud
    options = inst.pick_options(sentence_splitter)
    # Loose variants often coincide (no "*", a one-line response): check each text once.
    candidates = [response] if mode == "strict" else list(dict.fromkeys(loose_variants(response)))
    return any(text.strip() and inst.check(text, **bound, **options) for text in candidates)


@dataclass(frozen=True)
class Verdicts:
    """Per-instruction results for one response, in the order the instructions were given."""

    ids: tuple[str, ...]
    followed: tuple[bool, ...]
    mode: str
    sentence_splitter: str = DEFAULT_SENTENCE_SPLITTER

    @property
    def fraction(self) -> float:
        return sum(self.followed) / len(self.followed) if self.followed else 0.0

    @property
    def all(self) -> bool:
        return bool(self.followed) and all(self.followed)

    def as_dict(self) -> dict[str, bool]:
        """``{instruction_id: followed}``; a repeated id gets a ``#2``, ``#3``... suffix."""
        out: dict[str, bool] = {}
        for iid, ok in zip(self.ids, self.followed):
            key, n = iid, 1
            while key in out:
                n += 1
                key = f"{iid}#{n}"
            out[key] = ok
        return out


def evaluate(
    response: str,
    instruction_ids: Sequence[str],
    kwargs_list: Sequence[Mapping[str, Any] | None],
    mode: Mode = "strict",
    *,
    sentence_splitter: str = DEFAULT_SENTENCE_SPLITTER,
) -> Verdicts:
    """Check ``response`` against each instruction (ids and kwargs as IFEval's input_data gives them)."""
    if mode not in MODES:
        raise ValueError(f"mode must be 'strict' or 'loose', not {mode!r}")
    check_splitter(sentence_splitter)
    if len(instruction_ids) != len(kwargs_list):
        raise InstructionArgsError(
            f"{len(instruction_ids)} instruction ids but {len(kwargs_list)} kwargs entries; "
            "kwargs must hold one dict (possibly empty) per instruction id"
        )
    followed = tuple(
        follows(response, iid, kw, mode, sentence_splitter=sentence_splitter)
        for iid, kw in zip(instruction_ids, kwargs_list)
    )
    return Verdicts(tuple(instruction_ids), followed, mode, sentence_splitter)
