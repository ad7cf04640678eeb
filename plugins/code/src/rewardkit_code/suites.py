"""Reading a benchmark row's tests, whatever dataset it comes from, into one :class:`TestSuite`.

Formats recognised (first match wins):

* APPS / TACO ``input_output`` JSON: ``{"inputs": [...], "outputs": [...], "fn_name"?: str}``
* open-r1 ``verification_info`` JSON: ``{"language"?: str, "test_cases": [{"input", "output"}...]}``
* stdin/stdout columns ``inputs`` + ``outputs`` (call-based when the row also has ``fn_name``)
* MBPP: ``test_list`` (+ ``test_imports``, ``test_setup_code``)
* HumanEval: ``test`` (+ ``entry_point``); for C/C++ rows ``test`` is appended to the program
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from typing import Any, Literal

from rewardkit import Sample

Kind = Literal["assert", "stdio", "call", "program"]


@dataclass(frozen=True)
class TestSuite:
    """The tests of one row.

    ``tests`` holds, per kind: ``assert``: Python test code (one snippet per counted test, run
    after ``setup``); ``stdio``: the stdin of each case; ``call``: each call's argument list;
    ``program``: one test program appended to the code (pass = exit status 0).
    ``expected`` holds the wanted stdout / return value per test for ``stdio`` and ``call``.
    """

    __test__ = False  # not a pytest class

    kind: Kind
    tests: tuple[Any, ...]
    expected: tuple[Any, ...] = ()
    setup: str = ""
    fn_name: str | None = None
    entry_point: str | None = None
    #: Which row format it came from: "humaneval", "mbpp", "apps", "open-r1", "stdio", "call", "asserts".
    source: str = ""
    #: The language the row itself names (a ``language`` column), if any.
    language: str | None = None

    def __len__(self) -> int:
        return len(self.tests)


class TestFormatError(ValueError):
    """A row has test columns that cannot be read; the message says which and why."""

    __test__ = False  # not a pytest class


def _json(value: Any, column: str) -> Any:
    if isinstance(value, (str, bytes)):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise TestFormatError(f"column {column!r} is not valid JSON: {exc}") from None
    return value


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(map(str, value)) + ("\n" if value else "")
    return str(value)


def _io_suite(inputs: Any, outputs: Any, fn_name: str | None, source: str, language: str | None) -> TestSuite:
    if not isinstance(inputs, list) or not isinstance(outputs, list):
        raise TestFormatError(f"{source}: inputs and outputs must be lists, got {type(inputs).__name__} "
                              f"and {type(outputs).__name__}")
    if len(inputs) != len(outputs):
        raise TestFormatError(f"{source}: {len(inputs)} inputs but {len(outputs)} outputs")
    if fn_name:
        args = tuple(a if isinstance(a, list) else [a] for a in inputs)
        return TestSuite("call", args, tuple(outputs), fn_name=fn_name, source=source, language=language)
    return TestSuite("stdio", tuple(_text(i) for i in inputs), tuple(_text(o) for o in outputs),
                     source=source, language=language)


def suite_from_sample(sample: Sample, language: str | None = None) -> TestSuite | None:
    """The row's tests, or None when it has none. ``language`` is the program's language (it
    decides how a ``test`` column is used). Raises :class:`TestFormatError` for malformed columns."""
    row_language = sample.column("language")
    row_language = row_language if isinstance(row_language, str) else None
    language = language or row_language

    io = sample.column("input_output")
    if io is not None:
        io = _json(io, "input_output")
        if not isinstance(io, dict):
            raise TestFormatError("column 'input_output' must be a JSON object with inputs and outputs")
        return _io_suite(io.get("inputs"), io.get("outputs"), io.get("fn_name") or sample.column("fn_name"),
                         "apps", row_language)

    info = sample.column("verification_info")
    if info is not None:
        info = _json(info, "verification_info")
        cases = info.get("test_cases") if isinstance(info, dict) else None
        if not isinstance(cases, list):
            raise TestFormatError("column 'verification_info' must hold a 'test_cases' list")
        lang = info.get("language") if isinstance(info.get("language"), str) else row_language
        return _io_suite([c.get("input", "") for c in cases], [c.get("output", "") for c in cases],
                         info.get("fn_name"), "open-r1", lang)

    inputs, outputs = sample.column("inputs"), sample.column("outputs")
    if inputs is not None and outputs is not None:
        fn_name = sample.column("fn_name")
        return _io_suite(_json(inputs, "inputs"), _json(outputs, "outputs"), fn_name,
                         "call" if fn_name else "stdio", row_language)

    test_list = sample.column("test_list")
    if test_list is not None:
        test_list = _json(test_list, "test_list")
        if not isinstance(test_list, list):
            raise TestFormatError("column 'test_list' must be a list of assert statements")
        imports = sample.column("test_imports", default=[])
        imports = _json(imports, "test_imports") if imports else []
        setup = "\n".join([*(imports if isinstance(imports, list) else [str(imports)]),
                           str(sample.column("test_setup_code", default=""))])
        return TestSuite("assert", tuple(str(t) for t in test_list if str(t).strip()), setup=setup.strip(),
                         source="mbpp", language=row_language)

    test = sample.column("test")
    if isinstance(test, str) and test.strip():
        entry_point = sample.column("entry_point")
        if language in ("cpp", "c"):
            return TestSuite("program", (test,), entry_point=entry_point, source="humaneval",
                             language=row_language)
        setup, tests = split_python_tests(test, entry_point)
        return TestSuite("assert", tuple(tests), setup=setup, entry_point=entry_point,
                         source="humaneval" if entry_point else "asserts", language=row_language)
    return None


def _has_assert(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Assert) for n in ast.walk(node))


def _is_trivial_assert(node: ast.stmt) -> bool:
    """``assert True, "..."``: HumanEval's debugging markers test nothing and must not add credit."""
    return isinstance(node, ast.Assert) and not any(
        isinstance(n, (ast.Name, ast.Call, ast.Attribute, ast.Subscript)) for n in ast.walk(node.test))


def _split_statements(statements: list[ast.stmt]) -> list[str]:
    """One test per statement holding an assert; the statements before it (set-up) are repeated."""
    prefix: list[str] = []
    tests: list[str] = []
    for stmt in statements:
        if _is_trivial_assert(stmt):
            continue
        source = ast.unparse(stmt)
        if _has_assert(stmt):
            tests.append("\n".join([*prefix, source]))
        else:
            prefix.append(source)
    return tests


def split_python_tests(test: str, entry_point: str | None) -> tuple[str, list[str]]:
    """Split Python test code into (set-up, one snippet per assert) for partial credit.

    HumanEval's ``def check(candidate)`` body is split assert by assert, with the module's other
    statements plus ``candidate = <entry_point>`` as set-up. Test code that cannot be split runs
    whole, as a single test.
    """
    whole_call = f"\ncheck({entry_point})\n" if entry_point else ""
    try:
        tree = ast.parse(test)
    except SyntaxError:
        return "", [test + whole_call]
    check = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"), None)
    if check is not None and entry_point:
        others = [n for n in tree.body if n is not check]
        param = check.args.args[0].arg if check.args.args else "candidate"
        setup = "\n".join([*(ast.unparse(n) for n in others), f"{param} = {entry_point}"])
        tests = _split_statements(check.body)
        if tests:
            return setup, tests
        return "", [test + whole_call]
    if check is None:
        tests = _split_statements(tree.body)
        if tests:
            return "", tests
    return "", [test + whole_call]
