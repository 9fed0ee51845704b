"""Checks 1, 2, 11, 13: reruns change nothing, re-deliveries are no-ops, runs do not overlap,
late files are picked up.

- Rerun (`run --rebuild`) on the same snapshot: every published mart identical, checksum by
  checksum, lineage columns included; and a fresh lake fed the same files (in two deliveries:
  seven files, then the late eighth) ends with the same marts as the baseline, lineage columns
  (snapshot id, load time) aside.
- While the rebuild holds the run lock, a second run with IMDB_LOCK_WAIT_SECONDS=0 is refused
  with a clear message. A new title.ratings arrives after the rebuild has made its plan, and a
  third run waits for the lock, then cleans, stages, builds and publishes it: the waiting run
  really opens the warehouse after the first one, and the DuckDB file answers afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from devtools import sample
from imdb_elt.config import REPO_ROOT
from tests.reliability.conftest import SCALE, SEED
from tests.reliability.helpers import (
    LINEAGE_COLUMNS,
    RunOutput,
    Site,
    clone,
    describe_sums,
    excerpt,
    query,
    run_cli,
    table_checksums,
    tables,
)

pytestmark = [pytest.mark.slow]

LATE_FILE = "movie_metadata.csv"
RATINGS = "title.ratings.tsv.gz"


def _start(site: Site, *args: str, **env: str) -> tuple[subprocess.Popen, float]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "imdb_elt", "run", *args],
        env=site.env(**env), cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    return proc, time.perf_counter()


def _finish(proc: subprocess.Popen, started: float, timeout: int = 1500) -> RunOutput:
    out, _ = proc.communicate(timeout=timeout)
    return RunOutput(proc.returncode, out, time.perf_counter() - started)


def _wait_for_planned_run(site: Site, proc: subprocess.Popen, timeout: float = 600) -> None:
    """Wait until ``proc`` holds the run lease and has made its plan.

    The lease (state/run.lock.json) names the process that took it; the run renews it as soon
    as its plan is made (pipeline.run_once), so a heartbeat after the acquisition means that a
    file delivered from now on is not in this run's plan.
    """
    lease_file = site.lake / "state" / "run.lock.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            lease = json.loads(lease_file.read_text())
        except (FileNotFoundError, ValueError):  # not taken yet, or being replaced
            lease = {}
        if lease.get("pid") == proc.pid and lease["heartbeat_at"] > lease["acquired_at"]:
            return
        if proc.poll() is not None:
            raise AssertionError(f"run {proc.pid} ended before it was seen holding the lock")
        time.sleep(0.1)
    raise AssertionError(f"run {proc.pid} never took the lock")


#: The waiting run: the real engine (what `python -m imdb_elt run` calls), which first copies the
#: DuckDB file as the run before it left it, so that the rebuild's marts can be compared after
#: this run has published its own delivery.
WAITER = """
import shutil, sys
from pathlib import Path
from imdb_elt import config, pipeline

def copy_first(step):
    def first_step(settings, plan):
        for suffix in ("", ".wal"):
            if Path(settings.duckdb_path + suffix).exists():
                shutil.copy(settings.duckdb_path + suffix, sys.argv[1] + suffix)
        step(settings, plan)
    return first_step

pipeline.STEPS = (copy_first(pipeline.STEPS[0]), *pipeline.STEPS[1:])
plan = pipeline.run_once(config.load())
sys.exit(0 if plan.status in (pipeline.SUCCESS, pipeline.NOTHING_NEW) else 1)
"""


@pytest.fixture(scope="module")
def rebuild_with_contenders(baseline, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("rebuild")
    site = clone(baseline["site"], root / "site")
    later = root / "later"
    sample.generate(later, scale=SCALE, seed=SEED, snapshot=1, changed_fraction=0.5, inputs=[RATINGS])
    after_rebuild = root / "after_rebuild.duckdb"
    holder, started = _start(site, "--rebuild")
    _wait_for_planned_run(site, holder)
    shutil.copy(later / RATINGS, site.raw / RATINGS)  # new content, not in the rebuild's plan
    refused = run_cli(site, timeout=300, IMDB_LOCK_WAIT_SECONDS="0")
    waiter = subprocess.Popen(
        [sys.executable, "-c", WAITER, str(after_rebuild)], env=site.env(IMDB_LOCK_WAIT_SECONDS="1500"),
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    waiter_started = time.perf_counter()
    overlapped = holder.poll() is None  # the waiting run really started while the first one ran
    first = _finish(holder, started)
    waited = _finish(waiter, waiter_started)
    reports = {p.stem: site.report(p.stem) for p in (site.lake / "reports").glob("2*.json")}
    print(f"\nrebuild: exit {first.code} in {first.seconds:.1f} s; refused run: exit {refused.code} "
          f"in {refused.seconds:.1f} s; waiting run with a new {RATINGS}: exit {waited.code} after "
          f"{waited.seconds:.1f} s")
    return {"site": site, "first": first, "refused": refused, "waited": waited, "reports": reports,
            "overlapped": overlapped, "after_rebuild": after_rebuild}


@pytest.mark.timeout(2400)
def test_rebuild_of_the_same_snapshot_gives_identical_marts(baseline, rebuild_with_contenders):
    run = rebuild_with_contenders["first"]
    assert run.code == 0, excerpt(run.out)
    rebuilds = [r for r in rebuild_with_contenders["reports"].values() if r["rebuild"]]
    assert len(rebuilds) == 1 and rebuilds[0]["status"] == "success", rebuilds
    assert rebuilds[0]["new_deliveries"] == [] and rebuilds[0]["dbt"]["selected"] == "all"
    # The marts as the rebuild left them (copied by the waiting run before it touched anything).
    after = table_checksums(rebuild_with_contenders["after_rebuild"])
    print(f"rerun: {len(after)} marts identical: {describe_sums(after)}")
    assert after == baseline["marts"]
    assert len(after) >= 12
    # Nothing duplicated: the rating history gained no row from a rebuild of the same snapshot.
    assert after["fct_title_ratings"][0] == baseline["marts"]["fct_title_ratings"][0]


@pytest.mark.timeout(2400)
def test_second_run_is_refused_while_the_first_holds_the_lock(rebuild_with_contenders):
    refused = rebuild_with_contenders["refused"]
    assert refused.code != 0
    assert "another imdb-elt run holds" in refused.out, excerpt(refused.out)
    refusals = [r for r in rebuild_with_contenders["reports"].values() if r["status"] == "refused"]
    assert len(refusals) == 1 and "RunLockedError" in refusals[0]["error"]


@pytest.mark.timeout(2400)
def test_waiting_run_runs_after_the_first_and_the_database_is_intact(baseline, rebuild_with_contenders):
    site, waited = rebuild_with_contenders["site"], rebuild_with_contenders["waited"]
    assert waited.code == 0, excerpt(waited.out)
    assert rebuild_with_contenders["overlapped"], "the first run ended before the waiting run started"
    # It found the delivery that arrived while it waited, and staged, built and published it.
    rep = site.latest_report()
    assert rep["status"] == "success" and rep["new_deliveries"] == [RATINGS], rep.get("error")
    assert rep["snapshot_id"] == site.current() and "title_ratings" in rep["files"]
    assert rep["staged_rows"]["title_ratings"] == rep["files"]["title_ratings"]["rows_written"]
    assert "fct_title_ratings" in rep["published"] and rep["dbt"]["models_ok"] > 0
    # The DuckDB file opens and every relation answers: no torn write from the overlap.
    counts = {t: query(site.db, f'select count(*) from marts."{t}"')[0][0] for t in tables(site.db, "marts")}
    raw = {t: query(site.db, f'select count(*) from raw."{t}"')[0][0] for t in tables(site.db, "raw")}
    print(f"after the overlap: marts {counts}; raw {raw}")
    assert all(n > 0 for n in counts.values()) and len(raw) == 8
    # The new snapshot's changed ratings joined the history.
    assert counts["fct_title_ratings"] > baseline["marts"]["fct_title_ratings"][0]


# ---- check 2: the same file again, or under a second name ------------------------------------


@pytest.mark.timeout(1800)
def test_redelivered_identical_files_are_processed_once(baseline, tmp_path):
    site = clone(baseline["site"], tmp_path)
    ledger, current = site.ledger(), site.current()
    later = time.time() + 3600
    for path in site.raw.iterdir():  # the same content delivered again: new inode, new mtime
        data = path.read_bytes()
        path.unlink()
        path.write_bytes(data)
        os.utime(path, (later, later))
    shutil.copy(site.raw / "title.ratings.tsv.gz", site.raw / "title.ratings (1).tsv.gz")
    run = run_cli(site)
    rep = site.latest_report()
    print(f"\nre-delivery of 8 identical files + 1 copy under a second name: exit {run.code} in "
          f"{run.seconds:.1f} s; status {rep['status']}; already processed {len(rep['already_processed'])}")
    assert run.code == 0, excerpt(run.out)
    assert rep["status"] == "nothing_new" and rep["new_deliveries"] == []
    assert len(rep["already_processed"]) == 8
    assert "already processed (skipped)" in run.out
    assert site.ledger() == ledger and site.current() == current
    assert table_checksums(site.db) == baseline["marts"]


# ---- check 13 (and 1, fresh lake): a late file ------------------------------------------------


@pytest.fixture(scope="module")
def late_arrival(baseline, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("late")
    site = Site(root / "raw", root / "lake", root / "wh" / "imdb.duckdb")
    shutil.copytree(baseline["site"].raw, site.raw, ignore=shutil.ignore_patterns(LATE_FILE))
    first = run_cli(site)
    first_report = site.latest_report()
    shutil.copy(baseline["site"].raw / LATE_FILE, site.raw / LATE_FILE)
    second = run_cli(site)
    print(f"\nlate file: 7-file run exit {first.code} in {first.seconds:.1f} s; "
          f"run after {LATE_FILE} arrived exit {second.code} in {second.seconds:.1f} s")
    return {"site": site, "first": first, "first_report": first_report, "second": second,
            "second_report": site.latest_report()}  # fmt: skip


@pytest.mark.timeout(2400)
def test_late_file_is_picked_up_by_the_next_run(late_arrival):
    first, second = late_arrival["first"], late_arrival["second"]
    assert first.code == 0, excerpt(first.out)
    assert late_arrival["first_report"]["missing_inputs"] == [LATE_FILE]
    assert second.code == 0, excerpt(second.out)
    rep = late_arrival["second_report"]
    assert rep["status"] == "success"
    assert rep["new_deliveries"] == [LATE_FILE] and len(rep["already_processed"]) == 7
    assert list(rep["files"]) == ["movie_metadata"]
    print(f"late file: second run cleaned {rep['files']['movie_metadata']['rows_read']} rows of {LATE_FILE}, "
          f"marts.movies {rep['marts'].get('movies')}")  # fmt: skip
    assert rep["marts"].get("movies", 0) > 0


@pytest.mark.timeout(2400)
def test_fresh_lake_on_the_same_input_gives_the_same_marts(baseline, late_arrival):
    assert late_arrival["second"].code == 0, excerpt(late_arrival["second"].out)
    site = late_arrival["site"]
    ours = table_checksums(site.db, skip_columns=LINEAGE_COLUMNS)
    theirs = table_checksums(baseline["site"].db, skip_columns=LINEAGE_COLUMNS)
    print(f"fresh lake vs baseline (lineage columns aside): {describe_sums(ours)}")
    assert ours == theirs
