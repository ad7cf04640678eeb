"""The languages the code reward can compile and run, and how fence tags name them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    """How to build and run one language inside the sandbox."""

    name: str
    source: str
    #: Compiler command (run once per sample), or empty for interpreted languages.
    compile: tuple[str, ...] = ()
    #: Command that runs the built program on one test's stdin.
    run: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


LANGUAGES: dict[str, Language] = {
    # Python tests run in forked children of the runner (no interpreter start per test).
    "python": Language("python", "solution.py", aliases=("py", "python3", "py3", "pycon")),
    "cpp": Language(
        "cpp", "main.cpp", ("g++", "-std=gnu++17", "-O2", "-pipe", "-o", "prog", "main.cpp"), ("./prog",),
        aliases=("c++", "cxx", "cc", "hpp", "cplusplus"),
    ),
    "c": Language("c", "main.c", ("gcc", "-std=gnu11", "-O2", "-pipe", "-o", "prog", "main.c", "-lm"), ("./prog",),
                  aliases=("h",)),
}

_BY_TAG = {alias: lang.name for lang in LANGUAGES.values() for alias in (lang.name, *lang.aliases)}


def language_from_tag(tag: str | None) -> str | None:
    """The language a fence tag or a dataset's ``language`` column names, or None if unknown."""
    if not tag:
        return None
    return _BY_TAG.get(tag.strip().lower())


def get_language(name: str) -> Language:
    """The :class:`Language` called ``name`` (or one of its aliases); ValueError naming the choices."""
    canonical = language_from_tag(name)
    if canonical is None:
        raise ValueError(f"unsupported language {name!r}; choose one of {sorted(LANGUAGES)} or 'auto'")
    return LANGUAGES[canonical]
