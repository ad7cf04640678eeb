"""Assembling the program to run from the extracted code and the row (HumanEval's prompt)."""

from __future__ import annotations

import ast
import re
import textwrap

from .suites import TestSuite


def defines(code: str, name: str, language: str) -> bool:
    """Whether ``code`` defines the function ``name`` itself (a full solution, not just a body)."""
    if language == "python":
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            return False
        return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == name
                   for n in tree.body)
    return re.search(rf"\b{re.escape(name)}\s*\([^;{{}}]*\)\s*(const\s*)?\{{", code) is not None


def _complete_python(prompt: str) -> bool:
    try:
        ast.parse(prompt)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return True


def assemble(code: str, suite: TestSuite, language: str, prompt: str | None) -> str:
    """The program to compile/run.

    With an ``entry_point`` and a code prompt that declares it (HumanEval), a completion that is
    only the function body is appended to the prompt; a full function is appended after the
    prompt (which carries the imports and helpers) so that its definition replaces the stub. For
    C/C++ ``program`` suites the test code (its ``main``) is appended.
    """
    entry = suite.entry_point
    if entry and prompt and re.search(rf"\b{re.escape(entry)}\s*\(", prompt):
        if defines(code, entry, language):
            if language == "python" and _complete_python(prompt):
                code = prompt.rstrip("\n") + "\n\n" + code
            elif language != "python":
                # keep the prompt's headers and `using` lines, drop its unfinished declaration
                header = prompt[: prompt.rfind("\n", 0, re.search(rf"\b{re.escape(entry)}\s*\(", prompt).start()) + 1]
                code = header + code
        else:
            body = code
            first = next((line for line in body.splitlines() if line.strip()), "")
            if language == "python" and first and not first[0].isspace():
                body = textwrap.indent(body, "    ")
            code = prompt + body
    if suite.kind == "program":
        code = code.rstrip("\n") + "\n\n" + suite.tests[0]
    return code
