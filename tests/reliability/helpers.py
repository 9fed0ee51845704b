"""Shared tools of the reliability tests: run the pipeline, clone a built lake, fingerprint marts.

Every pipeline run costs a JVM start, Spark and a dbt build, so the tests build one baseline
(lake + DuckDB file) once and clone it for each destructive check. A clone is a plain copy whose
manifests are rewritten to point at the clone's own lake (manifests hold absolute paths).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from imdb_elt import build_state
from imdb_elt.config import REPO_ROOT

#: Lineage columns that legitimately differ between two lakes loaded from the same files
#: (each run has its own snapshot id and load time).
LINEAGE_COLUMNS = frozenset({"snapshot_id", "loaded_at", "_snapshot_id", "_loaded_at"})

#: Natural key of every published mart (from dbt_project/models/marts/_marts__models.yml).
MART_KEYS: dict[str, tuple[str, ...]] = {
    "movies": ("tconst",),
    "top_ten_movies_by_year": ("year", "year_rank"),
    "movies_of_the_decade": ("tconst",),
    "director_movies": ("director_name", "tconst"),
    "director_profit_by_rating": ("director_name", "content_rating"),
    "dim_titles": ("tconst",),
    "dim_people": ("nconst",),
    "bridge_title_genres": ("tconst", "genre"),
    "fct_title_ratings": ("tconst", "snapshot_id"),
    "fct_title_principals": ("tconst", "ordering"),
    "fct_episodes": ("tconst",),
    "dim_title_akas": ("tconst", "ordering"),
    "dangling_references": ("reference",),
}


@dataclass
class Site:
    """One pipeline installation: raw zone, lake, DuckDB file."""

    raw: Path
    lake: Path
    db: Path

    @property
    def logs(self) -> Path:
        """The runs' Spark and dbt logs (IMDB_LOG_DIR), beside the lake."""
        return self.lake.parent / "logs"

    @property
    def scratch(self) -> Path:
        """Spark's scratch folders of the site's local runs (IMDB_SPARK_SCRATCH_DIR)."""
        return self.lake.parent / "spark-scratch"

    @property
    def dbt_target(self) -> Path:
        """dbt's artifacts (DBT_TARGET_PATH): the site's own, never the repository's."""
        return self.lake.parent / "dbt_target"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "IMDB_RAW_DIR": str(self.raw),
            "IMDB_LAKE_DIR": str(self.lake),
            "DUCKDB_PATH": str(self.db),
            "DBT_TARGET": "duckdb",
            "DBT_TARGET_PATH": str(self.dbt_target),
            "IMDB_LOG_DIR": str(self.logs),
            "IMDB_SPARK_SCRATCH_DIR": str(self.scratch),
            "IMDB_LOCK_WAIT_SECONDS": "0",
            **extra,
        }

    # ---- lake state --------------------------------------------------------------------------
    def current(self) -> str | None:
        pointer = self.lake / "processed" / "CURRENT"
        return pointer.read_text().strip() if pointer.exists() else None

    def ledger(self) -> list[dict]:
        path = self.lake / "state" / "ledger.jsonl"
        if not path.exists():
            return []
        return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]

    def latest_report(self) -> dict:
        return json.loads((self.lake / "reports" / "latest.json").read_text())

    def report(self, run_id: str) -> dict:
        return json.loads((self.lake / "reports" / f"{run_id}.json").read_text())

    def snapshots(self) -> list[str]:
        root = self.lake / "processed" / "snapshots"
        return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []

    def spark_stats(self, snapshot_id: str) -> dict:
        snap = self.lake / "processed" / "snapshots" / snapshot_id
        return json.loads((snap / "_spark_stats.json").read_text())


@dataclass
class RunOutput:
    code: int
    out: str
    seconds: float


def run_cli(site: Site, *args: str, timeout: int = 900, **env: str) -> RunOutput:
    """`python -m imdb_elt run ARGS` on the site, stdout and stderr together."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "imdb_elt", "run", *args],
        env=site.env(**env),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return RunOutput(proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - started)


def clone(src: Site, dest_root: Path) -> Site:
    """Copy a built site; point the copy's manifests at the copy's own lake."""
    dest = Site(dest_root / "raw", dest_root / "lake", dest_root / "wh" / "imdb.duckdb")
    shutil.copytree(src.raw, dest.raw)
    shutil.copytree(src.lake, dest.lake)
    dest.db.parent.mkdir(parents=True)
    shutil.copy2(src.db, dest.db)
    for manifest in (dest.lake / "processed" / "snapshots").glob("*/_MANIFEST.json"):
        manifest.write_text(manifest.read_text().replace(str(src.lake), str(dest.lake)))
    # The saved build state names its warehouse; the copy is the same warehouse, moved.
    state = dest.lake / "state" / build_state.STATE_FILE
    if state.exists():
        state.write_text(state.read_text().replace(str(src.db), str(dest.db)))
    return dest


# ---- reading the warehouse -------------------------------------------------------------------


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def query_files(sql: str) -> list[tuple]:
    """A query over Parquet files, in a throwaway in-memory DuckDB."""
    with duckdb.connect() as con:
        return con.execute(sql).fetchall()


def tables(db: Path, schema: str) -> list[str]:
    return [
        r[0]
        for r in query(
            db,
            "select table_name from information_schema.tables where table_schema = ? order by 1",
            [schema],
        )
    ]


def table_checksums(
    db: Path, schema: str = "marts", *, skip_columns: frozenset[str] = frozenset(), skip_tables=()
) -> dict[str, tuple[int, str]]:
    """(rows, sha256 of the ordered rows) per table of ``schema``.

    Rows are ordered by every column, so the checksum depends on content only, not on the
    physical order a build happened to write.
    """
    sums: dict[str, tuple[int, str]] = {}
    with duckdb.connect(str(db), read_only=True) as con:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = ? order by 1",
                [schema],
            ).fetchall()
        ]
        for table in names:
            if table in skip_tables:
                continue
            cols = [
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if r[0] not in skip_columns
            ]
            select = ", ".join(f'"{c}"' for c in cols)
            rows = con.execute(f'select {select} from "{schema}"."{table}" order by all').fetchall()
            digest = hashlib.sha256()
            for row in rows:
                digest.update(repr(row).encode())
                digest.update(b"\n")
            sums[table] = (len(rows), digest.hexdigest()[:16])
    return sums


def describe_sums(sums: dict[str, tuple[int, str]]) -> str:
    return ", ".join(f"{t} {n} rows {h}" for t, (n, h) in sums.items())


def excerpt(text: str, limit: int = 4000) -> str:
    """The tail of a long log, for assertion messages."""
    return text[-limit:]


# ---- faults --------------------------------------------------------------------------------------


def drop_last_row(lake: Path, snapshot_id: str, dataset: str) -> tuple[Path, int]:
    """Rewrite one processed Parquet file of a snapshot without its last row.

    The snapshot manifest still holds the row count Spark reported: the files changed after
    Spark wrote them, a fault no cleaning rule can prevent, which the reconciliation test
    (``reconcile_staged_rows``) must catch. Returns the file and Spark's count.
    """
    manifest = json.loads((lake / "processed" / "snapshots" / snapshot_id / "_MANIFEST.json").read_text())
    entry = manifest["datasets"][dataset]
    for part in sorted(Path(entry["path"]).glob("*.parquet")):
        table = pq.read_table(part)
        if table.num_rows:
            pq.write_table(table.slice(0, table.num_rows - 1), part)
            return part, entry["rows"]
    raise AssertionError(f"no Parquet row to drop under {entry['path']}")
