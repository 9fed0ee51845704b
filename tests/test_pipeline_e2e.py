"""The whole pipeline as `make run` runs it: raw files → Spark → Parquet → DuckDB → dbt marts."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from imdb_elt.config import SAMPLE_DIR
from tests.fixtures.sample_site import SampleSite
from tests.lineage_graph import raw_files_behind, raw_files_reaching, read_events
from tests.reliability.helpers import Site, run_cli

pytestmark = [pytest.mark.slow]


def query(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def first_report(lake: Path) -> dict:
    """Reports are named by run id, which sorts by time."""
    return json.loads(sorted((lake / "reports").glob("2*.json"))[0].read_text())


@pytest.fixture(scope="module")
def sample_run(sample_site: SampleSite) -> dict:
    """The session's run on the bundled sample, then its run with nothing new (tests/fixtures)."""
    return {
        "code": sample_site.first.code, "out": sample_site.first.out,
        "lake": sample_site.site.lake, "db": sample_site.site.db,
        "second_code": sample_site.second.code, "second_out": sample_site.second.out,
        "second_report": sample_site.second_report,
    }  # fmt: skip


@pytest.mark.timeout(900)
def test_first_run_succeeds_and_fills_the_marts(sample_run):
    assert sample_run["code"] == 0, sample_run["out"][-4000:]
    assert first_report(sample_run["lake"])["status"] == "success"
    movies = query(sample_run["db"], "select count(*), count(distinct tconst) from marts.movies")[0]
    assert movies[0] > 0 and movies[0] == movies[1]
    # The summary a person reads: per-file accounting, marts and tests.
    assert "title.basics.tsv.gz" in sample_run["out"]
    assert re.search(r"dbt: \d+ models built, tests \d+ passed", sample_run["out"])
    # Source freshness after staging: every source just loaded, none stale.
    freshness = first_report(sample_run["lake"])["freshness"]
    assert len(freshness) == 8 and {f["status"] for f in freshness.values()} == {"pass"}
    assert all(f["age_hours"] < 1 for f in freshness.values())
    assert "sources, hours since _loaded_at: " in sample_run["out"]
    assert "stale source" not in sample_run["out"]


@pytest.mark.timeout(900)
def test_accounting_identity_holds_for_every_file(sample_run):
    first = first_report(sample_run["lake"])
    assert set(first["files"]) == {
        "title_basics", "title_ratings", "title_crew", "title_episode",
        "title_principals", "name_basics", "title_akas", "movie_metadata",
    }
    for dataset, st in first["files"].items():
        accounted = st["rows_written"] + st["rows_deduplicated"] + st["rows_quarantined"]
        assert st["rows_read"] == accounted, dataset
        assert st["rows_written"] > 0, dataset


@pytest.mark.timeout(900)
def test_second_run_with_nothing_new_does_nothing(sample_run):
    assert sample_run["second_code"] == 0, sample_run["second_out"][-3000:]
    assert sample_run["second_report"]["status"] == "nothing_new"
    assert "spark" not in sample_run["second_out"].lower().replace("spark_jobs", "")
    assert "no new deliveries" in sample_run["second_out"]


@pytest.mark.timeout(900)
def test_lineage_events_connect_every_raw_file_to_every_mart_it_feeds(sample_site):
    """With the file transport set, one run's OpenLineage events form one graph, raw file → Spark
    → Parquet → raw.* → staging → ... → audit marts → published marts, and each published mart
    is reached from exactly the raw files dbt's own lineage says it is built from."""
    assert sample_site.first.code == 0, sample_site.first.out[-3000:]
    events = read_events(sample_site.lineage_events)
    runs = [e for e in events if e["job"]["name"] == "imdb_elt.run"]
    assert [e["eventType"] for e in runs] == ["START", "COMPLETE"]  # the nothing-new run emitted nothing
    # Every job run ended well, and every one descends from the command line's run (the Spark
    # driver's too: it ran in its own process).
    ends = {e["run"]["runId"]: e["eventType"] for e in events if e["eventType"] != "START"}
    assert set(ends.values()) == {"COMPLETE"} and len(ends) == len({e["run"]["runId"] for e in events})
    top = runs[0]["run"]["runId"]
    parents = {e["job"]["name"]: e["run"]["facets"].get("parent") for e in events if e["run"]["runId"] != top}
    assert {p["root"]["run"]["runId"] for p in parents.values()} == {top}
    assert parents["imdb_elt.clean"]["run"]["runId"] == top
    assert parents["imdb_elt.clean.title_basics"]["job"]["name"] == "imdb_elt.clean"

    site, report = sample_site.site, sample_site.first_report
    manifest = json.loads((site.dbt_target / "manifest.json").read_text())
    marts = {m: (f"duckdb://{site.db}", f"imdb.marts.{m}") for m in report["published"]}
    assert len(marts) == 13
    raw_files = {("file", str(site.raw / f)): f for f in report["new_deliveries"]}
    assert len(raw_files) == 8
    reached_from = raw_files_reaching(events, raw_files, marts)
    expected = {m: raw_files_behind(manifest, f"model.imdb_elt.{m}") for m in marts}
    assert reached_from == expected
    assert set().union(*reached_from.values()) == set(raw_files.values())

    # The Spark job's outputs carry the job's figures; staging's, the rows staged.
    completed = {e["job"]["name"]: e for e in events if e["eventType"] == "COMPLETE"}
    for dataset, stats in report["files"].items():
        clean = completed[f"imdb_elt.clean.{dataset}"]
        out = next(o for o in clean["outputs"] if "/processed/" in o["name"])
        assert out["outputFacets"]["outputStatistics"]["rowCount"] == stats["rows_written"]
        assert [f["name"] for f in out["facets"]["schema"]["fields"]][-2:] == ["_snapshot_id", "_loaded_at"]
    staged = {name.removeprefix("imdb_elt.stage."): e["outputs"][0]["outputFacets"]["outputStatistics"]
              for name, e in completed.items() if name.startswith("imdb_elt.stage.")}
    assert {dataset: s["rowCount"] for dataset, s in staged.items()} == report["staged_rows"]


@pytest.mark.timeout(900)
def test_kaggle_only_input_gives_one_movie_per_distinct_id(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(SAMPLE_DIR / "movie_metadata.csv", raw / "movie_metadata.csv")
    (raw / "notes.txt").write_text("a stray file: never read, named in the summary")
    with open(raw / "movie_metadata.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    ids = {re.search(r"title/(tt\d{7,})", r["movie_imdb_link"]).group(1) for r in rows}
    budgets = {int(r["budget"]) for r in rows if r["budget"]}

    run = run_cli(Site(raw, tmp_path / "lake", tmp_path / "imdb.duckdb"))
    code, out = run.code, run.out
    assert code == 0, out[-4000:]
    assert "missing from the raw zone" in out and "title.basics.tsv.gz" in out
    assert "  ignored (not a file this product reads): notes.txt" in out.splitlines()
    # The sources never delivered are empty: a warning, not a failure.
    assert "WARNING source imdb.title_basics: empty (never delivered to this lake)" in out

    db = tmp_path / "imdb.duckdb"
    got = query(db, "select tconst from marts.movies")
    assert sorted(t for (t,) in got) == sorted(ids)
    untrimmed = query(
        db,
        "select count(*) from marts.movies "
        "where title <> trim(title, ' ' || chr(160) || chr(9) || chr(10) || chr(13))",
    )[0][0]
    assert untrimmed == 0
    got_budgets = {b for (b,) in query(db, "select budget from marts.movies where budget is not null")}
    assert max(got_budgets) == max(budgets) and max(budgets) > 2**31
    assert got_budgets <= budgets
