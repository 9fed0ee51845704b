"""Issue 19: the same raw files, loaded twice from scratch, give the same marts bit for bit.

Load A is the session's baseline: the generated raw files cleaned by Spark into lake A, staged
and built into warehouse A by the pipeline. Load B starts from nothing but the same cleaned
rows: lake B holds every processed dataset with its rows shuffled (fixed seed) and rewritten as
several files of small row groups, so a warehouse reads them in another order and, with more
than one thread, in no fixed order at all; warehouse B is a new DuckDB file built by the
pipeline (`run --rebuild`). On PostgreSQL, lakes A and B are each loaded into a new database
with the staging step and the pipeline's build and publish steps.

Every published mart must be equal by content hash, lineage columns (snapshot id, load time)
aside, within each warehouse kind; the hashes are printed for the record. Spark runs once (the
baseline's): this check is about what happens after the lake, where row order is free to vary
(Spark's own output is compared old-versus-new by the Spark suite).
"""

from __future__ import annotations

import hashlib

import numpy as np
import psycopg
import pyarrow.parquet as pq
import pytest

from imdb_elt import build_state, lake, pipeline
from imdb_elt.config import Settings
from imdb_elt.warehouse import stage_snapshot
from tests.fixtures.postgres import conninfo, pg_env
from tests.reliability.helpers import (
    LINEAGE_COLUMNS,
    Site,
    clone,
    describe_sums,
    excerpt,
    query,
    run_cli,
    table_checksums,
)

pytestmark = [pytest.mark.slow]

ROWS_PER_GROUP = 64
FILES_PER_DATASET = 3
SEED = 19


def shuffle_lake(site: Site, seed: int = SEED) -> dict[str, int]:
    """Rewrite every processed dataset of the current snapshot: rows shuffled, several files of
    small row groups. Returns row groups per dataset."""
    snapshot = site.lake / "processed" / "snapshots" / str(site.current())
    rng = np.random.default_rng(seed)
    groups: dict[str, int] = {}
    for folder in sorted(p for p in snapshot.iterdir() if p.is_dir()):
        parts = sorted(folder.glob("*.parquet"))
        table = pq.ParquetDataset([str(p) for p in parts]).read()
        for part in parts:
            part.unlink()
        table = table.take(rng.permutation(table.num_rows))
        chunk = -(-table.num_rows // FILES_PER_DATASET)
        for i in range(FILES_PER_DATASET):
            piece = table.slice(i * chunk, chunk)
            pq.write_table(piece, folder / f"part-{i:05d}-shuffled.parquet", row_group_size=ROWS_PER_GROUP)
        groups[folder.name] = sum(pq.ParquetFile(p).num_row_groups for p in folder.glob("*.parquet"))
    return groups


def fresh_warehouse_of(site: Site) -> Site:
    """The same lake with no warehouse and no saved build state: the next run builds from nothing."""
    site.db.unlink()
    (site.lake / "state" / build_state.STATE_FILE).unlink(missing_ok=True)
    return site


def postgres_checksums(server: dict, dbname: str, schema: str = "marts") -> dict[str, tuple[int, str]]:
    """(rows, sha256 of the sorted rows) per table: the same digest as helpers.table_checksums."""
    sums: dict[str, tuple[int, str]] = {}
    with psycopg.connect(conninfo(server, dbname)) as con:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = %s order by 1", [schema]
        ).fetchall()]  # fmt: skip
        for table in tables:
            cols = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_schema = %s"
                " and table_name = %s order by ordinal_position", [schema, table],
            ).fetchall() if r[0] not in LINEAGE_COLUMNS]  # fmt: skip
            select = ", ".join(f'"{c}"' for c in cols)
            rows = sorted(con.execute(f'select {select} from "{schema}"."{table}"').fetchall(), key=repr)
            digest = hashlib.sha256()
            for row in rows:
                digest.update(repr(row).encode())
                digest.update(b"\n")
            sums[table] = (len(rows), digest.hexdigest()[:16])
    return sums


@pytest.fixture(scope="module")
def lake_b(baseline, tmp_path_factory) -> dict:
    site = fresh_warehouse_of(clone(baseline["site"], tmp_path_factory.mktemp("fresh-b")))
    groups = shuffle_lake(site)
    print(f"\nlake B: rows shuffled into {FILES_PER_DATASET} files of {ROWS_PER_GROUP}-row groups: {groups}")
    return {"site": site, "row_groups": groups}


@pytest.mark.timeout(1800)
def test_two_fresh_duckdb_loads_give_identical_marts(baseline, lake_b):
    a, b = baseline["site"], lake_b["site"]
    run = run_cli(b, "--rebuild")
    assert run.code == 0, excerpt(run.out)
    assert max(lake_b["row_groups"].values()) > 1
    # The warehouses really read the rows in different orders.
    order = "select tconst from raw.title_principals limit 50"
    assert query(a.db, order) != query(b.db, order)
    ours = table_checksums(a.db, skip_columns=LINEAGE_COLUMNS)
    theirs = table_checksums(b.db, skip_columns=LINEAGE_COLUMNS)
    print(f"duckdb load A: {describe_sums(ours)}")
    print(f"duckdb load B: {describe_sums(theirs)} (dbt + publish {run.seconds:.1f} s)")
    assert len(ours) >= 13 and all(n > 0 for n, _ in ours.values())
    assert theirs == ours


@pytest.mark.timeout(1800)
def test_two_fresh_postgres_loads_give_identical_marts(
    baseline, lake_b, postgres_server, monkeypatch: pytest.MonkeyPatch
):
    sums = {}
    # One database name, dropped and created anew for each load: the same dbt profile, so the
    # second build reuses the first one's parse.
    dbname = "imdb_fresh_load"
    for key, value in {**pg_env(postgres_server), "PGDATABASE": dbname}.items():
        monkeypatch.setenv(key, value)
    target = lake_b["site"].lake.parent / "dbt-target-postgres"
    for name, site in (("a", baseline["site"]), ("b", lake_b["site"])):
        with psycopg.connect(conninfo(postgres_server), autocommit=True) as con:
            con.execute(f"drop database if exists {dbname}")
            con.execute(f"create database {dbname}")
        settings = Settings(dbt_target="postgres", raw_dir=str(site.raw), lake_dir=str(site.lake),
                            dbt_target_path=str(target), log_dir=str(target.parent / "logs"))
        # Staged directly: pipeline.stage would also reset the baseline lake's saved build state.
        manifest = lake.current_manifest(settings)
        stage_snapshot(settings, {dataset: d["path"] for dataset, d in manifest["datasets"].items()})
        plan = pipeline.Plan(f"fresh-load-{name}", "cli", "2026-01-01T00:00:00+00:00", str(site.raw),
                             str(site.lake), "postgres", manifest=manifest)
        pipeline.build(settings, plan)  # raises on a failed build
        assert pipeline.publish_marts(settings, None).ok
        sums[name] = postgres_checksums(postgres_server, dbname)
        print(f"postgres load {name.upper()}: {describe_sums(sums[name])} "
              f"(dbt build {plan.dbt['seconds']:.1f} s)")
    assert len(sums["a"]) >= 13 and all(n > 0 for n, _ in sums["a"].values())
    assert sums["b"] == sums["a"]
