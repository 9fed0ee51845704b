"""Reference conversion: the seven IMDb TSVs to typed, zstd Parquet with DuckDB alone.

This is the practical floor on one machine: a vectorised C++ reader doing the same typing the
Spark job does, from the same catalogue rules (catalogue types, ``\\N`` nulls, no quoting, lists
split on each column's separator, ``characters`` parsed as a JSON array of strings). What it
skips (``SKIPS``, printed in the benchmark table): the whole-value checks, control characters and
UTF-8 validation, the quarantine, the duplicate handling, line numbers and lineage columns. The
Spark step is judged against it.

    python -m benchmarks.reference_duckdb --raw-dir R --out-dir O [--threads N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import duckdb

from imdb_elt.catalog import INPUTS, RawInput
from imdb_elt.warehouse.types import warehouse_type

#: What the reference does not do that the Spark job does (the benchmark table says it).
SKIPS = "no validation, quarantine, dedup, line numbers or lineage"
TSV_INPUTS: tuple[RawInput, ...] = tuple(i for i in INPUTS if i.fmt == "imdb_tsv")


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def conversion_sql(raw: RawInput, source: Path, target: Path) -> str:
    """COPY (typed select over read_csv with explicit columns) TO zstd Parquet."""
    # Scalars are typed by the reader itself (fastest); lists arrive as text and are split.
    reader_types = {
        c.name: "VARCHAR" if c.type.startswith("array<") else warehouse_type(c.type, "duckdb")
        for c in raw.columns
    }
    columns = "{" + ", ".join(f"{_sql_literal(n)}: {_sql_literal(t)}" for n, t in reader_types.items()) + "}"
    exprs = []
    for c in raw.columns:
        name = f'"{c.name}"'
        if c.kind == "json":
            exprs.append(f"from_json({name}, '[\"VARCHAR\"]') AS {name}")
        elif c.type.startswith("array<"):
            exprs.append(f"string_split({name}, {_sql_literal(c.separator or ',')}) AS {name}")
        else:
            exprs.append(name)
    return (
        f"COPY (SELECT {', '.join(exprs)} FROM read_csv({_sql_literal(str(source))}, "
        f"delim='\\t', quote='', escape='', header=true, nullstr='\\N', columns={columns}, "
        f"auto_detect=false, compression='gzip')) "
        f"TO {_sql_literal(str(target))} (FORMAT parquet, COMPRESSION zstd)"
    )


def convert(raw_dir: str | Path, out_dir: str | Path, threads: int | None = None) -> dict[str, dict]:
    """Convert every catalogue TSV present in ``raw_dir``; returns rows and seconds per file."""
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stats: dict[str, dict] = {}
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    for raw in TSV_INPUTS:
        source = raw_dir / raw.file_name
        if not source.exists():
            continue
        target = out_dir / f"{raw.dataset}.parquet"
        started = time.perf_counter()
        con.execute(conversion_sql(raw, source, target))
        rows = con.execute(f"SELECT count(*) FROM read_parquet({_sql_literal(str(target))})").fetchone()[0]
        stats[raw.file_name] = {"rows": rows, "seconds": round(time.perf_counter() - started, 3)}
    con.close()
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--raw-dir", required=True)
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    stats = convert(args.raw_dir, args.out_dir, args.threads)
    print(json.dumps(stats))
    return 0 if stats else 1


if __name__ == "__main__":
    sys.exit(main())
