"""Tiny processed datasets written with pyarrow, laid out like the Spark job's output.

Types follow imdb_elt/catalog.py the way Spark writes them: decimals as Parquet decimals, arrays
as lists of strings, ``_loaded_at`` as TIMESTAMP_MICROS adjusted to UTC, zstd part files plus a
``_SUCCESS`` marker that loaders must ignore.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from imdb_elt.catalog import BY_DATASET
from imdb_elt.warehouse.types import parse_decimal, staged_columns

LOADED_AT = dt.datetime(2026, 3, 1, 12, 30, 45, 123456, tzinfo=dt.UTC)

_ARROW = {
    "string": pa.string(),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "array<string>": pa.list_(pa.string()),
}


def arrow_type(spark_type: str) -> pa.DataType:
    dec = parse_decimal(spark_type)
    return pa.decimal128(*dec) if dec else _ARROW[spark_type]


def arrow_schema(dataset: str) -> pa.Schema:
    return pa.schema(
        [pa.field(c.name, arrow_type(c.type), nullable=c.nullable) for c in staged_columns(dataset)]
    )


#: Hand-picked rows with the values that break naive loaders.
EDGE_ROWS: dict[str, list[dict[str, Any]]] = {
    "title_basics": [
        {
            "tconst": "tt0000001",
            "titleType": "short",
            "primaryTitle": 'Carmencita "the dancer"',
            "originalTitle": "Carmencita\tüñí\\N \\ back",
            "isAdult": False,
            "startYear": 1894,
            "endYear": None,
            "runtimeMinutes": 1,
            "genres": ["Documentary", "Short"],
        },
        {
            "tconst": "tt0000002",
            "titleType": "movie",
            "primaryTitle": "Line\nbreak, comma; {brace}",
            "originalTitle": None,
            "isAdult": True,
            "startYear": None,
            "endYear": 2026,
            "runtimeMinutes": None,
            "genres": [],
        },
        {
            "tconst": "tt0000003",
            "titleType": None,
            "primaryTitle": "日本語タイトル",
            "originalTitle": "",
            "isAdult": None,
            "startYear": 2001,
            "endYear": None,
            "runtimeMinutes": 2147483647,
            "genres": None,
        },
    ],
    "title_ratings": [
        {"tconst": "tt0000001", "averageRating": Decimal("5.7"), "numVotes": 2_147_483_648},
        {"tconst": "tt0000002", "averageRating": Decimal("10.0"), "numVotes": 0},
        {"tconst": "tt0000003", "averageRating": None, "numVotes": None},
    ],
    "movie_metadata": [
        {
            "tconst": "tt0499549",
            "color": "Color",
            "director_name": "James Cameron",
            "gross": 760_505_847,
            "genres": ["Action", "Adventure", "Fantasy", "Sci-Fi"],
            "movie_title": "Avatar\u00a0",
            "budget": 12_215_500_000,
            "imdb_score": Decimal("7.9"),
            "aspect_ratio": Decimal("1.78"),
            "plot_keywords": ["avatar", "future", "marine", "native", "paraplegic"],
        },
        {"tconst": "tt0000404", "color": " Black and White", "aspect_ratio": Decimal("16.00")},
    ],
}


def generated_rows(dataset: str, n: int, start: int = 0) -> list[dict[str, Any]]:
    """``n`` deterministic rows for any dataset (unique keys), for volume and coverage."""
    rows = []
    for i in range(start, start + n):
        row: dict[str, Any] = {}
        for c in BY_DATASET[dataset].columns:
            dec = parse_decimal(c.type)
            if c.name in ("tconst", "titleId"):
                row[c.name] = f"tt{i:07d}"
            elif c.name == "nconst":
                row[c.name] = f"nm{i:07d}"
            elif c.name == "ordering":
                row[c.name] = 1
            elif dec:
                row[c.name] = Decimal(i % 10 ** dec[1] + 10) / Decimal(10 ** dec[1])
            elif c.type == "string":
                row[c.name] = f"{c.name} {i}"
            elif c.type in ("int", "bigint"):
                row[c.name] = i
            elif c.type == "boolean":
                row[c.name] = i % 2 == 0
            elif c.type == "array<string>":
                row[c.name] = [f"a{i}", f"b{i}"]
        rows.append(row)
    return rows


def write_dataset(
    folder: Path,
    dataset: str,
    rows: list[dict[str, Any]],
    snapshot_id: str,
    loaded_at: dt.datetime = LOADED_AT,
    files: int = 1,
) -> Path:
    """Write ``rows`` (missing columns → null) as ``files`` part files plus ``_SUCCESS``."""
    folder.mkdir(parents=True, exist_ok=True)
    schema = arrow_schema(dataset)
    full = [{**r, "_snapshot_id": snapshot_id, "_loaded_at": loaded_at} for r in rows]
    step = max(1, -(-len(full) // files)) if full else 1
    chunks = [full[i : i + step] for i in range(0, len(full), step)] or [[]]
    for chunk in chunks:
        table = pa.Table.from_pylist(chunk, schema=schema)
        pq.write_table(table, folder / f"part-{uuid.uuid4()}.zstd.parquet", compression="zstd")
    (folder / "_SUCCESS").write_bytes(b"")
    return folder


def write_snapshot(
    lake_dir: Path, snapshot_id: str, rows_by_dataset: dict[str, list[dict[str, Any]]] | None = None
) -> dict[str, str]:
    """Write a snapshot folder per dataset; return the dataset → folder mapping staging takes."""
    rows_by_dataset = rows_by_dataset if rows_by_dataset is not None else EDGE_ROWS
    base = lake_dir / "processed" / "snapshots" / snapshot_id
    return {
        dataset: str(write_dataset(base / dataset, dataset, rows, snapshot_id))
        for dataset, rows in rows_by_dataset.items()
    }
