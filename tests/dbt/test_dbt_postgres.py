"""The same project on PostgreSQL 15: staged with imdb_elt.warehouse (COPY, text[] arrays), built,
tested and published; a failing test leaves the published marts unchanged there too.
"""

from __future__ import annotations

import json
import os
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from imdb_elt.config import Settings
from imdb_elt.warehouse import stage_snapshot
from tests.dbt.fixtures import base_rows, rows_copy, run_dbt, write_snapshot

DBNAME = "imdb_dbt_test"
VARS: dict[str, Any] = {
    "ranking_min_votes": 100,
    "expected_rows": {dataset: len(rows) for dataset, rows in base_rows().items()},
}


def _conninfo(server: dict[str, object], dbname: str) -> str:
    return f"host={server['host']} port={server['port']} user={server['user']} dbname={dbname}"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_build_and_publish_on_postgres(
    postgres_server: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A database of its own: other suites may share the session's server.
    with psycopg.connect(_conninfo(postgres_server, str(postgres_server["dbname"])), autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {DBNAME}")
        con.execute(f"CREATE DATABASE {DBNAME}")
    pg = {
        "PGHOST": str(postgres_server["host"]),
        "PGPORT": str(postgres_server["port"]),
        "PGUSER": str(postgres_server["user"]),
        "PGDATABASE": DBNAME,
        "PGPASSWORD": "unused",  # trust authentication on loopback; the profile renders it
    }
    for key, value in pg.items():
        monkeypatch.setenv(key, value)
    env = {**os.environ, **pg, "DBT_TARGET": "postgres", "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
           "IMDB_ENV": "prod"}
    settings = Settings(dbt_target="postgres", raw_schema="raw")
    lake = tmp_path / "lake"

    def dbt(*args: str) -> int:
        started = time.perf_counter()
        proc = run_dbt([*args, "--vars", json.dumps(VARS)], env, target_path=tmp_path / "target")
        print(f"dbt {args[0]} (postgres): rc={proc.returncode} in {time.perf_counter() - started:.1f}s")
        if proc.returncode != 0:
            print(proc.stdout[-4000:])
        return proc.returncode

    def rows(relation: str) -> list[tuple]:
        with psycopg.connect(_conninfo(postgres_server, DBNAME)) as con:
            return sorted(con.execute(f"select * from {relation}").fetchall(), key=repr)

    staged = stage_snapshot(settings, write_snapshot(lake, "20260101T000000000000Z", base_rows()))
    assert staged == VARS["expected_rows"]
    assert dbt("build") == 0
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())
    unit = [r["status"] for r in results["results"] if r["unique_id"].startswith("unit_test.")]
    assert len(unit) >= 9 and set(unit) == {"pass"}
    assert dbt("run-operation", "publish_marts") == 0

    movies = {r[0]: r for r in rows("marts.movies")}
    assert set(movies) == {"tt0000001", "tt0000002", "tt0000003", "tt0000006", "tt0000008", "tt0000010"}
    assert movies["tt0000008"][1] == "Eta Original"  # no primary title: the original one
    assert movies["tt0000001"][6] == "Action,Drama"
    assert movies["tt0000001"][7] == "Ann Director, Bob Director"
    assert movies["tt0000002"][1] == "Beta"
    profit = {(r[0], r[1]): r[2] for r in rows("marts.director_profit_by_rating")}
    assert profit[("Ann Director", "PG-13")] == 1_970_000_000
    published = {name: rows(f"marts.{name}") for name in ("movies", "fct_title_ratings", "dim_people")}

    # A failing test on PostgreSQL too: a Kaggle rating of 11 (the cleaning rules allow 0..10)
    # fails the build, the published marts do not move.
    bad = rows_copy()
    for movie in bad["movie_metadata"]:
        if movie["tconst"] == "tt0000010":
            movie["imdb_score"] = Decimal("11.0")
    stage_snapshot(settings, write_snapshot(lake, "20260102T000000000000Z", bad))
    # Only the Kaggle side of movies and what depends on it: the full failing build is tested on DuckDB.
    assert dbt("build", "--select", "int_movies__kaggle+") != 0
    assert {name: rows(f"marts.{name}") for name in published} == published
