"""Catalogue (Spark SQL) types mapped to each warehouse's column types.

The catalogue names Spark SQL types; each target needs its own spelling. One table here keeps
the three loaders consistent, and an unknown type fails loudly instead of loading as text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from imdb_elt.catalog import BY_DATASET, LINEAGE_COLUMNS, Column

_DECIMAL_RE = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")

# Redshift VARCHAR counts bytes and defaults to 256: titles, character lists and plot keywords
# exceed that, so strings get the maximum.
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
        "string": "VARCHAR(65535)",
        "int": "INTEGER",
        "bigint": "BIGINT",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMP",
        # COPY ... SERIALIZETOJSON loads Parquet lists into SUPER.
        "array<string>": "SUPER",
    },
    # Redshift Spectrum external tables read nested Parquet types natively.
    "spectrum": {
        "string": "VARCHAR(65535)",
        "int": "INTEGER",
        "bigint": "BIGINT",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMP",
        "array<string>": "ARRAY<VARCHAR(65535)>",
    },
}

_DECIMAL_SPELLING: dict[str, Callable[[int, int], str]] = {
    "duckdb": lambda p, s: f"DECIMAL({p},{s})",
    "postgres": lambda p, s: f"numeric({p},{s})",
    "redshift": lambda p, s: f"DECIMAL({p},{s})",
    "spectrum": lambda p, s: f"DECIMAL({p},{s})",
}

TARGETS: tuple[str, ...] = tuple(_SCALARS)


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
