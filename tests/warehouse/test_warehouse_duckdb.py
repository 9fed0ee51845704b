"""DuckDB staging: views over the snapshot's Parquet, all eight sources, atomic replacement."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from imdb_elt import config
from imdb_elt.catalog import INPUTS
from imdb_elt.warehouse import stage_snapshot, types
from imdb_elt.warehouse.duckdb_loader import stage_duckdb
from tests.warehouse import expected_columns, parquet_fixtures
from tests.warehouse.parquet_fixtures import EDGE_ROWS, generated_rows, write_dataset, write_snapshot


def _rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def staged(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    db = tmp_path / "wh" / "nested" / "imdb.duckdb"  # parent folders do not exist yet
    counts = stage_duckdb(str(db), "raw", write_snapshot(tmp_path / "lake", "20260301T000000000000Z"))
    return db, counts


def test_all_eight_views_with_catalogue_columns_and_types(staged: tuple[Path, dict[str, int]]) -> None:
    db, counts = staged
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
    views = {r[0] for r in _rows(db, "SELECT view_name FROM duckdb_views() WHERE schema_name = 'raw'")}
    assert views == {i.dataset for i in INPUTS} == set(expected_columns.DUCKDB)
    _assert_catalogue_columns(db)


def _assert_catalogue_columns(db: Path) -> None:
    for spec in INPUTS:  # delivered and empty datasets alike: exact names, order and types
        described = [(r[0], r[1]) for r in _rows(db, f'DESCRIBE raw."{spec.dataset}"')]
        assert described == expected_columns.duckdb_columns(spec.dataset), spec.dataset


@pytest.mark.parametrize("catalogue_type, wrong", [("int", "BIGINT"), ("decimal", "DOUBLE")])
def test_a_wrong_type_mapping_fails_the_column_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalogue_type: str, wrong: str
) -> None:
    """The break that the column check must catch: the DuckDB spelling of a catalogue type goes wrong."""
    if catalogue_type == "decimal":
        monkeypatch.setitem(types._DECIMAL_SPELLING, "duckdb", lambda p, s: wrong)
    else:
        monkeypatch.setitem(types._SCALARS["duckdb"], catalogue_type, wrong)
    db = tmp_path / "imdb.duckdb"
    stage_duckdb(str(db), "raw", write_snapshot(tmp_path / "lake", "20260301T000000000000Z"))
    with pytest.raises(AssertionError):
        _assert_catalogue_columns(db)


def test_values_survive_exactly(staged: tuple[Path, dict[str, int]]) -> None:
    db, _ = staged
    basics = _rows(db, "SELECT * FROM raw.title_basics ORDER BY tconst")
    expected = [tuple(r[c.name] for c in INPUTS[0].columns) for r in EDGE_ROWS["title_basics"]]
    assert [b[:9] for b in basics] == expected
    ratings = _rows(db, 'SELECT "averageRating", "numVotes" FROM raw.title_ratings ORDER BY tconst')
    assert ratings == [(Decimal("5.7"), 2_147_483_648), (Decimal("10.0"), 0), (None, None)]
    meta = _rows(db, "SELECT budget, aspect_ratio, movie_title FROM raw.movie_metadata ORDER BY tconst")
    assert meta == [(None, Decimal("16.00"), None), (12_215_500_000, Decimal("1.78"), "Avatar\u00a0")]


def test_loaded_at_is_utc_whatever_the_session_time_zone(staged: tuple[Path, dict[str, int]]) -> None:
    db, _ = staged
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("SET TimeZone = 'America/New_York'")
        value = con.execute("SELECT DISTINCT _loaded_at FROM raw.title_ratings").fetchall()
    finally:
        con.close()
    assert value == [(dt.datetime(2026, 3, 1, 12, 30, 45, 123456),)]


def test_the_jobs_zoneless_loaded_at_is_read_as_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The job writes `_loaded_at` as the UTC wall time without a zone (spark_jobs/schemas.py):
    the view converts nothing, so a freshness query reads the Parquet statistics, and the value
    is the one a snapshot written before (UTC-adjusted) gives."""
    monkeypatch.setitem(parquet_fixtures._ARROW, "timestamp", pa.timestamp("us"))
    lake = tmp_path / "lake"
    folder = parquet_fixtures.write_dataset(
        lake / "S" / "title_ratings", "title_ratings", EDGE_ROWS["title_ratings"], "S",
        loaded_at=parquet_fixtures.LOADED_AT.replace(tzinfo=None),
    )  # fmt: skip
    db = tmp_path / "imdb.duckdb"
    stage_duckdb(str(db), "raw", {"title_ratings": str(folder)})
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("SET TimeZone = 'America/New_York'")
        [(view,)] = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'title_ratings'").fetchall()
        value = con.execute("SELECT max(_loaded_at) FROM raw.title_ratings").fetchall()
    finally:
        con.close()
    assert "timezone(" not in view.lower() and "_loaded_at" in view
    assert value == [(dt.datetime(2026, 3, 1, 12, 30, 45, 123456),)]


def test_connection_is_released_for_the_next_process(staged: tuple[Path, dict[str, int]]) -> None:
    db, _ = staged
    # dbt opens the file read-write in another process right after staging.
    code = (
        f"import duckdb; c = duckdb.connect({str(db)!r}); "
        "print(c.execute('select count(*) from raw.title_basics').fetchone()[0])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "3"


def test_restage_replaces_every_view(tmp_path: Path, staged: tuple[Path, dict[str, int]]) -> None:
    db, _ = staged
    second = {
        "name_basics": str(
            write_dataset(
                tmp_path / "s2" / "name_basics", "name_basics", generated_rows("name_basics", 7), "S2"
            )
        )
    }
    counts = stage_duckdb(str(db), "raw", second)
    assert counts["name_basics"] == 7
    assert counts["title_basics"] == 0  # no longer delivered → empty, still present
    assert _rows(db, "SELECT DISTINCT _snapshot_id FROM raw.name_basics") == [("S2",)]


def test_failed_stage_leaves_previous_views(tmp_path: Path, staged: tuple[Path, dict[str, int]]) -> None:
    db, _ = staged
    good = write_dataset(tmp_path / "s3" / "title_crew", "title_crew", generated_rows("title_crew", 4), "S3")
    # A folder with the wrong columns, staged after the good one in catalogue order.
    bad = write_dataset(
        tmp_path / "s3" / "name_basics_wrong", "title_crew", generated_rows("title_crew", 1), "S3"
    )
    with pytest.raises(ValueError, match="lacks catalogue columns"):
        stage_duckdb(str(db), "raw", {"title_crew": str(good), "name_basics": str(bad)})
    assert _rows(db, "SELECT count(*) FROM raw.title_crew") == [(0,)]
    assert _rows(db, "SELECT count(*) FROM raw.title_basics") == [(3,)]
    with pytest.raises(duckdb.IOException):  # a missing folder fails at bind time, same rollback
        stage_duckdb(str(db), "raw", {"title_crew": str(tmp_path / "missing")})
    assert _rows(db, "SELECT count(*) FROM raw.title_basics") == [(3,)]


def test_stage_snapshot_dispatches_on_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBT_TARGET", "duckdb")
    monkeypatch.setenv("DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("IMDB_RAW_SCHEMA", "raw_test")
    counts = stage_snapshot(
        config.load(), write_snapshot(tmp_path / "lake", "S1", {"title_ratings": EDGE_ROWS["title_ratings"]})
    )
    assert counts["title_ratings"] == 3 and len(counts) == 8
    assert _rows(tmp_path / "w.duckdb", "SELECT count(*) FROM raw_test.title_ratings") == [(3,)]
    monkeypatch.setenv("DBT_TARGET", "snowflake")
    with pytest.raises(ValueError, match="unknown DBT_TARGET"):
        stage_snapshot(config.load(), {})


def test_hostile_schema_and_unknown_dataset_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        stage_duckdb(str(tmp_path / "w.duckdb"), "raw; drop table x", {})
    with pytest.raises(ValueError, match="unknown datasets"):
        stage_duckdb(str(tmp_path / "w.duckdb"), "raw", {"title_basics; --": "/x"})
