"""Catalogue (Spark SQL) types mapped to each warehouse's column types.

The catalogue names Spark SQL types; each target needs its own spelling. One table here keeps
the three loaders consistent, and an unknown type fails loudly instead of loading as text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from imdb_elt.catalog import BY_DATASET, LINEAGE_COLUMNS, Column

_DECIMAL_RE = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")

#: Redshift's longest VARCHAR. It counts bytes, not characters, and a bare VARCHAR is 256:
#: titles, character lists and plot keywords exceed that, so every string gets the maximum.
REDSHIFT_VARCHAR_MAX_BYTES = 65535
#: Redshift's largest SUPER object ("16 MB" in its documentation; the smaller, decimal reading),
#: measured as the array's JSON text, the form COPY ... SERIALIZETOJSON loads it from.
REDSHIFT_SUPER_MAX_BYTES = 16_000_000
_VARCHAR = f"VARCHAR({REDSHIFT_VARCHAR_MAX_BYTES})"

_SCALARS: dict[str, dict[str, str]] = {
    "duckdb": {
        "string": "VARCHAR",
        "int": "INTEGER",
        "bigint": "BIGINT",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMP",
        "array<string>": "VARCHAR[]",
    },
    "postgres": {
        "string": "text",
        "int": "integer",
        "bigint": "bigint",
        "boolean": "boolean",
        "timestamp": "timestamp",
        "array<string>": "text[]",
    },
    "redshift": {
        "string": _VARCHAR,
        "int": "INTEGER",
        "bigint": "BIGINT",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMP",
        # COPY ... SERIALIZETOJSON loads Parquet lists into SUPER.
        "array<string>": "SUPER",
    },
    # Redshift Spectrum external tables read nested Parquet types natively.
    "spectrum": {
        "string": _VARCHAR,
        "int": "INTEGER",
        "bigint": "BIGINT",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMP",
        "array<string>": f"ARRAY<{_VARCHAR}>",
    },
}

_DECIMAL_SPELLING: dict[str, Callable[[int, int], str]] = {
    "duckdb": lambda p, s: f"DECIMAL({p},{s})",
    "postgres": lambda p, s: f"numeric({p},{s})",
    "redshift": lambda p, s: f"DECIMAL({p},{s})",
    "spectrum": lambda p, s: f"DECIMAL({p},{s})",
}

TARGETS: tuple[str, ...] = tuple(_SCALARS)
#: The Redshift target of each staging path (``REDSHIFT_STAGING``).
STAGING_TARGETS: dict[str, str] = {"copy": "redshift", "spectrum": "spectrum"}


def parse_decimal(spark_type: str) -> tuple[int, int] | None:
    """``decimal(p,s)`` → (p, s); anything else → None."""
    m = _DECIMAL_RE.fullmatch(spark_type.strip().lower())
    return (int(m.group(1)), int(m.group(2))) if m else None


def warehouse_type(spark_type: str, target: str) -> str:
    """The column type for ``target`` (duckdb | postgres | redshift | spectrum)."""
    if target not in _SCALARS:
        raise ValueError(f"unknown warehouse target {target!r}; expected one of {TARGETS}")
    dec = parse_decimal(spark_type)
    if dec is not None:
        return _DECIMAL_SPELLING[target](*dec)
    try:
        return _SCALARS[target][spark_type.strip().lower()]
    except KeyError:
        raise ValueError(f"catalogue type {spark_type!r} has no {target} mapping") from None


def staged_columns(dataset: str) -> tuple[Column, ...]:
    """Catalogue columns of ``dataset`` followed by the lineage columns: what raw.<dataset> holds."""
    try:
        spec = BY_DATASET[dataset]
    except KeyError:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {sorted(BY_DATASET)}") from None
    return (*spec.columns, *(Column(n, t) for n, t in LINEAGE_COLUMNS))


@dataclass(frozen=True)
class ByteLimits:
    """The most bytes one value of a column may hold in Redshift (None: no limit applies).

    ``value``: a string; ``element``: one element of an array; ``array``: the whole array as
    its JSON text (``["a","b"]``, UTF-8, the form Redshift loads and serialises it in).
    """

    value: int | None = None
    element: int | None = None
    array: int | None = None


_VARCHAR_RE = re.compile(r"^VARCHAR\((\d+)\)$")
_ARRAY_RE = re.compile(r"^ARRAY<(.+)>$")


def byte_limits(spark_type: str, staging: str = "copy") -> ByteLimits:
    """What one value of a catalogue type may hold to load through ``staging`` (copy | spectrum).

    Read from the Redshift type this module gives the column, so the two cannot drift apart:
    - ``VARCHAR(n)``: n bytes.
    - ``SUPER`` (COPY ... SERIALIZETOJSON): each string inside at most the longest VARCHAR (a
      SUPER scalar is limited to its Redshift type), the whole object at most 16 MB.
    - ``ARRAY<VARCHAR(n)>`` (a Spectrum external table): each element n bytes; staging reads the
      array with ``json_serialization_enable``, which hands it over as one ``VARCHAR(65535)`` of
      JSON text, so the whole array's JSON is limited to the longest VARCHAR.
    """
    if staging not in STAGING_TARGETS:
        raise ValueError(f"unknown REDSHIFT_STAGING {staging!r}; expected one of {sorted(STAGING_TARGETS)}")
    redshift = warehouse_type(spark_type, STAGING_TARGETS[staging])
    if m := _VARCHAR_RE.fullmatch(redshift):
        return ByteLimits(value=int(m[1]))
    if redshift == "SUPER":
        return ByteLimits(element=REDSHIFT_VARCHAR_MAX_BYTES, array=REDSHIFT_SUPER_MAX_BYTES)
    if (m := _ARRAY_RE.fullmatch(redshift)) and (element := _VARCHAR_RE.fullmatch(m[1])):
        return ByteLimits(element=int(element[1]), array=REDSHIFT_VARCHAR_MAX_BYTES)
    return ByteLimits()
