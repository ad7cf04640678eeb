"""Reading rows to score (JSONL, JSON, Parquet, CSV) and writing scored rows as Parquet.

Every reader yields one :class:`RawRow` per row of the file, in order, and never skips one: a row
that cannot be read (invalid JSON, invalid UTF-8, a blank JSONL line, a JSON value that is not an
object) comes back with a ``problem`` naming its line (or row) so the scored output keeps it.
A file that cannot be read at all raises :class:`InputFormatError` with the fix.

Formats, chosen by ``--format`` or the file's extension (``.jsonl``/``.ndjson``, ``.json``,
``.parquet``/``.pq``, ``.csv``):

* JSONL: one object per line, UTF-8. Line *N* is row *N*; blank lines are error rows.
* JSON: a list of objects, or an object whose ``"data"`` is that list (the whole file is read).
* Parquet: via pyarrow (``pip install pyarrow``; installed with ``datasets``), read in batches.
* CSV: a header line, then one row per record; every value is a string (empty cells are ``""``).

pyarrow is imported only when a Parquet file is read or written.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

FORMATS = ("jsonl", "json", "parquet", "csv")
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet",
               ".pq": "parquet", ".csv": "csv"}
_PARQUET_MAGIC = b"PAR1"


class InputFormatError(ValueError):
    """A file that cannot be read as the format asked for (or guessed); the message names the fix."""


@dataclass
class RawRow:
    """One row of an input file: ``number`` is its 1-based line (JSONL, CSV) or row (JSON, Parquet)."""

    number: int
    row: dict[str, Any] | None
    problem: str | None = None
    unit: str = "line"  # "line" or "row": what ``number`` counts

    @property
    def where(self) -> str:
        return f"{self.unit} {self.number}"


def require_pyarrow() -> Any:
    """``pyarrow.parquet``, or an error that says how to install it."""
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise InputFormatError("Parquet needs pyarrow: pip install pyarrow (it comes with `datasets`)") \
            from exc
    return pq


def detect_format(path: Path, explicit: str | None = None) -> str:
    """The input format: ``explicit`` if given, else from the extension, else sniffed from the first bytes."""
    with path.open("rb") as fh:
        head = fh.read(4)
    fmt = explicit or _EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        fmt = "parquet" if head == _PARQUET_MAGIC else "json" if head.lstrip()[:1] == b"[" else "jsonl"
    if fmt != "parquet" and head == _PARQUET_MAGIC:
        raise InputFormatError(f"{path} is a Parquet file (it starts with PAR1), not {fmt.upper()}; "
                               "name it .parquet or pass --format parquet")
    if fmt not in FORMATS:
        raise InputFormatError(f"unknown input format {fmt!r}; use one of {', '.join(FORMATS)}")
    return fmt


def output_format(path: Path, explicit: str | None = None) -> str:
    """``parquet`` for a ``.parquet``/``.pq`` output (or when asked), else ``jsonl``."""
    return explicit or ("parquet" if path.suffix.lower() in (".parquet", ".pq") else "jsonl")


def read_table(path: Path, fmt: str) -> Iterator[RawRow]:
    """Every row of ``path`` in order (see the module docstring)."""
    if fmt == "jsonl":
        return _read_jsonl(path)
    if fmt == "json":
        return _read_json(path)
    if fmt == "parquet":
        return _read_parquet(path)
    if fmt == "csv":
        return _read_csv(path)
    raise InputFormatError(f"unknown input format {fmt!r}; use one of {', '.join(FORMATS)}")


def count_rows(path: Path, fmt: str) -> int:
    """How many rows :func:`read_table` yields (cheaply where the format allows)."""
    if fmt == "jsonl":
        with path.open("rb") as fh:
            return sum(1 for _ in fh)
    if fmt == "parquet":
        return _parquet_file(path).metadata.num_rows
    return sum(1 for _ in read_table(path, fmt))


def _object_problem(value: Any, where: str) -> str | None:
    return None if isinstance(value, dict) else f"{where} is a JSON {type(value).__name__}, not an object"


def _read_jsonl(path: Path) -> Iterator[RawRow]:
    offset = 0  # byte offset of the line in the file, to point at invalid UTF-8
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            start, offset = offset, offset + len(raw)
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark
                raw = raw[3:]
            if not raw.strip():
                yield RawRow(number, None, f"line {number} is blank")
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                at = exc.start
                bad = f"byte 0x{raw[at]:02x} at byte {at} of the line, {start + at} of the file"
                yield RawRow(number, None, f"line {number} is not valid UTF-8 ({bad})")
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                yield RawRow(number, None,
                             f"line {number} is not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            problem = _object_problem(row, f"line {number}")
            yield RawRow(number, None if problem else row, problem)


def _read_json(path: Path) -> Iterator[RawRow]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputFormatError(f"{path} is not valid UTF-8 (byte {exc.start}); re-encode it as UTF-8") \
            from None
    except json.JSONDecodeError as exc:
        raise InputFormatError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno}); "
                               "for one object per line name it .jsonl or pass --format jsonl") from None
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list):
        raise InputFormatError(f"{path}: a JSON input is a list of objects or {{\"data\": [...]}}, not a "
                               f"{type(data).__name__}; for one object per line pass --format jsonl")
    for number, row in enumerate(data, start=1):
        problem = _object_problem(row, f"row {number}")
        yield RawRow(number, None if problem else row, problem, "row")


def _parquet_file(path: Path) -> Any:
    pq = require_pyarrow()
    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise InputFormatError(f"{path} is not a readable Parquet file ({exc}); pass --format for another "
                               "format") from None


def _read_parquet(path: Path) -> Iterator[RawRow]:
    number = 0
    for batch in _parquet_file(path).iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            number += 1
            yield RawRow(number, row, None, "row")


def _read_csv(path: Path) -> Iterator[RawRow]:
    # surrogateescape keeps invalid bytes visible (as lone surrogates) so the row, not the file, fails.
    with path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None:
            return
        for record in reader:
            number = reader.line_num
            if None in record:
                yield RawRow(number, None, f"line {number} has more cells than the header "
                                           f"({len(reader.fieldnames)} columns)")
                continue
            bad = next((k for k, v in record.items() if _has_surrogates(v) or _has_surrogates(k)), None)
            if bad is not None:
                yield RawRow(number, None, f"line {number} is not valid UTF-8 (column {_clean(bad)!r})")
                continue
            yield RawRow(number, {k: ("" if v is None else v) for k, v in record.items()})


def _has_surrogates(value: Any) -> bool:
    return isinstance(value, str) and any("\udc80" <= ch <= "\udcff" for ch in value)


def _clean(value: str) -> str:
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def write_parquet(rows: Iterable[dict[str, Any]], path: Path) -> int:
    """Write scored rows as Parquet; returns the row count.

    ``errors`` and ``reward_details`` become JSON strings (their keys vary from row to row, and
    Parquet cannot store an empty struct); so does any input column whose values have no single
    Arrow type. Written to a temporary file first, so ``path`` is complete or absent.
    """
    pq = require_pyarrow()
    import pyarrow as pa

    rows = list(rows)
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    columns = {}
    for name in names:
        values = [row.get(name) for row in rows]
        if name in ("errors", "reward_details"):
            values = [None if v is None else json.dumps(v, ensure_ascii=False, default=str) for v in values]
        columns[name] = _arrow_column(pa, values)
    table = pa.table(columns) if columns else pa.table({"reward": pa.array([], pa.float64())})
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
    return len(rows)


def _arrow_column(pa: Any, values: list[Any]) -> Any:
    try:
        array = pa.array(values)
        if not _has_empty_struct(pa, array.type):
            return array
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        pass
    return pa.array([None if v is None else json.dumps(v, ensure_ascii=False, default=str) for v in values])


def _has_empty_struct(pa: Any, typ: Any) -> bool:
    if pa.types.is_struct(typ):
        fields = [typ.field(i).type for i in range(typ.num_fields)]
        return not fields or any(_has_empty_struct(pa, f) for f in fields)
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        return _has_empty_struct(pa, typ.value_type)
    return False
