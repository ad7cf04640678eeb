"""Assembling the program to run from the extracted code and the row (HumanEval's prompt)."""

from __future__ import annotations

import ast
import re
import secrets
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
                code = _native_header(prompt, entry) + code
        else:
            body = code
            first = next((line for line in body.splitlines() if line.strip()), "")
            if language == "python" and first and not first[0].isspace():
                body = textwrap.indent(body, "    ")
            code = prompt + body
    if suite.kind == "program":
        code = with_test_main(code, suite.tests[0], entry, prompt)
    return code


def _definition(source: str, name: str) -> re.Match[str] | None:
    """Where ``source`` starts defining the C/C++ function ``name`` (``... name(args) {``); a call
    in a comment (``name({1, 2})``) does not count."""
    return re.search(rf"\b{re.escape(name)}\s*\([^;{{}}]*\)\s*(const\s*)?\{{", source)


def _native_header(prompt: str, entry: str) -> str:
    """The prompt's lines before the entry point's definition (includes, ``using``, helpers)."""
    match = _definition(prompt, entry)
    return prompt[: prompt.rfind("\n", 0, match.start()) + 1] if match else ""


def _declaration(source: str, entry: str) -> str | None:
    """A forward declaration of ``entry`` made from its definition line in ``source``, or None
    when that line could carry anything but a signature (a directive, a line splice)."""
    match = _definition(source, entry)
    if match is None:
        return None
    start = source.rfind("\n", 0, match.start()) + 1
    line = source[start: match.end() - 1]
    signature = line.strip()
    if not signature or signature.startswith(entry):  # the return type sits on the line above
        previous = source.rfind("\n", 0, max(0, start - 1)) + 1
        line = source[previous: match.end() - 1]
        signature = " ".join(line.split())
    if any(bad in line for bad in ("#", "%:", "??=", "\\", "/*", "//", "\n" + "#")) or "\n" in signature:
        return None
    return signature + ";"


def _test_main_end(test: str) -> tuple[int, bool] | None:
    """Where the test's ``main`` body closes (index of its ``}``), and whether it takes
    ``argc, argv``; None when it cannot be found. Strings, characters and comments are skipped."""
    match = re.search(r"\bmain\s*\(([^)]*)\)\s*\{", test)
    if match is None:
        return None
    takes_args = bool(match.group(1).strip()) and match.group(1).strip() != "void"
    depth, i, n = 0, match.end() - 1, len(test)
    while i < n:
        c = test[i]
        if c in "\"'":
            i += 1
            while i < n and test[i] != c:
                i += 2 if test[i] == "\\" else 1
        elif test.startswith("//", i):
            i = test.find("\n", i)
            i = n if i < 0 else i
        elif test.startswith("/*", i):
            i = test.find("*/", i + 2)
            i = n if i < 0 else i + 1
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i, takes_args
        i += 1
    return None


def with_test_main(code: str, test: str, entry: str | None, prompt: str | None) -> str:
    """A C/C++ program whose test ``main`` must *prove* it ran to its end.

    At start (``.preinit_array``, before any of the program's constructors) the harness reads a
    token the runner hands it on fd 3 and closes that fd; only after the test's ``main`` returned
    0 does it write the token back on fd 4. ``exit(0)`` in the function under test, a signal
    handler that calls ``_exit(0)``, or a constructor that exits: no token, no pass. The test is
    compiled *before* the program (the entry point forward-declared from the prompt), so the
    program's macros (``#define assert(x)``) cannot rewrite it. The harness's names are random per
    sample, so the program cannot refer to them.
    """
    ident = "rk_" + secrets.token_hex(6)
    end = _test_main_end(test)
    if end is not None:  # falling off the end of a renamed main would be undefined: return 0
        test = test[: end[0]] + "\n    return 0;\n" + test[end[0]:]
    args = f"{ident}_argc, {ident}_argv" if end is not None and end[1] else ""
    prelude = (
        "#include <unistd.h>\n"
        f"static char {ident}_tok[64];\nstatic long {ident}_len = -1;\n"
        f"static void {ident}_read(void) {{ {ident}_len = (long)read(3, {ident}_tok, sizeof {ident}_tok); close(3); }}\n"
        f"__attribute__((section(\".preinit_array\"), used)) static void (*{ident}_pre)(void) = {ident}_read;\n"
        f"static int {ident}_done(int rc) {{\n"
        f"    if (rc == 0 && {ident}_len > 0 && write(4, {ident}_tok, (size_t){ident}_len) != {ident}_len) return 1;\n"
        f"    return rc;\n}}\n"
    )
    finale = (f"\n#undef main\nint main(int {ident}_argc, char **{ident}_argv) {{\n"
              f"    (void){ident}_argc; (void){ident}_argv;\n    return {ident}_done({ident}_main({args}));\n}}\n")
    renamed = f"#define main {ident}_main\n{test}\n#undef main\n"
    declaration = _declaration(prompt, entry) if entry and prompt else None
    header = _native_header(prompt, entry) if declaration else ""
    if declaration is None or not code.startswith(header):
        # no trusted signature to declare: the test has to follow the program
        return prelude + code.rstrip("\n") + "\n\n" + renamed + finale
    # the prompt's part (includes, helpers the test may use), the test, then the program's own part
    return prelude + header + declaration + "\n" + renamed + code[len(header):].rstrip("\n") + "\n" + finale
