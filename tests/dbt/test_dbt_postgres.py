"""The project on PostgreSQL 15, the way the pipeline and the analysts use it.

One module-scoped production build is shared (the tests run in file order): the fixture snapshot
staged with imdb_elt.warehouse (COPY, text[] arrays), `dbt build` and `publish_marts` with
IMDB_ENV=prod and IMDB_ANALYST_ROLE=analysts, and a login role `ann` in `analysts`. Then:

- the published marts follow the rules (as on DuckDB);
- an analyst's `dbt build` (no IMDB_ENV) writes only dbt_ann_* schemas and cannot publish;
- `dbt build --select movies+ --defer --state <published state>` builds just that slice;
- `ann` reads every published mart and nothing else, and cannot change anything in `marts`;
- readers during a publish see the old marts or the new ones, never an error, an empty table
  or a deadlock, and keep their grants after it;
- a failing test leaves the published marts unchanged.

dbt runs as an analyst types it: `dbt ...` in dbt_project/ with no project or profile flags
(DBT_TARGET_PATH and DBT_LOG_PATH keep the artefacts in the test's folder).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from imdb_elt import build_state
from imdb_elt.config import DBT_PROJECT_DIR, Settings
from imdb_elt.warehouse import stage_snapshot
from tests.dbt.fixtures import DBT, base_rows, rows_copy, write_snapshot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

DBNAME = "imdb_dbt_test"
ANALYSTS, ANN = "analysts", "ann"
VARS: dict[str, Any] = {
    "ranking_min_votes": 100,
    "expected_rows": {dataset: len(rows) for dataset, rows in base_rows().items()},
}
PRODUCTION_SCHEMAS = {"raw", "staging", "intermediate", "marts_audit", "marts", "ops"}


@dataclass
class Pg:
    server: dict[str, object]
    root: Path
    settings: Settings
    prod_manifest: dict[str, Any] = field(default_factory=dict)
    prod_results: dict[str, Any] = field(default_factory=dict)
    transcript: list[str] = field(default_factory=list)

    @property
    def pg_env(self) -> dict[str, str]:
        return {
            "PGHOST": str(self.server["host"]),
            "PGPORT": str(self.server["port"]),
            "PGUSER": str(self.server["user"]),
            "PGDATABASE": DBNAME,
            "PGPASSWORD": "unused",  # trust authentication on loopback; the profile renders it
        }

    def dbt(self, *args: str, prod: bool, person: str = "dbt_ann", dbt_vars: dict | None = None,
            target: str | None = None) -> subprocess.CompletedProcess[str]:
        """`dbt <args>` in dbt_project/, as a person types it: production only with IMDB_ENV=prod."""
        env = {k: v for k, v in os.environ.items() if k not in ("IMDB_ENV", "DBT_PROFILES_DIR")}
        folder = self.root / (target or ("target_prod" if prod else f"target_{person}"))
        env.update(self.pg_env, DBT_TARGET="postgres", DBT_SEND_ANONYMOUS_USAGE_STATS="False",
                   DBT_TARGET_PATH=str(folder), DBT_LOG_PATH=str(folder / "logs"), IMDB_DEV_SCHEMA=person,
                   IMDB_ANALYST_ROLE=ANALYSTS, IMDB_LAKE_DIR=str(self.root / "lake"))
        if prod:
            env["IMDB_ENV"] = "prod"
        command = [*args, "--vars", json.dumps(VARS if dbt_vars is None else dbt_vars)]
        started = time.perf_counter()
        proc = subprocess.run([DBT, *command], env=env, cwd=DBT_PROJECT_DIR, capture_output=True,
                              text=True, timeout=600)
        line = (f"{'IMDB_ENV=prod ' if prod else f'IMDB_DEV_SCHEMA={person} '}dbt {' '.join(args)}"
                f"  -> exit {proc.returncode} in {time.perf_counter() - started:.1f} s")
        print(line)
        self.transcript.append(line)
        if proc.returncode != 0:
            print(proc.stdout[-3000:])
        return proc

    def connect(self, user: str | None = None, **kwargs: Any) -> psycopg.Connection:
        who = user or self.server["user"]
        return psycopg.connect(f"host={self.server['host']} port={self.server['port']} user={who} "
                               f"dbname={DBNAME}", **kwargs)

    def rows(self, relation: str) -> list[tuple]:
        with self.connect() as con:
            return sorted(con.execute(f"select * from {relation}").fetchall(), key=repr)

    def relations(self) -> dict[tuple[str, str], int]:
        """Every table and view outside the system schemas, with its oid (a rebuild changes it)."""
        with self.connect() as con:
            return {(schema, name): oid for schema, name, oid in con.execute(
                "select n.nspname, c.relname, c.oid::int from pg_class c join pg_namespace n"
                " on n.oid = c.relnamespace where c.relkind in ('r', 'v')"
                " and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_'"
            ).fetchall()}

    def schemas_written(self, before: dict, after: dict) -> dict[str, int]:
        changed = [key for key, oid in after.items() if before.get(key) != oid]
        out: dict[str, int] = {}
        for schema, _ in changed:
            out[schema] = out.get(schema, 0) + 1
        return dict(sorted(out.items()))

    def marts(self) -> list[str]:
        from imdb_elt.report import published_mart_names

        return published_mart_names(self.prod_manifest)


@pytest.fixture(scope="module")
def pg(postgres_server: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pg]:
    root = tmp_path_factory.mktemp("pg_dbt")
    with psycopg.connect(f"host={postgres_server['host']} port={postgres_server['port']} "
                         f"user={postgres_server['user']} dbname={postgres_server['dbname']}",
                         autocommit=True) as con:
        # A database of its own: other suites may share the session's server. Roles are the
        # cluster's: dropping the database first drops their privileges in it.
        con.execute(f"DROP DATABASE IF EXISTS {DBNAME}")
        con.execute(f"DROP ROLE IF EXISTS {ANN}")
        con.execute(f"DROP ROLE IF EXISTS {ANALYSTS}")
        con.execute(f"CREATE DATABASE {DBNAME}")
        con.execute(f"CREATE ROLE {ANALYSTS} NOLOGIN")
        con.execute(f"CREATE ROLE {ANN} LOGIN IN ROLE {ANALYSTS}")
    wh = Pg(server=postgres_server, root=root,
            settings=Settings(dbt_target="postgres", raw_schema="raw", lake_dir=str(root / "lake")))
    with pytest.MonkeyPatch.context() as mp:
        for key, value in wh.pg_env.items():
            mp.setenv(key, value)
        snapshot = write_snapshot(root / "lake", "20260101T000000000000Z", base_rows())
        staged = stage_snapshot(wh.settings, snapshot)
        assert staged == VARS["expected_rows"]
        before = wh.relations()
        build = wh.dbt("build", prod=True)
        assert build.returncode == 0
        wh.prod_manifest = json.loads((root / "target_prod" / "manifest.json").read_text())
        wh.prod_results = json.loads((root / "target_prod" / "run_results.json").read_text())
        assert wh.dbt("run-operation", "publish_marts", prod=True).returncode == 0
        written = wh.schemas_written(before, wh.relations())
        wh.transcript.append(f"  production build + publish wrote (schema: relations): {written}")
        print(wh.transcript[-1])
        assert set(written) == PRODUCTION_SCHEMAS - {"raw"}
        yield wh
        print("\n".join(["", "transcript (PostgreSQL):", *wh.transcript]))


def test_build_and_publish_on_postgres(pg: Pg) -> None:
    unit = [r["status"] for r in pg.prod_results["results"]
            if r["unique_id"].startswith("unit_test.")]
    assert len(unit) >= 9 and set(unit) == {"pass"}
    movies = {r[0]: r for r in pg.rows("marts.movies")}
    assert set(movies) == {"tt0000001", "tt0000002", "tt0000003", "tt0000006", "tt0000008", "tt0000010"}
    assert movies["tt0000008"][1] == "Eta Original"  # no primary title: the original one
    assert movies["tt0000001"][6] == "Action,Drama"
    assert movies["tt0000001"][7] == "Ann Director, Bob Director"
    assert movies["tt0000002"][1] == "Beta"
    profit = {(r[0], r[1]): r[2] for r in pg.rows("marts.director_profit_by_rating")}
    assert profit[("Ann Director", "PG-13")] == 1_970_000_000


def test_a_development_build_writes_only_the_persons_schemas(pg: Pg) -> None:
    """The same `dbt build` without IMDB_ENV=prod: dbt_ann_staging, _intermediate, _marts, and
    not one production relation rebuilt; and it cannot publish."""
    before = pg.relations()
    assert pg.dbt("build", prod=False).returncode == 0
    after = pg.relations()
    written = pg.schemas_written(before, after)
    pg.transcript.append(f"  development build wrote (schema: relations): {written}")
    print(pg.transcript[-1])
    assert set(written) == {"dbt_ann_staging", "dbt_ann_intermediate", "dbt_ann_marts", "dbt_ann_ops"}
    assert {k: v for k, v in after.items() if k[0] in PRODUCTION_SCHEMAS} == \
        {k: v for k, v in before.items() if k[0] in PRODUCTION_SCHEMAS}
    for mart in pg.marts():  # the same raw data: the same marts
        assert pg.rows(f"dbt_ann_marts.{mart}") == pg.rows(f"marts.{mart}"), mart

    refused = pg.dbt("run-operation", "publish_marts", prod=False)
    assert refused.returncode != 0
    assert "publish_marts only runs in production" in refused.stdout
    pg.transcript.append("    refused: publish_marts only runs in production (IMDB_ENV=prod)")
    assert pg.relations() == after


def test_a_slice_defers_to_the_published_build(pg: Pg) -> None:
    """`dbt build --select movies+ --defer --state <the pipeline's published state>` builds the
    slice in the person's schema and reads its parents from production."""
    build_state.remember_published(pg.settings, pg.prod_manifest)
    state = build_state.published_state_dir(pg.settings)
    assert (Path(state) / "manifest.json").is_file()
    person = "dbt_ann"
    with pg.connect(autocommit=True) as con:  # a fresh start: nothing of the person's own to read
        for layer in ("staging", "intermediate", "marts"):
            con.execute(f"drop schema {person}_{layer} cascade")
    before = pg.relations()
    proc = pg.dbt("build", "--select", "movies+", "--defer", "--state", state, prod=False, person=person)
    assert proc.returncode == 0
    written = pg.schemas_written(before, pg.relations())
    assert set(written) == {f"{person}_marts"}  # no staging, no intermediate rebuilt
    results = json.loads((pg.root / f"target_{person}" / "run_results.json").read_text())["results"]
    built = {r["unique_id"] for r in results if r["unique_id"].startswith("model.")}
    children = pg.prod_manifest["child_map"]
    expected, todo = set(), ["model.imdb_elt.movies"]
    while todo:
        node = todo.pop()
        if node.startswith("model.") and node not in expected:
            expected.add(node)
            todo += children[node]
    assert built == expected and len(expected) >= 4
    compiled = (pg.root / f"target_{person}" / "compiled/imdb_elt/models/marts/movies.sql").read_text()
    assert f'"{DBNAME}"."intermediate"."int_movies__imdb"' in compiled  # production's parent
    for uid in expected:
        name = uid.rsplit(".", 1)[-1]
        assert pg.rows(f"{person}_marts.{name}") == pg.rows(f"marts.{name}"), name
    pg.transcript.append(f"  deferred slice movies+ wrote: {written} ({len(expected)} models)")


#: What `ann` tries in the published schema; each must be refused.
WRITES = [
    "create table marts.scratch (x int)",
    "create view marts.my_movies as select 1 as x",
    "alter table marts.movies add column note text",
    "alter table marts.movies rename to movies_old",
    "drop table marts.movies",
    "insert into marts.movies (tconst, title) values ('tt9', 'x')",
    "update marts.movies set title = 'x'",
    "delete from marts.movies",
    "truncate marts.movies",
    "lock table marts.movies in share mode",
]


def test_the_analyst_role_reads_the_published_marts_only(pg: Pg) -> None:
    lines = []
    with pg.connect(ANN, autocommit=True) as con:
        for mart in pg.marts():
            (count,) = con.execute(f"select count(*) from marts.{mart}").fetchone()
            assert count == len(pg.rows(f"marts.{mart}"))
        lines.append(f"    ann: select from each of the {len(pg.marts())} marts.*: ok")
        forbidden = ["raw.title_basics", "staging.stg_imdb__titles", "intermediate.int_movies__imdb",
                     "marts_audit.movies", "dbt_ann_marts.movies"]  # nor anyone's development build
        for statement in [f"select * from {relation}" for relation in forbidden] + WRITES:
            with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused, con.transaction():
                con.execute(statement)  # in a transaction block, rolled back (LOCK needs one)
            lines.append(f"    ann refused: {statement}  ->  {str(refused.value).strip()}")
    pg.transcript += lines
    print("\n".join(lines))
    assert len(pg.rows("marts.movies")) == 6  # nothing changed


def _publish_sql(pg: Pg) -> str:
    """The SQL `publish_marts` runs (its dry run), to run it at a chosen moment in the test."""
    proc = pg.dbt("run-operation", "publish_marts", "--args", "{dry_run: true}", "--log-format", "json",
                  prod=True)
    assert proc.returncode == 0
    messages = [json.loads(line)["info"]["msg"] for line in proc.stdout.splitlines() if line.startswith("{")]
    (sql,) = [m for m in messages if "create schema if not exists" in m]
    return sql


def _counts(con: psycopg.Connection) -> tuple[int, int]:
    row = con.execute("select (select count(*) from marts.movies),"
                      " (select count(*) from marts.movies_of_the_decade)").fetchone()
    return int(row[0]), int(row[1])


def _next_build(pg: Pg) -> None:
    """The next build's result, made by hand in the audit schema (publish copies what passed the
    audit, whoever built it): a movie of the decade is gone from both marts."""
    with pg.connect(autocommit=True) as con:
        con.execute("delete from marts_audit.movies where tconst = 'tt0000010'")
        con.execute("delete from marts_audit.movies_of_the_decade where tconst = 'tt0000010'")


def _running(pg: Pg, user: str, pattern: str, timeout: float = 30) -> int:
    """The pid of ``user``'s active statement matching ``pattern``, once the server runs it."""
    deadline = time.monotonic() + timeout
    with pg.connect(autocommit=True) as con:
        while time.monotonic() < deadline:
            row = con.execute("select pid from pg_stat_activity where usename = %s and state = 'active'"
                              " and query like %s", [user, pattern]).fetchone()
            if row:
                return int(row[0])
            time.sleep(0.05)
    raise TimeoutError(pattern)


def test_readers_during_a_publish_see_the_old_marts_or_the_new(pg: Pg) -> None:
    """A long query and a repeatable-read transaction that began before the publish read the
    old marts to their end; the publish does not wait for them; the next query reads the new
    ones. Against the old drop + create + insert, the same transaction reads empty marts."""
    with pg.connect() as con:
        old = _counts(con)
    _next_build(pg)
    sql = _publish_sql(pg)
    assert "delete from" in sql and " rename to " not in sql  # same columns: refreshed in place

    long_query: dict[str, Any] = {}

    def analyst_long_query() -> None:
        with pg.connect(ANN, autocommit=True) as con:
            row = con.execute("select pg_sleep(4), (select count(*) from marts.movies),"
                              " (select count(*) from marts.movies_of_the_decade)").fetchone()
            long_query.update(counts=(int(row[1]), int(row[2])), ended=time.monotonic())

    with pg.connect(ANN) as snapshot_reader:
        snapshot_reader.execute("set transaction isolation level repeatable read")
        snapshot_reader.execute("select 1")  # its snapshot is taken here, before the publish
        reader = threading.Thread(target=analyst_long_query)
        reader.start()
        _running(pg, ANN, "select pg_sleep(4)%")
        with pg.connect(autocommit=True) as publisher:
            publisher.execute(sql)
        published_at = time.monotonic()
        assert reader.is_alive()  # the publish did not wait for the reader
        assert _counts(snapshot_reader) == old  # after the commit, still its own snapshot
        snapshot_reader.commit()
        reader.join(30)
    assert long_query["counts"] == old and long_query["ended"] > published_at
    with pg.connect(ANN) as con:
        new = _counts(con)
    assert new == (old[0] - 1, old[1] - 1)
    pg.transcript.append(f"  publish under readers: long query and repeatable-read reader saw {old}, "
                         f"the next query {new}; the publish did not wait")

    # The control: the previous publish (drop + create + insert) shows the same reader an empty
    # mart, neither the old nor the new one.
    with pg.connect(ANN) as snapshot_reader:
        snapshot_reader.execute("set transaction isolation level repeatable read")
        snapshot_reader.execute("select 1")
        with pg.connect(autocommit=True) as publisher:
            publisher.execute("begin; drop table marts.movies cascade;"
                              " create table marts.movies (like marts_audit.movies including all);"
                              " insert into marts.movies select * from marts_audit.movies;"
                              f" grant select on marts.movies to {ANALYSTS}; commit")
        assert _counts(snapshot_reader)[0] == 0
        snapshot_reader.commit()


def test_a_changed_mart_swaps_in_without_a_deadlock_and_keeps_its_grants(pg: Pg) -> None:
    """Two marts whose columns changed are swapped in by rename. An analyst's transaction holds
    the second one while the publish starts and then reads the first: waiting for the second
    while holding the first would deadlock with it; the publish waits holding neither."""
    with pg.connect(autocommit=True) as con:
        for mart in ("movies", "movies_of_the_decade"):
            con.execute(f"alter table marts_audit.{mart} add column note text")
    sql = _publish_sql(pg)
    assert sql.count(" rename to ") == 4 and "nowait" in sql

    outcome: dict[str, Any] = {}

    def publish() -> None:
        try:
            with pg.connect(autocommit=True) as publisher:
                outcome["pid"] = publisher.execute("select pg_backend_pid()").fetchone()[0]
                publisher.execute(sql)
            outcome["ok"] = True
        except psycopg.Error as exc:
            outcome["error"] = exc

    with pg.connect(ANN) as analyst:
        analyst.execute("select count(*) from marts.movies_of_the_decade").fetchone()  # holds it
        thread = threading.Thread(target=publish)
        thread.start()
        deadline = time.monotonic() + 60
        waiting = None
        with pg.connect(autocommit=True) as con:
            while waiting is None and time.monotonic() < deadline:
                if "pid" in outcome:
                    waiting = con.execute("select relation::regclass::text from pg_locks"
                                          " where pid = %s and not granted", [outcome["pid"]]).fetchone()
                time.sleep(0.05)
        assert waiting is not None and waiting[0] == "marts.movies_of_the_decade"
        time.sleep(1.5)  # past deadlock_timeout (1 s): a cycle would have been broken by now
        assert analyst.execute("select count(*) from marts.movies").fetchone()[0] > 0
        analyst.commit()
        thread.join(60)
    assert outcome.get("ok"), outcome
    with pg.connect(ANN, autocommit=True) as con:
        for mart in pg.marts():
            con.execute(f"select * from marts.{mart}").fetchall()  # the grants came with the new tables
        assert "note" in [c.name for c in con.execute("select * from marts.movies limit 0").description]
    pg.transcript.append("  changed marts swapped in by rename while an analyst held one: no deadlock, "
                         "grants kept")


def test_the_role_keeps_its_grants_after_the_next_publish(pg: Pg) -> None:
    """The pipeline's own publish (dbt) after all of the above: `ann` reads every mart."""
    with pg.connect(autocommit=True) as con:
        con.execute("insert into marts_audit.movies (tconst, title) values ('tt0000099', 'Omega')")
    assert pg.dbt("run-operation", "publish_marts", prod=True).returncode == 0
    with pg.connect(ANN, autocommit=True) as con:
        for mart in pg.marts():
            assert con.execute(f"select count(*) from marts.{mart}").fetchone() is not None
        omega = con.execute("select title from marts.movies where tconst = 'tt0000099'").fetchone()
        assert omega == ("Omega",)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute("select * from marts_audit.movies")


def test_a_failing_test_leaves_the_published_marts_unchanged(pg: Pg) -> None:
    """A Kaggle rating of 11 (the cleaning rules allow 0..10) fails the build; `marts` does not move."""
    published = {name: pg.rows(f"marts.{name}") for name in ("movies", "fct_title_ratings", "dim_people")}
    bad = rows_copy()
    for movie in bad["movie_metadata"]:
        if movie["tconst"] == "tt0000010":
            movie["imdb_score"] = Decimal("11.0")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in pg.pg_env.items():
            mp.setenv(key, value)
        stage_snapshot(pg.settings, write_snapshot(pg.root / "lake", "20260102T000000000000Z", bad))
    # Only the Kaggle side of movies and what depends on it: the full failing build is tested on DuckDB.
    assert pg.dbt("build", "--select", "int_movies__kaggle+", prod=True).returncode != 0
    assert {name: pg.rows(f"marts.{name}") for name in published} == published
    assert re.search(r"value_between_movies_rating", json.dumps(
        json.loads((pg.root / "target_prod" / "run_results.json").read_text())))


def test_the_run_history_views_read_the_appended_reports(pg: Pg) -> None:
    """The production build made the ops views; a run appended afterwards is in them at once,
    with no build (imdb_elt/run_history.py)."""
    from imdb_elt import run_history
    from tests.test_run_history import a_report

    with pytest.MonkeyPatch.context() as mp:
        for key, value in pg.pg_env.items():
            mp.setenv(key, value)
        run_history.append_reports(pg.settings, [a_report("20261204T100000000000Z")])
        run_history.append_reports(pg.settings, [a_report("20261204T100000000000Z")])  # the same run
    assert pg.rows("ops.run_history")[0][:7] == (
        "20261204T100000000000Z", dt.datetime(2026, 12, 4, 10), dt.datetime(2026, 12, 4, 10, 1),
        Decimal("60.00"), "failed", "airflow", "20261204T100000000000Z")
    assert len(pg.rows("ops.run_history")) == 1
    assert [r[4:8] for r in pg.rows("ops.dbt_test_history")] == [("t1", "test", "fail", 4)]
    assert [(r[1], r[9], r[10], float(r[11])) for r in pg.rows("ops.data_quality_daily")] == [
        ("title_ratings", "bad_rating", 2, 0.2)]
