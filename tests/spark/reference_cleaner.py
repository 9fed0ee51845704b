"""An independent, plain-Python cleaner: the rules applied line by line, read from the catalogue.

It shares no code with ``spark_jobs`` except the rule data (``imdb_elt.catalog``) and the reason
order (``spark_jobs.rules.REASONS``): no Spark, no shortcut, every check of a line is evaluated
and the first reason in order wins. Slow (tens of thousands of lines per second) and obviously
right, it is the yardstick the job's output must equal, row for row (``except_all``).
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from imdb_elt import catalog
from imdb_elt.catalog import Column, RawInput
from imdb_elt.warehouse.types import byte_limits
from spark_jobs.rules import REASONS

C0 = {chr(i) for i in range(0x20)}
INT_BOUNDS = {"int": 2**31, "bigint": 2**63}


@dataclass
class Cleaned:
    """What one file becomes: typed rows, refused lines, dropped repeats."""

    rows_read: int
    ends_with_newline: bool
    processed: list[tuple[Any, ...]] = field(default_factory=list)
    quarantine: list[tuple[int, str, bytes]] = field(default_factory=list)  # line, reason, raw bytes
    deduplicated: list[tuple[int, int]] = field(default_factory=list)  # line, first line


def _full(pattern: str | None, value: str) -> bool:
    return pattern is not None and re.fullmatch(pattern, value) is not None


def _typed(col: Column, value: str | None) -> tuple[Any, list[str]]:
    """(typed value, reasons this value fails), for one non-key-checked field."""
    if value is None:
        return None, []
    kind = col.kind
    if kind == "id":
        return value, [] if _full(col.pattern, value) else ["bad_id"]
    if kind in ("id_list", "list"):
        items = value.split(col.separator or ",")
        ok = kind == "list" or all(_full(col.pattern, item) for item in items)
        return tuple(items), [] if ok else ["bad_id"]
    if kind == "year":
        return (int(value), []) if _full(col.pattern, value) else (None, ["bad_year"])
    if kind == "integer":
        if not _full(col.pattern, value):
            return None, ["bad_integer"]
        number = int(value)
        if not -INT_BOUNDS[col.type] <= number < INT_BOUNDS[col.type]:
            return None, ["out_of_range"]
        return number, _outside(col, number)
    if kind == "decimal":
        precision, scale = (int(x) for x in col.type[len("decimal(") : -1].split(","))
        if not _full(col.pattern, value):
            return None, ["bad_decimal"]
        if "." in value and len(value.split(".")[1]) > scale:
            return None, ["bad_decimal"]
        number = Decimal(value)
        if abs(number) >= Decimal(10) ** (precision - scale):
            return None, ["out_of_range"]
        return number.quantize(Decimal(1).scaleb(-scale)), _outside(col, number)
    if kind == "boolean":
        return (value == "1", []) if _full(col.pattern, value) else (None, ["bad_boolean"])
    if kind == "json":
        return (tuple(json.loads(value)), []) if _full(col.pattern, value) else (None, ["bad_json"])
    return value, []


def _too_long(col: Column, typed: Any, staging: str) -> list[str]:
    """A value longer (in UTF-8 bytes) than Redshift holds by ``staging``: a string, an element,
    or an array's JSON text."""
    limits = byte_limits(col.type, staging)
    if typed is None:
        return []
    if limits.value is not None and len(typed.encode()) > limits.value:
        return ["too_long"]
    if limits.element is not None and any(len(e.encode()) > limits.element for e in typed):
        return ["too_long"]
    if limits.array is not None:
        as_json = json.dumps(list(typed), ensure_ascii=False, separators=(",", ":"))
        return ["too_long"] if len(as_json.encode()) > limits.array else []
    return []


def _outside(col: Column, number: Any) -> list[str]:
    low, high = col.minimum, col.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        return ["out_of_range"]
    return []


def _control_characters(raw: RawInput, text: str) -> bool:
    if raw.fmt == "kaggle_csv":
        return any(ch in C0 for ch in text)  # comma-separated: every C0 character is in a field
    separators = {c.separator for c in raw.columns if c.separator in C0}
    fields = text.split("\t")
    if any(ch in C0 - {"\t"} - separators for ch in text):
        return True
    # A control-character separator belongs to its own list columns only.
    return any(
        col.separator != sep and sep in fields[i]
        for i, col in enumerate(raw.columns[: len(fields)])
        for sep in separators
    )


def _kaggle_fields(raw: RawInput, text: str) -> tuple[list[str] | None, str | None]:
    """(fields, None) or (None, "field_count"): quoted sections removed, a stray quote is bad."""
    unquoted = re.sub(r'"(?:[^"]|"")*"', "", text)
    if '"' in unquoted or unquoted.count(",") + 1 != len(raw.header):
        return None, "field_count"
    return next(csv.reader([text])), None


def check_line(
    raw: RawInput, line: bytes, staging: str = "copy"
) -> tuple[str | None, tuple[Any, ...] | None]:
    """(reason, None) for a refused line, (None, typed row) for a good one."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid_utf8", None
    text = text.removesuffix("\r")  # one \r before the \n is a CRLF line end
    failed: list[str] = []
    if "\ufffd" in text:
        failed.append("invalid_utf8")
    if _control_characters(raw, text):
        failed.append("control_character")
    if raw.fmt == "imdb_tsv":
        fields = text.split("\t")
        if len(fields) != len(raw.header):
            return min([*failed, "field_count"], key=REASONS.index), None
        values = [None if f == catalog.TSV_NULL else f for f in fields]
        by_name = dict(zip(raw.header, values, strict=True))
    else:
        parsed, problem = _kaggle_fields(raw, text)
        if parsed is None:
            return min([*failed, problem or "field_count"], key=REASONS.index), None
        trimmed = [f.strip(catalog.KAGGLE_TRIM) for f in parsed]
        by_name = {n: (v or None) for n, v in zip(raw.header, trimmed, strict=True)}
        link = by_name["movie_imdb_link"]
        match = re.fullmatch(catalog.KAGGLE_LINK, link) if link is not None else None
        by_name["tconst"] = match.group(1) if match else None
    typed = []
    for col in raw.columns:
        value = by_name[col.name]
        if value is None and col.name in raw.key:
            failed.append("bad_id" if col.kind == "id" else "bad_integer")
        typed_value, problems = _typed(col, value)
        failed += problems or _too_long(col, typed_value, staging)
        typed.append(typed_value)
    if raw.title_columns and all(by_name[c] in (None, "") for c in raw.title_columns):
        failed.append("missing_title")
    if failed:
        return min(failed, key=REASONS.index), None
    return None, tuple(typed)


def clean(path: Path, raw: RawInput, staging: str = "copy") -> Cleaned:
    """The file's outcome; a last line without a final newline is checked like any other."""
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    terminated = data.endswith(b"\n")
    lines = data.split(b"\n")
    if terminated:
        lines.pop()  # the empty string after the final newline
    body = list(enumerate(lines[1:], start=2))
    out = Cleaned(rows_read=len(body), ends_with_newline=terminated)
    checked = [(number, line, *check_line(raw, line, staging)) for number, line in body]
    # Repeats: a group is a valid row's key, or a refused row's text (CRLF ignored).
    key_at = [raw.column_names.index(k) for k in raw.key]
    groups: dict[tuple[Any, ...], list[tuple[int, bytes, str | None, Any]]] = {}
    for item in checked:
        number, line, reason, typed = item
        group = ("key", *(typed[i] for i in key_at)) if reason is None else ("text", line.removesuffix(b"\r"))
        groups.setdefault(group, []).append(item)
    for members in groups.values():
        first_of_text: dict[bytes, int] = {}
        for number, line, _, _ in members:
            first_of_text.setdefault(line.removesuffix(b"\r"), number)
        kept = min(members, key=lambda m: _conflict_order(raw, m))[0]
        for number, line, reason, typed in members:
            first = first_of_text[line.removesuffix(b"\r")]
            if number > first:
                out.deduplicated.append((number, first))
            elif reason is None and number != kept:
                out.quarantine.append((number, "duplicate_key", line))
            elif reason is not None:
                out.quarantine.append((number, reason, line))
            else:
                out.processed.append(typed)
    return out


def _conflict_order(raw: RawInput, member: tuple[int, bytes, str | None, Any]) -> tuple[Any, ...]:
    """Kaggle keeps the most num_voted_users (ties: first line); IMDb the first line."""
    number, _, _, typed = member
    if raw.fmt == "kaggle_csv" and typed is not None:
        votes = typed[raw.column_names.index("num_voted_users")]
        return (votes is None, -(votes or 0), number)
    return (False, 0, number)


def except_all(a: list[Any], b: list[Any]) -> tuple[Counter, Counter]:
    """(a EXCEPT ALL b, b EXCEPT ALL a) as multisets: both empty when the two are equal."""
    ca, cb = Counter(a), Counter(b)
    return ca - cb, cb - ca
