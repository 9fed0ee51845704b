"""PostgreSQL staging against a real throwaway server: types, exact values, atomic swap."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from imdb_elt import config
from imdb_elt.catalog import INPUTS
from imdb_elt.warehouse import postgres_loader, stage_snapshot, types
from imdb_elt.warehouse.postgres_loader import stage_postgres
from tests import fake_credentials as fake
from tests.fixtures.postgres import conninfo, pg_env
from tests.warehouse import expected_columns
from tests.warehouse.parquet_fixtures import EDGE_ROWS, generated_rows, write_dataset, write_snapshot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture
def database(postgres_server: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh database per test, with PG* variables pointing at it (what stage_snapshot reads)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo(postgres_server), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    for key, value in {**pg_env(postgres_server), "PGDATABASE": name}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DBT_TARGET", "postgres")
    yield conninfo(postgres_server, name)


def _query(dsn: str, sql: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


def test_stage_snapshot_loads_typed_tables(database: str, tmp_path: Path) -> None:
    counts = stage_snapshot(config.load(), write_snapshot(tmp_path, "S1"))
    assert counts == {
        "title_basics": 3,
        "title_ratings": 3,
        "title_crew": 0,
        "title_episode": 0,
        "title_principals": 0,
        "name_basics": 0,
        "title_akas": 0,
        "movie_metadata": 2,
    }
    tables = _query(database, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'")
    # No __staging leftovers; the literal expectation covers every dataset.
    assert {t[0] for t in tables} == {i.dataset for i in INPUTS} == set(expected_columns.POSTGRES)
    _assert_catalogue_columns(database)


def _assert_catalogue_columns(database: str) -> None:
    for spec in INPUTS:
        cols = _query(
            database,
            "SELECT column_name, data_type, udt_name, numeric_precision, numeric_scale, is_nullable "
            f"FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = '{spec.dataset}' "
            "ORDER BY ordinal_position",
        )
        assert cols == expected_columns.postgres_columns(spec.dataset), spec.dataset


def test_a_wrong_type_mapping_fails_the_column_check(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The break that the column check must catch: `timestamp` staged as timestamptz (the
    load still works, the meaning of every _loaded_at changes with the session's time zone)."""
    monkeypatch.setitem(types._SCALARS["postgres"], "timestamp", "timestamptz")
    stage_snapshot(config.load(), write_snapshot(tmp_path, "S1"))
    with pytest.raises(AssertionError):
        _assert_catalogue_columns(database)


def test_values_arrays_decimals_exact(database: str, tmp_path: Path) -> None:
    stage_postgres("raw", write_snapshot(tmp_path, "S1"), conninfo=database)
    basics = _query(database, 'SELECT * FROM raw.title_basics ORDER BY "tconst"')
    expected = [tuple(r[c.name] for c in INPUTS[0].columns) for r in EDGE_ROWS["title_basics"]]
    assert [b[:9] for b in basics] == expected  # tabs, newlines, backslashes, \N, empty arrays
    assert {b[9:] for b in basics} == {("S1", dt.datetime(2026, 3, 1, 12, 30, 45, 123456))}
    ratings = _query(
        database, 'SELECT "averageRating", "numVotes" FROM raw.title_ratings ORDER BY 1 NULLS LAST'
    )
    assert ratings == [(Decimal("5.7"), 2_147_483_648), (Decimal("10.0"), 0), (None, None)]
    meta = _query(
        database,
        "SELECT budget, imdb_score, aspect_ratio, genres FROM raw.movie_metadata ORDER BY tconst DESC",
    )
    assert meta[0] == (
        12_215_500_000,
        Decimal("7.9"),
        Decimal("1.78"),
        ["Action", "Adventure", "Fantasy", "Sci-Fi"],
    )
    assert meta[1] == (None, None, Decimal("16.00"), None)


def test_failed_stage_keeps_previous_tables(database: str, tmp_path: Path) -> None:
    stage_postgres("raw", write_snapshot(tmp_path / "a", "S1"), conninfo=database)
    good = write_dataset(
        tmp_path / "b" / "title_ratings", "title_ratings", generated_rows("title_ratings", 50), "S2"
    )
    bad = write_dataset(tmp_path / "b" / "wrong", "title_crew", generated_rows("title_crew", 1), "S2")
    with pytest.raises(ValueError, match="lacks catalogue columns"):
        stage_postgres("raw", {"title_ratings": str(good), "movie_metadata": str(bad)}, conninfo=database)
    assert _query(database, "SELECT count(*), min(_snapshot_id) FROM raw.title_ratings") == [(3, "S1")]
    assert _query(database, "SELECT count(*) FROM raw.title_basics") == [(3,)]
    names = _query(database, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'")
    assert not [n for (n,) in names if n.endswith("__staging")]


def test_readers_see_previous_tables_until_the_swap_commits(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage_postgres("raw", write_snapshot(tmp_path / "a", "S1"), conninfo=database)
    seen_during_load: list[tuple] = []
    real_copy = postgres_loader.copy_parquet

    def copy_then_peek(*args: object) -> int:
        rows = real_copy(*args)
        # Another session, mid-load: must not block and must still see S1.
        with psycopg.connect(database) as reader:
            reader.execute("SET statement_timeout = '5s'")
            seen_during_load.append(
                reader.execute("SELECT count(*), min(_snapshot_id) FROM raw.title_basics").fetchone()
            )
        return rows

    monkeypatch.setattr(postgres_loader, "copy_parquet", copy_then_peek)
    second = {
        "title_basics": str(
            write_dataset(tmp_path / "b" / "tb", "title_basics", generated_rows("title_basics", 10), "S2")
        )
    }
    counts = stage_postgres("raw", second, conninfo=database)
    assert seen_during_load == [(3, "S1")]
    assert counts["title_basics"] == 10 and counts["title_ratings"] == 0
    assert _query(database, "SELECT count(*), min(_snapshot_id) FROM raw.title_basics") == [(10, "S2")]
    assert _query(database, "SELECT count(*) FROM raw.title_ratings") == [(0,)]


def test_a_dataset_in_many_part_files_loads_every_row_and_logs_no_secret(
    database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spark writes a dataset as several part files: every row of every file is loaded, the load
    logs its progress, and the password in the environment never reaches the log.
    (COPY speed is a benchmark figure, not a test: docs/benchmarks.md.)"""
    monkeypatch.setenv("PGPASSWORD", fake.PASSWORD)  # trust authentication: any password is accepted
    n = 4_000
    folder = write_dataset(
        tmp_path / "tp", "title_principals", generated_rows("title_principals", n), "S1", files=4
    )
    assert len(list(folder.glob("*.parquet"))) == 4
    caplog.set_level(logging.INFO, logger="imdb_elt.warehouse")
    counts = stage_postgres("raw", {"title_principals": str(folder)}, conninfo=database)
    assert counts["title_principals"] == n
    assert _query(database, "SELECT count(DISTINCT tconst) FROM raw.title_principals") == [(n,)]
    assert "rows/s" in caplog.text
    assert fake.PASSWORD not in caplog.text and "PGPASSWORD" not in caplog.text
