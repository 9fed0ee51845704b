"""The dbt project on DuckDB over a tiny fixture snapshot: build, quality gate, write-audit-publish,
incremental history, reconciliation, docs, and the offline Redshift compile.

One module-scoped build (stage + `dbt build` + `publish_marts`) is shared. Every test starts from
a fresh copy of that built DuckDB file, restored to the same path: dbt's partial parse depends on
the rendered profile (the DuckDB path) and the vars, so keeping both fixed saves a full parse
(~15 s) per invocation.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from imdb_elt import build_state, lake, layout
from imdb_elt.config import DBT_PROJECT_DIR, REPO_ROOT, Settings
from imdb_elt.warehouse import stage_snapshot
from tests.dbt.catalog_rules import Lineage, check_manifest
from tests.dbt.fixtures import ANNOUNCED_YEAR, DBT, base_rows, rows_copy, run_dbt, write_snapshot

S1 = "20260101T000000000000Z"
S2 = "20260102T000000000000Z"

MARTS = [
    "bridge_title_genres",
    "dangling_references",
    "dim_people",
    "dim_title_akas",
    "dim_titles",
    "director_movies",
    "director_profit_by_rating",
    "fct_episodes",
    "fct_title_principals",
    "fct_title_ratings",
    "movies",
    "movies_of_the_decade",
    "top_ten_movies_by_year",
]


def expected_rows_of(rows: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    return {dataset: len(r) for dataset, r in rows.items()}


# The fixture's vote counts are small: rank movies with at least 100 votes. The same vars are
# passed to every invocation that needs no other value, so dbt can reuse its partial parse.
BASE_VARS: dict[str, Any] = {"ranking_min_votes": 100, "expected_rows": expected_rows_of(base_rows())}


@dataclass
class Warehouse:
    """One DuckDB warehouse built by dbt, with what is needed to run dbt against it again."""

    root: Path
    duckdb_path: Path
    lake_dir: Path
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "DBT_TARGET": "duckdb",
                "DUCKDB_PATH": str(self.duckdb_path),
                "IMDB_RAW_SCHEMA": "raw",
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
                "IMDB_ENV": "prod",  # the warehouse's own schemas, as the pipeline builds them
            }
        )
        return env

    def dbt(self, *args: str, dbt_vars: dict[str, Any] | None = None, check: bool = False):
        vars_json = json.dumps(BASE_VARS if dbt_vars is None else dbt_vars)
        started = time.perf_counter()
        proc = run_dbt([*args, "--vars", vars_json], self.env, target_path=self.root / "target", check=check)
        print(f"dbt {' '.join(args)}: rc={proc.returncode} in {time.perf_counter() - started:.1f}s")
        return proc

    def run_results(self) -> dict[str, Any]:
        return json.loads((self.root / "target" / "run_results.json").read_text())

    def stage(self, folders: dict[str, str]) -> dict[str, int]:
        settings = Settings(duckdb_path=str(self.duckdb_path), dbt_target="duckdb", raw_schema="raw")
        return stage_snapshot(settings, folders)

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.duckdb_path), read_only=True) as con:
            return con.execute(sql).fetchall()

    def table(self, relation: str) -> list[tuple]:
        """All rows of a relation, sorted, so two reads compare equal whatever the scan order."""
        return sorted(self.query(f"select * from {relation}"), key=repr)

    @property
    def pristine(self) -> Path:
        return self.root / "pristine.duckdb"

    def save_pristine(self) -> None:
        shutil.copy(self.duckdb_path, self.pristine)

    def restore_pristine(self) -> None:
        shutil.copy(self.pristine, self.duckdb_path)


def statuses(results: dict[str, Any]) -> dict[str, str]:
    return {r["unique_id"]: r["status"] for r in results["results"]}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """Snapshot S1 staged, built with `dbt build` and published with `publish_marts`."""
    root = tmp_path_factory.mktemp("dbt_built")
    wh = Warehouse(root=root, duckdb_path=root / "imdb.duckdb", lake_dir=root / "lake")
    staged = wh.stage(write_snapshot(wh.lake_dir, S1, base_rows()))
    assert staged == BASE_VARS["expected_rows"]
    proc = wh.dbt("build")
    print(proc.stdout[-1500:])
    wh.results = wh.run_results()
    assert proc.returncode == 0, proc.stdout[-6000:]
    # The build's manifest holds every model's compiled SQL: the catalogue check reads it.
    shutil.copy(root / "target" / "manifest.json", root / "build_manifest.json")
    wh.dbt("run-operation", "publish_marts", check=True)
    wh.save_pristine()
    yield wh


@pytest.fixture
def wh(built: Warehouse) -> Warehouse:
    """The built warehouse, restored to its state right after the shared build and publish."""
    built.restore_pristine()
    return built


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_build_passes_with_warnings_for_dangling_references(wh: Warehouse) -> None:
    built = wh
    st = statuses(built.results)
    counts: dict[str, int] = {}
    for uid, status in st.items():
        counts[f"{uid.split('.')[0]}:{status}"] = counts.get(f"{uid.split('.')[0]}:{status}", 0) + 1
    print("build statuses:", counts, f"elapsed {built.results['elapsed_time']:.1f}s")
    assert not [u for u, s in st.items() if s in ("fail", "error", "skipped")]
    # Every unit test ran and passed.
    unit = {u: s for u, s in st.items() if u.startswith("unit_test.")}
    assert len(unit) >= 9 and set(unit.values()) == {"pass"}
    # Dangling references and implausible but accepted rows (a title announced for a later year, a
    # death before a birth) warn, with their counts, instead of failing the build.
    warned = {r["unique_id"].split(".")[2]: r["failures"] for r in built.results["results"]
              if r["status"] == "warn"}  # fmt: skip
    print("warned:", warned)
    assert any("fct_title_ratings_tconst" in w for w in warned)
    assert any("fct_episodes_parent_tconst" in w for w in warned)
    assert warned["not_after_current_year_dim_titles_start_year"] == 1
    assert warned["expression_is_true_dim_people_death_year_birth_year"] == 1
    expected_warnings = ("resolves_to_", "relationships_int_movie_directors_nconst",
                         "not_after_current_year_", "expression_is_true_")  # fmt: skip
    assert all(w.startswith(expected_warnings) for w in warned)
    dangling = dict(built.query("select reference, dangling_rows from marts.dangling_references"))
    assert dangling["fct_title_ratings.tconst"] == 1
    assert dangling["fct_title_principals.nconst"] == 1
    assert dangling["fct_episodes.parent_tconst"] == 1
    assert dangling["dim_title_akas.tconst"] == 0
    # Every reference is counted over all its rows (the rating history: one current row per title).
    for reference, checked in built.query("select reference, checked_rows from marts.dangling_references"):
        model, column = reference.split(".")
        counted = f"count(distinct {column})" if model == "fct_title_ratings" else f"count({column})"
        assert checked == built.query(f"select {counted} from marts.{model}")[0][0], reference
    # Each dangling reference warns once, with the mart's count; a clean one passes.
    reference_tests = {r["unique_id"]: r for r in built.results["results"]
                       if r["unique_id"].startswith("test.imdb_elt.resolves_to_")}  # fmt: skip
    assert len(reference_tests) == len(dangling)
    assert sorted(r["failures"] for r in reference_tests.values() if r["status"] == "warn") == sorted(
        n for n in dangling.values() if n > 0
    )
    passed = sum(r["status"] == "pass" for r in reference_tests.values())
    assert passed == sum(n == 0 for n in dangling.values())
    # The reconciliation test ran against the real counts and passed.
    assert st["test.imdb_elt.reconcile_staged_rows"] == "pass"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_reference_dangling_references_does_not_count_cannot_pass(wh: Warehouse, tmp_path: Path) -> None:
    """resolves_to reads its count from dangling_references: on a column the mart does not check
    it would find no row and pass silently, so it must refuse to compile instead."""
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    models_yml = project / "models" / "marts" / "_marts__models.yml"
    counted = "relationships:\n              arguments: {to: ref('movies'), field: tconst}"
    text = models_yml.read_text()
    assert counted in text
    models_yml.write_text(text.replace(counted, counted.replace("relationships", "resolves_to"), 1))
    cmd = [DBT, "compile", "--select", "top_ten_movies_by_year", "--project-dir", str(project),
           "--profiles-dir", str(REPO_ROOT), "--target-path", str(tmp_path / "target"),
           "--log-path", str(tmp_path / "logs"), "--vars", json.dumps(BASE_VARS)]  # fmt: skip
    proc = subprocess.run(cmd, env=wh.env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=240)
    print(proc.stdout[-2000:])
    assert proc.returncode != 0
    assert "dangling_references does not count top_ten_movies_by_year.tconst -> movies.tconst" in proc.stdout


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_published_marts_follow_the_rules(wh: Warehouse) -> None:
    built = wh
    tables = {name for (name,) in built.query(
        "select table_name from information_schema.tables where table_schema = 'marts'"
    )}
    assert tables == set(MARTS)
    movies = {row[0]: row for row in built.query(
        "select tconst, title, year, duration, rating, votes, genres, director, gross, budget,"
        " content_rating, country from marts.movies"
    )}
    # tt0000004 is a TV series in IMDb, so the Kaggle row does not make it a movie.
    assert set(movies) == {"tt0000001", "tt0000002", "tt0000003", "tt0000006", "tt0000008", "tt0000010"}
    alpha = movies["tt0000001"]
    # IMDb wins (title, year, rating, votes, genres, directors); Kaggle fills duration and money.
    assert alpha[1:8] == ("Alpha", 2012, 100, pytest.approx(8.0), 5000, "Action,Drama",
                          "Ann Director, Bob Director")
    assert alpha[8:12] == (3_000_000_000, 1_000_000_000, "PG-13", "USA")
    assert movies["tt0000002"][1] == "Beta"
    assert movies["tt0000008"][1:3] == ("Eta Original", ANNOUNCED_YEAR)  # no primary title: the original one
    assert movies["tt0000002"][3] == 95  # runtime missing in IMDb, Kaggle fills it
    assert movies["tt0000003"][7] == "Kim Director"  # dangling IMDb director: Kaggle's name
    assert movies["tt0000010"][1:3] == ("Zeta", 2014)  # Kaggle-only movie
    top = built.query("select year, year_rank, tconst from marts.top_ten_movies_by_year order by 1, 2")
    assert [r for r in top if r[0] == 2012] == [
        (2012, 1, "tt0000001"), (2012, 2, "tt0000002"), (2012, 3, "tt0000006")
    ]
    profit = dict(((d, c), (p, n)) for d, c, p, n in built.query(
        "select director_name, content_rating, profit, film_count from marts.director_profit_by_rating"
    ))
    # The Korean film (budget in won) is not summed; 64-bit sums stay exact.
    assert ("Kim Director", "R") not in profit
    assert profit[("Ann Director", "PG-13")] == (2_000_000_000 - 30_000_000, 2)
    assert profit[("Zed Director", "PG-13")] == (1_000_000_000, 1)
    # A person born in 525 is published as delivered.
    assert built.query("select birth_year from marts.dim_people where nconst = 'nm0000004'") == [(525,)]
    types = dict(built.query(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = 'marts' and table_name = 'director_profit_by_rating'"
    ))
    assert types["profit"] == "BIGINT"
    weighted = dict(built.query(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = 'marts' and table_name = 'top_ten_movies_by_year'"
    ))
    assert weighted["weighted_rating"] == "DECIMAL(9,6)"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_failing_test_leaves_published_marts_unchanged(wh: Warehouse) -> None:
    before = {name: wh.table(f"marts.{name}") for name in MARTS}
    # A new snapshot with a Kaggle rating of 11, which the cleaning rules refuse (0..10): only
    # the movies mart's range test sees it, after marts_audit.movies was rebuilt with it.
    rows = rows_copy()
    rows["title_ratings"][0]["numVotes"] = 6000
    for movie in rows["movie_metadata"]:
        if movie["tconst"] == "tt0000010":
            movie["imdb_score"] = Decimal("11.0")
    wh.stage(write_snapshot(wh.lake_dir, S2, rows))
    proc = wh.dbt("build")
    assert proc.returncode != 0
    failed = [u for u, s in statuses(wh.run_results()).items() if s == "fail"]
    print("failed:", failed)
    assert any("value_between_movies_rating" in u for u in failed)
    # The runner publishes only after a passing build; the published marts did not move...
    after = {name: wh.table(f"marts.{name}") for name in MARTS}
    assert after == before
    # ...while the audit schema holds the rejected data.
    rejected = wh.query("select rating from marts_audit.movies where tconst = 'tt0000010'")
    assert rejected == [(Decimal("11.0"),)]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_duckdb_publishes_each_mart_without_copying_it(wh: Warehouse) -> None:
    """The publish renames each audited table to marts_audit.<mart>__published and points a view
    in both schemas at it: one stored table per mart. The incremental rating history is copied:
    its next run adds to its own table in the audit schema."""
    copied = {"fct_title_ratings"}
    stored = set(wh.query(
        "select schema_name, table_name from duckdb_tables() where schema_name in ('marts', 'marts_audit')"
    ))
    views = {(schema, name): sql for schema, name, sql in wh.query(
        "select schema_name, view_name, sql from duckdb_views() where schema_name in ('marts', 'marts_audit')"
    )}
    renamed = set(MARTS) - copied
    assert stored == ({("marts_audit", f"{mart}__published") for mart in renamed}
                      | {(schema, mart) for mart in copied for schema in ("marts", "marts_audit")})
    for mart in renamed:
        for schema in ("marts", "marts_audit"):
            assert f"marts_audit.{mart}__published;" in views[(schema, mart)].replace('"', ""), (schema, mart)
        assert wh.table(f"marts.{mart}") == wh.table(f'marts_audit."{mart}__published"')
    print(f"\n{len(renamed)} marts published by rename, {len(copied)} copied; {len(stored)} tables stored")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_docs_describe_the_published_marts(wh: Warehouse) -> None:
    """The site `make docs` serves: every mart at marts.<name>, its catalogue read there, lineage
    down to the exposures, every model and column described. Nothing is built."""
    from imdb_elt import docs

    settings = Settings(duckdb_path=str(wh.duckdb_path), dbt_target="duckdb", raw_schema="raw")
    before = wh.table("marts.movies"), wh.query("select count(*) from duckdb_tables()")
    target = wh.root / "docs_target"
    started = time.perf_counter()
    assert docs.generate(settings, str(target)).ok
    print(f"docs generate: {time.perf_counter() - started:.1f}s")
    assert (wh.table("marts.movies"), wh.query("select count(*) from duckdb_tables()")) == before
    catalog = json.loads((target / "catalog.json").read_text())
    manifest = json.loads((target / "manifest.json").read_text())
    for mart in MARTS:
        uid = f"model.imdb_elt.{mart}"
        assert manifest["nodes"][uid]["relation_name"] == f'"imdb"."marts"."{mart}"'
        assert catalog["nodes"][uid]["metadata"]["schema"] == "marts"
        # Lineage reaches the exposures: the DAG depends on every mart.
        assert "exposure.imdb_elt.imdb_elt_hourly" in manifest["child_map"][uid]
    assert {"exposure.imdb_elt.imdb_elt_hourly", "exposure.imdb_elt.movie_analytics_report"} <= set(
        manifest["exposures"]
    )
    # Every model, and every column the warehouse reports for it, is described.
    undocumented = []
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] != "model" or node["package_name"] != "imdb_elt":
            continue
        if not node["description"]:
            undocumented.append(node["name"])
        described = {name.lower() for name, col in node["columns"].items() if col["description"]}
        actual = {name.lower() for name in catalog["nodes"][uid]["columns"]}
        undocumented += [f"{node['name']}.{name}" for name in sorted(actual - described)]
    assert undocumented == []


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_an_analysts_build_uses_their_own_file_and_defers_to_the_published_marts(
    wh: Warehouse, tmp_path: Path
) -> None:
    """`cd dbt_project && dbt build`, no flags and no IMDB_ENV, builds the person's own DuckDB
    file from the lake's current snapshot while this test holds the production file's write
    lock. From the repository root a slice defers to the published marts."""
    settings = Settings(lake_dir=str(wh.lake_dir), duckdb_path=str(wh.duckdb_path))
    # The lake as the pipeline leaves it after publishing S1.
    datasets = {name: {"path": layout.dataset_dir(str(wh.lake_dir), S1, name), "rows": rows}
                for name, rows in BASE_VARS["expected_rows"].items()}
    lake.write_manifest(settings, {"snapshot_id": S1, "datasets": datasets})
    lake.set_current(settings, S1)
    build_state.remember_published(settings, json.loads((wh.root / "build_manifest.json").read_text()))
    home = tmp_path / "home"
    env = {k: v for k, v in wh.env.items() if k not in ("IMDB_ENV", "DBT_PROFILES_DIR", "IMDB_DEV_SCHEMA",
                                                         "IMDB_DEV_DUCKDB_PATH")}
    env.update(HOME=str(home), USER="Ann.Lyst", IMDB_LAKE_DIR=str(wh.lake_dir),
               DBT_TARGET_PATH=str(tmp_path / "target"), DBT_LOG_PATH=str(tmp_path / "logs"))

    def dbt(*args: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
        started = time.perf_counter()
        proc = subprocess.run([DBT, *args], env={**env, **extra}, cwd=cwd, capture_output=True, text=True,
                              timeout=500)
        seconds = time.perf_counter() - started
        print(f"(cd {cwd.name}) dbt {' '.join(args)}: rc={proc.returncode} in {seconds:.1f}s")
        assert proc.returncode == 0, proc.stdout[-4000:]
        return proc

    with duckdb.connect(str(wh.duckdb_path)) as production:  # the pipeline's writer, all along
        dbt("build", "--vars", json.dumps(BASE_VARS), cwd=DBT_PROJECT_DIR)
        marts = {m: sorted(production.execute(f"select * from marts.{m}").fetchall(), key=repr)
                 for m in MARTS}
    own = home / ".imdb_elt" / "imdb_dev.duckdb"
    with duckdb.connect(str(own), read_only=True) as con:
        schemas = {s for (s,) in con.execute("select distinct table_schema from information_schema.tables")
                   .fetchall()}
        assert schemas == {"raw", "ops", "dbt_ann_lyst_staging", "dbt_ann_lyst_intermediate",
                           "dbt_ann_lyst_marts", "dbt_ann_lyst_ops"}
        for mart in MARTS:
            assert sorted(con.execute(f"select * from dbt_ann_lyst_marts.{mart}").fetchall(), key=repr) == \
                marts[mart], mart

    # A slice from the repository root: its parent `movies` is production's published mart.
    state = build_state.published_state_dir(settings)
    slice_file = tmp_path / "slice.duckdb"
    dbt("build", "--project-dir", "dbt_project", "--select", "top_ten_movies_by_year", "--defer", "--state",
        state, "--vars", json.dumps(BASE_VARS), cwd=REPO_ROOT, IMDB_DEV_DUCKDB_PATH=str(slice_file))
    compiled = (tmp_path / "target/compiled/imdb_elt/models/marts/top_ten_movies_by_year.sql").read_text()
    assert '"imdb"."marts"."movies"' in compiled
    with duckdb.connect(str(slice_file), read_only=True) as con:
        # Besides its sources (raw.*, the empty ops.* tables), only the slice was built.
        tables = con.execute("select table_schema, table_name from information_schema.tables"
                             " where table_schema not in ('raw', 'ops')").fetchall()
        assert tables == [("dbt_ann_lyst_marts", "top_ten_movies_by_year")]
        built = con.execute("select * from dbt_ann_lyst_marts.top_ten_movies_by_year").fetchall()
        assert sorted(built, key=repr) == marts["top_ten_movies_by_year"]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_stale_sources_are_a_warning_in_the_run_report(wh: Warehouse) -> None:
    """The fixture snapshot was loaded on 2026-01-01: every source is long past its error age.
    `pipeline.check_freshness` records each age, the summary warns, the run does not fail."""
    from imdb_elt import pipeline, report

    manifest = {"datasets": {name: {"rows": n} for name, n in BASE_VARS["expected_rows"].items()}}
    plan = pipeline.Plan("r1", "cli", "2026-01-01T00:00:00+00:00", "raw", "lake", "duckdb", manifest=manifest)
    settings = Settings(duckdb_path=str(wh.duckdb_path), dbt_target="duckdb", raw_schema="raw",
                        dbt_target_path=str(wh.root / "runner_target"), log_dir=str(wh.root / "logs"))
    started = time.perf_counter()
    pipeline.check_freshness(settings, plan)
    print(f"dbt source freshness: {time.perf_counter() - started:.1f}s")
    assert plan.active
    loaded = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    expected_age = (dt.datetime.now(dt.UTC) - loaded).total_seconds() / 3600
    sources = {f"imdb.{d}" for d in BASE_VARS["expected_rows"] if d != "movie_metadata"}
    assert set(plan.freshness) == sources | {"kaggle.movie_metadata"}
    for name, fresh in plan.freshness.items():
        assert fresh["status"] == "error", name  # past error_after: still only a warning in the run
        assert (fresh["warn_after_hours"], fresh["error_after_hours"]) == (26, 50)
        assert abs(fresh["age_hours"] - expected_age) < 1, name
    summary = report.format_summary({**plan.to_dict(), "status": "success"})
    print(summary)
    assert "status: SUCCESS" in summary
    assert summary.count("WARNING stale source") == 8
    assert re.search(r"imdb\.title_basics [\d,]+\.\d", summary)


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_incremental_history_and_full_refresh(wh: Warehouse) -> None:
    history = "marts_audit.fct_title_ratings"
    first = wh.table(history)
    assert len(first) == len(base_rows()["title_ratings"])

    # No new snapshot: nothing is added.
    wh.dbt("run", "--select", "fct_title_ratings", check=True)
    assert wh.table(history) == first

    # A new snapshot where one title's votes changed and one title is new: two rows added.
    rows = rows_copy()
    rows["title_ratings"][0]["numVotes"] = 6000
    rows["title_ratings"].append({"tconst": "tt0000005", "averageRating": None, "numVotes": 7})
    wh.stage(write_snapshot(wh.lake_dir, S2, rows))
    wh.dbt("run", "--select", "fct_title_ratings", check=True)
    second = wh.table(history)
    added = sorted(set(second) - set(first), key=repr)
    assert [(r[0], r[1], r[3]) for r in added] == [("tt0000001", S2, 6000), ("tt0000005", S2, 7)]
    assert set(first) <= set(second)

    # Running again on the same snapshot adds nothing.
    wh.dbt("run", "--select", "fct_title_ratings", check=True)
    assert wh.table(history) == second

    # --full-refresh is refused by default: on this two-snapshot history a rebuild from the
    # current snapshot would lose tt0000001's snapshot-1 row.
    latest_sql = (
        "select tconst, average_rating, num_votes from ("
        " select *, row_number() over (partition by tconst order by snapshot_id desc) as rn"
        f" from {history}) where rn = 1"
    )
    latest = sorted(wh.query(latest_sql), key=repr)
    assert len(latest) < len(second), "the history must hold rows a refresh would lose"
    wh.dbt("run", "--select", "fct_title_ratings", "--full-refresh", check=True)
    assert wh.table(history) == second

    # When allowed, the rebuilt table equals the latest state per title of the history...
    # (The same vars are kept for the rest of the test: one re-parse only.)
    rebuild_vars = {**BASE_VARS, "allow_rating_history_rebuild": True}
    wh.dbt("run", "--select", "fct_title_ratings", "--full-refresh", dbt_vars=rebuild_vars, check=True)
    rebuilt = sorted(wh.query(f"select tconst, average_rating, num_votes from {history}"), key=repr)
    assert rebuilt == latest

    # ...and on a single snapshot it equals the incremental result exactly.
    wh.restore_pristine()
    wh.dbt("run", "--select", "fct_title_ratings", "--full-refresh", dbt_vars=rebuild_vars, check=True)
    assert wh.table(history) == first


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_reconciliation_fails_on_row_count_mismatch(wh: Warehouse) -> None:
    wrong = {**BASE_VARS, "expected_rows": {**BASE_VARS["expected_rows"], "title_basics": 999}}
    proc = wh.dbt("test", "--select", "reconcile_staged_rows", dbt_vars=wrong)
    assert proc.returncode != 0
    assert statuses(wh.run_results())["test.imdb_elt.reconcile_staged_rows"] == "fail"


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("title_basics_rows, verdict", [(None, "pass"), (999, "fail")])
def test_reconciliation_reads_the_local_runners_env_var(
    wh: Warehouse, title_basics_rows: int | None, verdict: str
) -> None:
    """The local runner passes the figures in IMDB_EXPECTED_ROWS, not as a var (see pipeline.dbt_run_env)."""
    expected = dict(BASE_VARS["expected_rows"])
    if title_basics_rows is not None:
        expected["title_basics"] = title_basics_rows
    other_vars = {k: v for k, v in BASE_VARS.items() if k != "expected_rows"}
    env = {**wh.env, "IMDB_EXPECTED_ROWS": json.dumps(expected)}
    run_dbt(["test", "--select", "reconcile_staged_rows", "--vars", json.dumps(other_vars)], env,
            target_path=wh.root / "target")  # fmt: skip
    assert statuses(wh.run_results())["test.imdb_elt.reconcile_staged_rows"] == verdict


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("environment, verdict", [("", "warn"), ("prod", "fail")])
def test_reconciliation_without_figures_fails_a_production_build(
    wh: Warehouse, environment: str, verdict: str
) -> None:
    """No figures: an analyst's build warns, a production build (IMDB_ENV=prod) fails."""
    other_vars = {k: v for k, v in BASE_VARS.items() if k != "expected_rows"}
    env = {k: v for k, v in wh.env.items() if k not in ("IMDB_EXPECTED_ROWS", "IMDB_ENV")}
    if environment:
        env["IMDB_ENV"] = environment
    else:  # an analyst's build: their own file, fed from the fixture's lake
        env.update(IMDB_DEV_DUCKDB_PATH=str(wh.root / "dev.duckdb"), IMDB_LAKE_DIR=str(wh.lake_dir))
    proc = run_dbt(["test", "--select", "reconcile_staged_rows", "--vars", json.dumps(other_vars)], env,
                   target_path=wh.root / "target")  # fmt: skip
    assert statuses(wh.run_results())["test.imdb_elt.reconcile_staged_rows"] == verdict
    assert (proc.returncode != 0) == (verdict == "fail")


@pytest.mark.slow
@pytest.mark.timeout(400)
@pytest.mark.parametrize("hand_over", ["intact", "broken"])
def test_runner_build_fails_when_the_figures_hand_over_breaks(
    wh: Warehouse, hand_over: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner's own dbt call (IMDB_ENV=prod): without the figures the build fails."""
    from imdb_elt import pipeline
    from imdb_elt.dbt_runner import run_dbt as runner_dbt

    if hand_over == "broken":
        monkeypatch.setattr(pipeline, "dbt_run_env", lambda plan: {})
    manifest = {"datasets": {name: {"rows": n} for name, n in BASE_VARS["expected_rows"].items()}}
    plan = pipeline.Plan("r1", "cli", "2026-01-01T00:00:00+00:00", "raw", "lake", "duckdb", manifest=manifest)
    settings = Settings(duckdb_path=str(wh.duckdb_path), dbt_target="duckdb", raw_schema="raw",
                        dbt_target_path=str(wh.root / "runner_target"))  # fmt: skip
    outcome = runner_dbt(settings, ["test", "--select", "reconcile_staged_rows"],
                         extra_env=pipeline.dbt_run_env(plan), log_path=str(wh.root / "runner_logs"),
                         echo=lambda _: None)  # fmt: skip
    print(hand_over, outcome.failures)
    assert outcome.ok == (hand_over == "intact")
    if hand_over == "broken":
        assert any("reconcile_staged_rows" in f for f in outcome.failures)


def _error_test(uid: str, name: str, model: str, column: str, **kwargs: Any) -> tuple[str, dict]:
    node = f"model.imdb_elt.{model}"
    return f"test.imdb_elt.{uid}", {
        "resource_type": "test", "package_name": "imdb_elt", "name": uid,
        "config": {"severity": "ERROR"}, "attached_node": node, "depends_on": {"nodes": [node]},
        "test_metadata": {"name": name, "kwargs": {"column_name": column, **kwargs}},
    }  # fmt: skip


@pytest.fixture(scope="module")
def traced(built: Warehouse) -> tuple[dict[str, Any], Lineage]:
    """The build's manifest and the column lineage of its models (computed once, cached)."""
    manifest = json.loads((built.root / "build_manifest.json").read_text())
    return manifest, Lineage(manifest)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_no_error_test_can_fail_on_a_row_the_cleaning_rules_accept(traced) -> None:
    """Every error-severity test and not_null constraint, traced to its raw columns, against
    the catalogue's rules (tests/dbt/catalog_rules.py)."""
    manifest, trace = traced
    started = time.perf_counter()
    findings = check_manifest(manifest, trace)
    checked = sum(1 for n in manifest["nodes"].values() if n["resource_type"] == "test")
    print(f"{checked} tests checked against the catalogue in {time.perf_counter() - started:.1f}s")
    assert [str(f) for f in findings] == []


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_catalogue_check_flags_rules_restated_differently(traced) -> None:
    manifest, trace = copy.deepcopy(traced[0]), traced[1]
    planted = dict([
        # The old year range: fails the build on a person born in 525.
        _error_test("born_1870", "value_between", "dim_people", "birth_year", min_value=1870, max_value=2100),
        # A rule restated differently: ratings are 0..10 in the catalogue.
        _error_test("rating_1_10", "value_between", "movies", "rating", min_value=1, max_value=10),
        # A new IMDb title type would block publication.
        _error_test("title_types", "accepted_values", "dim_titles", "title_type", values=["movie"]),
        # A year may be null in an accepted row.
        _error_test("year_known", "not_null", "movies", "year"),
        # Ranks are the model's own: not flagged.
        _error_test("decade_rank_known", "not_null", "movies_of_the_decade", "decade_rank"),
    ])  # fmt: skip
    manifest["nodes"].update(planted)
    flagged = {f.test.rsplit(".", 1)[-1] for f in check_manifest(manifest, trace)}
    assert flagged == {"born_1870", "rating_1_10", "title_types", "year_known"}
