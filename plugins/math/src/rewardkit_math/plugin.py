"""Registers the math rewards and the answer parsers with rewardkit."""

from __future__ import annotations

from rewardkit import hookimpl

from . import extract
from .numbers import to_number
from .rewards import accuracy, gsm8k, last_letter, multiple_choice


def _number(text: str) -> float | None:
    value = to_number(text, lenient=True)
    return None if value is None else float(value)


PARSERS = {
    "math.boxed": extract.boxed,
    "math.answer_tag": extract.answer_tag,
    "math.answer_is": extract.answer_is,
    "math.gsm8k_hashes": extract.hashes,
    "math.last_number": extract.last_number,
    "math.last_letter": last_letter,
    "math.number": _number,
}


@hookimpl
def rewardkit_register(registry) -> None:  # type: ignore[no-untyped-def]
    for reward in (accuracy, gsm8k, multiple_choice):
        registry.add_reward(reward)
    for name, fn in PARSERS.items():
        registry.add_parser(name, fn)
