"""Write-audit-publish, tested where it lives: the run engine's gate and the publish transaction.

- The runner (``pipeline.run_once``, what ``python -m imdb_elt run`` calls) with a failing dbt
  test never reaches publish: a spy on ``pipeline.publish_marts`` sees no call, and the
  published marts, CURRENT and the ledger do not move. The failing test comes from a fault the
  cleaning rules cannot prevent: a processed Parquet file lost a row after Spark reported its
  count, so the staged rows no longer reconcile with Spark's figures (``reconcile_staged_rows``).
- ``publish_marts`` failing half-way, after the statements of the marts before the faulty one
  have run inside its transaction, on DuckDB and on PostgreSQL: readers see all the old marts.
  The fault needs no hook in production code. PostgreSQL copies each mart: one audit mart is
  replaced by a view that fails when read. DuckDB publishes the audit table itself, renamed to
  ``<mart>__published``: for one mart, a view already holds that name.

Each check is also run with a deliberate break (parametrised below) that must make it fail:
proof that the check can fail (docs/reliability.md, "Proof that each check can fail").
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import psycopg
import pytest

from imdb_elt import config, dbt_runner, pipeline
from imdb_elt.config import DBT_PROJECT_DIR, Settings
from tests.fixtures.postgres import conninfo, pg_env
from tests.reliability.helpers import Site, clone, drop_last_row, table_checksums

pytestmark = [pytest.mark.slow]


def mart_names() -> list[str]:
    """The marts publish_marts copies, in its order: the models under models/marts, sorted."""
    return sorted(p.stem for p in (DBT_PROJECT_DIR / "models" / "marts").glob("*.sql"))


# ---- the runner's gate -------------------------------------------------------------------------


def _site_state(site: Site) -> dict:
    return {"current": site.current(), "ledger": site.ledger(), "marts": table_checksums(site.db)}


def _gate_intact(steps: tuple) -> tuple:
    return steps


def _gate_skipped(steps: tuple) -> tuple:
    """The break: a failed build no longer stops the run (its error is swallowed)."""

    def build_ignoring_failures(settings: Settings, plan: pipeline.Plan) -> None:
        try:
            pipeline.build(settings, plan)
        except pipeline.PipelineError as exc:
            print(f"break: build failure ignored: {str(exc)[:120]}")

    return tuple(build_ignoring_failures if s is pipeline.build else s for s in steps)


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("steps, must_hold", [(_gate_intact, True), (_gate_skipped, False)],
                         ids=["gate", "break=build failure ignored"])
def test_runner_never_publishes_after_a_failing_dbt_test(
    baseline, tmp_path, monkeypatch, steps: Callable[[tuple], tuple], must_hold: bool
):
    site = clone(baseline["site"], tmp_path)
    before = _site_state(site)
    part, spark_rows = drop_last_row(site.lake, str(site.current()), "title_ratings")
    for key, value in site.env().items():
        monkeypatch.setenv(key, value)
    published: list[tuple] = []
    real_publish_marts = pipeline.publish_marts

    def spy(*args, **kwargs):
        published.append(args)
        return real_publish_marts(*args, **kwargs)

    monkeypatch.setattr(pipeline, "publish_marts", spy)
    monkeypatch.setattr(pipeline, "STEPS", steps(pipeline.STEPS))

    plan = pipeline.run_once(config.load(), rebuild=True)
    after, report = _site_state(site), site.latest_report()
    print(f"\nrunner gate ({'intact' if must_hold else 'broken'}): {part.parent.name} holds "
          f"{spark_rows - 1} rows, Spark reported {spark_rows}; run status {plan.status}; "
          f"publish_marts calls {len(published)}; dbt tests failed {report['dbt'].get('tests_failed')}")

    def gate_held() -> None:
        assert published == [], "publish_marts was called although the staged rows do not reconcile"
        assert plan.status == report["status"] == pipeline.FAILED
        assert "reconcile_staged_rows" in (plan.error or ""), plan.error
        assert after == before, "published marts, CURRENT or the ledger moved"

    if must_hold:
        gate_held()
    else:
        with pytest.raises(AssertionError):
            gate_held()


# ---- publish_marts failing half-way ------------------------------------------------------------

#: Rows of every published mart before the publish, and of every audit mart it would publish.
OLD, NEW = ("old", 3), ("new", 5)


def _duckdb_rows(table: str, version: str, rows: int) -> str:
    return f"create table {table} as select '{version}' as version, {rows}::bigint as n from range({rows})"


def _postgres_rows(table: str, version: str, rows: int) -> str:
    return (f"create table {table} as select '{version}'::text as version, {rows}::bigint as n "
            f"from generate_series(1, {rows})")


def _faulty(names: list[str]) -> str:
    """The mart whose publish fails: late in the order, so most marts' statements ran."""
    return names[-2]


def commit_after_each_mart(project: Path) -> None:
    """The break: publish_marts commits after every statement instead of once at the end."""
    macro = project / "macros" / "publish_marts.sql"
    text = macro.read_text()
    assert text.count("{{ statement }};") == 1, "the publish macro changed: update this break"
    macro.write_text(text.replace("{{ statement }};", "{{ statement }}; commit; begin transaction;"))


def _project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, break_: Callable[[Path], None] | None) -> None:
    """Run dbt against the project, or against a copy of it with the break applied."""
    if break_ is None:
        return
    copy = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    break_(copy)
    monkeypatch.setattr(dbt_runner, "DBT_PROJECT_DIR", copy)


def _assert_readers_see_the_old_marts(published: dict[str, list[tuple]], names: list[str]) -> None:
    changed = sorted(name for name in names if published[name] != [(OLD[0], OLD[1])])
    assert not changed, f"readers see new content in {changed}: the publish was not atomic"


def _publish(settings: Settings, tmp_path: Path) -> dbt_runner.DbtOutcome:
    return pipeline.publish_marts(settings, None, log_path=str(tmp_path / "logs"))


def _log(outcome: dbt_runner.DbtOutcome) -> str:
    """dbt's log of the publish: where the database's own error is (the outcome only says it failed)."""
    return Path(outcome.log_file or "").read_text(errors="replace") if outcome.log_file else ""


BREAKS = [None, commit_after_each_mart]
BREAK_IDS = ["atomic", "break=commit after each mart"]


def _judge(engine: str, faulty: str, break_, outcome, published: dict, error: str) -> None:
    """The publish failed on the faulty mart; readers see every old mart, unless a break is applied,
    which must then make that check fail."""
    names = list(published)
    print(f"\n{engine} publish failing at {faulty} ({'break' if break_ else 'intact'}): "
          f"ok={outcome.ok}; marts still old: {sum(published[n] == [OLD] for n in names)} of {len(names)}")
    assert not outcome.ok and error in _log(outcome), outcome.failures
    if break_ is None:
        _assert_readers_see_the_old_marts(published, names)
    else:
        with pytest.raises(AssertionError):
            _assert_readers_see_the_old_marts(published, names)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("break_", BREAKS, ids=BREAK_IDS)
def test_publish_failing_half_way_leaves_duckdb_readers_on_the_old_marts(tmp_path, monkeypatch, break_):
    names = mart_names()
    faulty = _faulty(names)
    db = tmp_path / "imdb.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts; create schema marts_audit")
        for name in names:
            con.execute(_duckdb_rows(f'marts."{name}"', *OLD))
            con.execute(_duckdb_rows(f'marts_audit."{name}"', *NEW))
        # The fault: the name the audit table is to take is held by a view ("is of type View").
        con.execute(f'create view marts_audit."{faulty}__published" as select 1 as n')
    _project(tmp_path, monkeypatch, break_)
    settings = Settings(dbt_target="duckdb", duckdb_path=str(db), dbt_target_path=str(tmp_path / "target"),
                        raw_schema="raw", audit_schema="marts_audit", marts_schema="marts")
    outcome = _publish(settings, tmp_path)
    with duckdb.connect(str(db), read_only=True) as con:
        published = {n: con.execute(f'select distinct version, n from marts."{n}"').fetchall() for n in names}
    _judge("DuckDB", faulty, break_, outcome, published, "is of type View")


@pytest.fixture
def pg_database(postgres_server, monkeypatch) -> Iterator[str]:
    name = f"wap_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(conninfo(postgres_server), autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    for key, value in {**pg_env(postgres_server), "PGDATABASE": name}.items():
        monkeypatch.setenv(key, value)
    yield conninfo(postgres_server, name)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("break_", BREAKS, ids=BREAK_IDS)
def test_publish_failing_half_way_leaves_postgres_readers_on_the_old_marts(
    pg_database, tmp_path, monkeypatch, break_
):
    names = mart_names()
    faulty = _faulty(names)
    with psycopg.connect(pg_database, autocommit=True) as con:
        con.execute("create schema marts; create schema marts_audit")
        # The fault: a text value the view casts to integer when read ("invalid input syntax").
        con.execute("create table marts_audit.fault_source (version text, n text)")
        con.execute("insert into marts_audit.fault_source values ('x', 'not a number')")
        for name in names:
            con.execute(_postgres_rows(f'marts."{name}"', *OLD))
            if name == faulty:
                con.execute(f'create view marts_audit."{name}" as '
                            "select version, n::bigint as n from marts_audit.fault_source")
            else:
                con.execute(_postgres_rows(f'marts_audit."{name}"', *NEW))
    _project(tmp_path, monkeypatch, break_)
    settings = Settings(dbt_target="postgres", dbt_target_path=str(tmp_path / "target"), raw_schema="raw",
                        audit_schema="marts_audit", marts_schema="marts")
    outcome = _publish(settings, tmp_path)
    with psycopg.connect(pg_database) as reader:  # a reader that connects after the failed publish
        published = {n: reader.execute(f'select distinct version, n from marts."{n}"').fetchall()
                     for n in names}
    _judge("PostgreSQL", faulty, break_, outcome, published, "invalid input syntax")

