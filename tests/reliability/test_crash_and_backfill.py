"""Checks 3, 4, 12: crashes leave readers on the previous snapshot; a backfill equals a fresh load.

One clone of the baseline lives through a sequence of deliveries, because each step starts
from the state the previous one left (that is the point of a recovery test):

a. snapshot 1's title.ratings arrives; the run is SIGKILLed (its whole process group, JVM
   included) while Spark writes: no _SPARK_DONE, CURRENT, ledger and marts unchanged.
b. the next run recovers on its own and publishes snapshot 1.
c. snapshot 0's title.ratings is re-delivered (a backfill); the orchestrator dies (os._exit)
   after staging and the audit build, before publish_marts: published marts stay snapshot 1's.
d. the next run publishes the backfill: every mart except the rating history equals the
   baseline (a fresh load of snapshot 0). fct_title_ratings legitimately differs (it keeps the
   snapshot-1 values as history), but its latest row per title equals the baseline's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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
)

pytestmark = [pytest.mark.slow]

RATINGS = "title.ratings.tsv.gz"
HISTORY_MARTS = ("fct_title_ratings",)  # history of snapshots; its latest rows are compared below

CRASH_BEFORE_PUBLISH = """
import os
from imdb_elt import config, pipeline

def crash(*args, **kwargs):
    print("simulated crash: after staging and the audit build, before publish_marts", flush=True)
    os._exit(70)

pipeline.publish_marts = crash
pipeline.run_once(config.load())
os._exit(0)
"""


def _state(site: Site) -> dict:
    return {"current": site.current(), "ledger": site.ledger(), "marts": table_checksums(site.db),
            "audit": table_checksums(site.db, "marts_audit")}  # fmt: skip


def _kill_during_spark_write(site: Site, known: set[str]) -> dict:
    """Start a run, SIGKILL its process group as soon as Spark has begun writing the snapshot."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "imdb_elt", "run"], env=site.env(), cwd=REPO_ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    started, seen = time.perf_counter(), []
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and proc.poll() is None:
        written = [
            p for root in ("processed/snapshots", "quarantine")
            for d in (site.lake / root).glob("*") if d.name not in known
            for p in d.rglob("*") if p.is_file()
        ]  # fmt: skip
        if written:
            seen = [str(p.relative_to(site.lake)) for p in written]
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    time.sleep(2)
    # Checked now, not at the end of the sequence: later runs legitimately complete snapshots.
    completed = [
        d.name for d in (site.lake / "processed" / "snapshots").glob("*")
        if d.name not in known and (d / "_SPARK_DONE").exists()
    ]  # fmt: skip
    # Spark's files of the killed job (its JVM could not remove them), per run folder.
    scratch = {d.name: sorted(p.name for p in d.iterdir()) for d in site.scratch.iterdir()}
    return {"returncode": proc.returncode, "seen": seen, "seconds": time.perf_counter() - started,
            "survivors": _live_members(proc.pid), "completed": completed, "scratch": scratch}  # fmt: skip


def _live_members(pgid: int) -> list[str]:
    """Processes of a process group still alive; zombies (dead, awaiting their reaper) do not count."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended while we looked
        state, _ppid, pgrp = text.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            alive.append(f"{stat.parent.name} {text.split(')')[0].split('(', 1)[1]} {state}")
    return alive


@pytest.fixture(scope="module")
def sequence(baseline, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("crash")
    site = clone(baseline["site"], root / "site")
    snapshot0 = (site.raw / RATINGS).read_bytes()
    s1 = root / "snapshot1"
    sample.generate(s1, scale=SCALE, seed=SEED, snapshot=1, changed_fraction=0.5, inputs=[RATINGS])
    steps: dict = {"site": site, "start": _state(site)}

    (site.raw / RATINGS).write_bytes((s1 / RATINGS).read_bytes())
    steps["kill"] = _kill_during_spark_write(site, set(site.snapshots()))
    steps["after_kill"] = _state(site)
    print(f"\n(a) SIGKILL after {steps['kill']['seconds']:.1f} s, Spark had written "
          f"{len(steps['kill']['seen'])} file(s): {steps['kill']['seen'][:4]}")

    steps["recover"] = run_cli(site)
    steps["recover_report"] = site.latest_report()
    steps["after_recover"] = _state(site)
    steps["scratch_after_recover"] = sorted(p.name for p in site.scratch.iterdir())
    print(f"(b) recovery run: exit {steps['recover'].code} in {steps['recover'].seconds:.1f} s")

    (site.raw / RATINGS).write_bytes(snapshot0)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CRASH_BEFORE_PUBLISH], env=site.env(), cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=1500)  # fmt: skip
    steps["crash"] = RunOutput(proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - started)
    steps["after_crash"] = _state(site)
    print(f"(c) crash before publish: exit {proc.returncode} in {steps['crash'].seconds:.1f} s")

    steps["backfill"] = run_cli(site)
    steps["backfill_report"] = site.latest_report()
    print(f"(d) backfill run: exit {steps['backfill'].code} in {steps['backfill'].seconds:.1f} s")
    return steps


@pytest.mark.timeout(3600)
def test_kill_during_spark_write_leaves_readers_on_the_previous_snapshot(sequence):
    kill, start, after = sequence["kill"], sequence["start"], sequence["after_kill"]
    assert kill["seen"], "the run ended before Spark wrote anything: the kill came too late to test"
    assert not kill["survivors"], f"processes of the killed run survived: {kill['survivors']}"
    assert kill["completed"] == [], "a killed run left a snapshot marked complete"
    assert after["current"] == start["current"] and after["ledger"] == start["ledger"]
    assert after["marts"] == start["marts"]
    print(f"after the kill: CURRENT {after['current']} unchanged, {len(after['marts'])} marts unchanged")
    # The killed JVM's shuffle and temporary folders are in the run's own scratch folder.
    [(folder, files)] = kill["scratch"].items()
    run_id, pid = folder.rsplit(".", 1)
    assert pid.isdigit() and all(f"/{run_id}/" in path for path in kill["seen"]), (folder, kill["seen"])
    assert any(f.startswith("blockmgr-") for f in files), files
    print(f"killed run's Spark scratch: {folder}: {files}")


@pytest.mark.timeout(3600)
def test_next_run_after_a_kill_recovers(sequence):
    run, rep = sequence["recover"], sequence["recover_report"]
    assert run.code == 0, excerpt(run.out)
    assert rep["status"] == "success" and rep["new_deliveries"] == [RATINGS]
    after, start = sequence["after_recover"], sequence["start"]
    assert after["current"] == rep["snapshot_id"] != start["current"]
    assert after["marts"]["fct_title_ratings"][0] > start["marts"]["fct_title_ratings"][0]
    # The killed run's scratch went at the start of this run; this run's own when its job ended.
    [killed] = sequence["kill"]["scratch"]
    assert "removed the Spark scratch of 1 killed run(s)" in run.out and killed in run.out
    assert sequence["scratch_after_recover"] == []
    print(f"recovered: snapshot {rep['snapshot_id']}, rating history "
          f"{start['marts']['fct_title_ratings'][0]} -> {after['marts']['fct_title_ratings'][0]} rows")


@pytest.mark.timeout(3600)
def test_crash_after_staging_before_publish_leaves_marts_unchanged(sequence):
    crash, before, after = sequence["crash"], sequence["after_recover"], sequence["after_crash"]
    assert crash.code == 70, excerpt(crash.out)
    assert "simulated crash" in crash.out
    # The crash really came after the audit build: the audit schema holds the new build.
    assert after["audit"] != before["audit"], "the audit build did not run before the crash"
    assert after["marts"] == before["marts"]
    assert after["current"] == before["current"] and after["ledger"] == before["ledger"]
    print(f"crash before publish: audit rebuilt, {len(after['marts'])} published marts unchanged, "
          f"CURRENT {after['current']} unchanged")


@pytest.mark.timeout(3600)
def test_backfill_of_an_older_snapshot_equals_a_fresh_load(baseline, sequence):
    run, rep = sequence["backfill"], sequence["backfill_report"]
    assert run.code == 0, excerpt(run.out)
    assert rep["status"] == "success" and rep["new_deliveries"] == [RATINGS]
    db: Path = sequence["site"].db
    ours = table_checksums(db, skip_columns=LINEAGE_COLUMNS, skip_tables=HISTORY_MARTS)
    fresh = table_checksums(baseline["site"].db, skip_columns=LINEAGE_COLUMNS, skip_tables=HISTORY_MARTS)
    print(f"backfill vs fresh load of snapshot 0 (rating history aside): {describe_sums(ours)}")
    assert ours == fresh
    latest = (
        "select tconst, average_rating, num_votes from (select *, row_number() over "
        "(partition by tconst order by snapshot_id desc) as r from marts.fct_title_ratings) where r = 1 "
        "order by tconst"
    )
    assert query(db, latest) == query(baseline["site"].db, latest)
    history = query(db, "select count(*), count(distinct snapshot_id) from marts.fct_title_ratings")[0]
    print(f"rating history after the backfill: {history[0]} rows over {history[1]} snapshots "
          f"(fresh load: {baseline['marts']['fct_title_ratings'][0]} rows); latest values equal")
