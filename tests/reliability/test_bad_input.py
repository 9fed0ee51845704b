"""Checks 5-8: dirty, corrupt, drifted and empty deliveries.

The generated dirty sample, cleaned once per session (the accounting and every injected defect
are checked in tests/spark/test_sample_defects.py), is published here: no mart string may hold
a control character. Two pipeline runs on clones of the baseline receive broken deliveries: one
with deliveries refused at the header check (a column added, renamed, reordered; a header-only
file; a 0-byte file), one with deliveries whose header is fine and whose content is not (a gzip
cut in half, a file above the quarantine threshold). The job checks every header before it cleans anything, so
the two kinds need separate runs. Each run must fail naming every file and its problem, and
publish nothing.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import duckdb
import pytest

from devtools import sample
from imdb_elt import catalog, lake, pipeline
from imdb_elt.config import Settings
from imdb_elt.warehouse import stage_snapshot
from tests.reliability.helpers import clone, excerpt, run_cli, table_checksums

pytestmark = [pytest.mark.slow]

THRESHOLD_FOR_BROKEN_RUN = "0.0001"  # the dirty ratings file (~0.5% defective) must exceed it


# ---- check 5: dirty data --------------------------------------------------------------------
# The job on the generated dirty sample (its accounting, counted from the files, and every
# injected defect with its reason) is checked in tests/spark/test_sample_defects.py on the
# session's one cleaning of that sample (``dirty_snapshot``, tests/fixtures/spark.py). Here: what
# that snapshot becomes once published.

#: A C0 control character or U+FFFD (what invalid UTF-8 decodes to) inside a published string.
BROKEN_TEXT = re.compile("[\x00-\x1f\ufffd]")


@pytest.mark.timeout(1500)
def test_no_mart_string_holds_a_control_character_after_a_dirty_run(dirty_snapshot, tmp_path):
    """The dirty snapshot staged, built and published: no string in any mart (list elements
    included) holds a control character or U+FFFD."""
    db = tmp_path / "wh" / "imdb.duckdb"
    db.parent.mkdir()
    settings = Settings(dbt_target="duckdb", raw_dir=str(dirty_snapshot["raw"]),
                        lake_dir=str(dirty_snapshot["lake"]), duckdb_path=str(db),
                        dbt_target_path=str(tmp_path / "target"), log_dir=str(tmp_path / "logs"))
    stats = {"datasets": dirty_snapshot["stats"]}
    manifest = lake.build_manifest(settings, dirty_snapshot["snapshot"], stats)
    stage_snapshot(settings, {dataset: d["path"] for dataset, d in manifest["datasets"].items()})
    plan = pipeline.Plan("dirty", "cli", "2026-01-01T00:00:00+00:00", str(dirty_snapshot["raw"]),
                         str(dirty_snapshot["lake"]), "duckdb", manifest=manifest)
    pipeline.build(settings, plan)  # raises on a failed build
    assert pipeline.publish_marts(settings, None).ok
    with duckdb.connect(str(db), read_only=True) as con:
        columns = con.execute(
            "select table_name, column_name from information_schema.columns where table_schema = 'marts'"
            " and (data_type like 'VARCHAR%')"
        ).fetchall()
        broken, strings = {}, 0
        for table, column in columns:
            for (value,) in con.execute(f'select "{column}" from marts."{table}"').fetchall():
                for text in value if isinstance(value, list) else [value]:
                    if isinstance(text, str):
                        strings += 1
                        if BROKEN_TEXT.search(text):
                            broken.setdefault(f"{table}.{column}", []).append(text)
    print(f"dirty run published: {len(columns)} string columns, {strings:,} strings, "
          f"{sum(map(len, broken.values()))} with a control character or U+FFFD")
    assert len(columns) > 20 and strings > 1000
    assert not broken, {k: v[:3] for k, v in broken.items()}


# ---- checks 5 (threshold), 6, 7, 8: broken deliveries publish nothing --------------------------


def _rewrite_tsv(path: Path, edit_header) -> None:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        header, *rest = f.read().split("\n")
    with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
        f.write("\n".join([edit_header(header), *rest]))


def _reorder(header: str) -> str:
    cols = header.split("\t")
    cols[1], cols[2] = cols[2], cols[1]
    return "\t".join(cols)


def _failed_run(baseline, root: Path, break_files, **env: str) -> dict:
    site = clone(baseline["site"], root)
    before = {"marts": table_checksums(site.db), "current": site.current(), "ledger": site.ledger(),
              "snapshots": site.snapshots()}  # fmt: skip
    break_files(site.raw, root)
    run = run_cli(site, IMDB_QUARANTINE_THRESHOLD=THRESHOLD_FOR_BROKEN_RUN, **env)
    errors = [line for line in run.out.splitlines() if "clean_imdb" in line or "error" in line.lower()]
    print(f"\nbroken deliveries run: exit {run.code} in {run.seconds:.1f} s")
    print("\n".join(errors)[-3000:])
    return {"site": site, "run": run, "before": before, "report": site.latest_report()}


def _break_headers(raw: Path, _: Path) -> None:
    # 7: a column added, renamed, reordered
    _rewrite_tsv(raw / "title.crew.tsv.gz", lambda h: h + "\tproducers")
    _rewrite_tsv(raw / "title.episode.tsv.gz", lambda h: h.replace("seasonNumber", "season"))
    _rewrite_tsv(raw / "name.basics.tsv.gz", _reorder)
    # 8: a header-only file and an empty (0-byte) file
    with gzip.open(raw / "title.akas.tsv.gz", "wt", encoding="utf-8") as f:
        f.write("\t".join(catalog.TITLE_AKAS.header) + "\n")
    (raw / "movie_metadata.csv").write_bytes(b"")


def _break_contents(raw: Path, root: Path) -> None:
    # 6: a transfer cut in half (the header still reads fine)
    basics = raw / "title.basics.tsv.gz"
    data = basics.read_bytes()
    basics.write_bytes(data[: len(data) // 2])
    # 5: a dirty ratings file above a low threshold
    sample.generate(root / "dirty", scale=0.002, seed=3, dirty=True, inputs=["title.ratings.tsv.gz"])
    (raw / "title.ratings.tsv.gz").write_bytes((root / "dirty" / "title.ratings.tsv.gz").read_bytes())


@pytest.fixture(scope="module")
def header_run(baseline, tmp_path_factory) -> dict:
    """Checks 7 and 8: deliveries refused at the header check, before any heavy work."""
    return _failed_run(baseline, tmp_path_factory.mktemp("bad-headers"), _break_headers)


@pytest.fixture(scope="module")
def content_run(baseline, tmp_path_factory, alert_channels) -> dict:
    """Checks 5 and 6: deliveries whose header is fine and whose content is not (alerts to the
    loopback channels of tests/fixtures/alert_receivers.py)."""
    alert_channels.received.clear()
    root = tmp_path_factory.mktemp("bad-contents")
    run = _failed_run(baseline, root, _break_contents, **alert_channels.env)
    return {**run, "alerts": alert_channels.received.texts()}


@pytest.fixture(params=["header_run", "content_run"])
def failed_run(request) -> dict:
    return request.getfixturevalue(request.param)


@pytest.mark.timeout(1800)
def test_broken_deliveries_fail_the_run_and_publish_nothing(failed_run):
    site, run, before = failed_run["site"], failed_run["run"], failed_run["before"]
    assert run.code != 0, excerpt(run.out)
    assert failed_run["report"]["status"] == "failed"
    assert site.current() == before["current"], "CURRENT moved after a failed run"
    assert site.ledger() == before["ledger"], "a failed run recorded deliveries as processed"
    assert table_checksums(site.db) == before["marts"], "published marts changed after a failed run"
    new = [s for s in site.snapshots() if s not in before["snapshots"]]
    for snap in new:  # a failed snapshot may leave files to inspect, never the success marker
        assert not (site.lake / "processed" / "snapshots" / snap / "_SPARK_DONE").exists()
    print(f"failed run: CURRENT {site.current()} unchanged, ledger {len(site.ledger())} entries unchanged, "
          f"{len(before['marts'])} marts unchanged")  # fmt: skip


@pytest.mark.timeout(1800)
def test_truncated_gzip_is_named(content_run):
    out = content_run["run"].out
    assert "title.basics.tsv.gz: cannot read" in out, excerpt(out)


@pytest.mark.timeout(1800)
def test_quarantine_threshold_fails_the_run(content_run):
    lines = [line for line in content_run["run"].out.splitlines() if "title.ratings.tsv.gz:" in line]
    assert any("threshold" in line for line in lines), excerpt(content_run["run"].out)


@pytest.mark.timeout(1800)
@pytest.mark.parametrize(
    ("file_name", "column"),
    [
        ("title.crew.tsv.gz", "producers"),
        ("title.episode.tsv.gz", "season"),
        ("name.basics.tsv.gz", "primaryName"),
    ],
    ids=["added", "renamed", "reordered"],
)
def test_schema_drift_names_the_file_and_the_column(header_run, file_name, column):
    lines = [line for line in header_run["run"].out.splitlines() if f"{file_name}: header drift" in line]
    assert lines, excerpt(header_run["run"].out)
    assert column in lines[0], lines[0]


@pytest.mark.timeout(1800)
@pytest.mark.parametrize(
    "file_name", ["title.akas.tsv.gz", "movie_metadata.csv"], ids=["header-only", "0-byte"]
)
def test_empty_delivery_is_refused_not_loaded(header_run, file_name):
    assert f"{file_name}: empty delivery" in header_run["run"].out, excerpt(header_run["run"].out)


@pytest.mark.timeout(1800)
def test_one_alert_names_the_tripped_threshold_and_the_refused_file(content_run):
    [told] = content_run["alerts"]
    print(f"alert received:\n{told}")
    assert f"imdb-elt run {content_run['report']['run_id']} failed in clean" in told
    tripped = (r"quarantine threshold tripped: title\.ratings\.tsv\.gz: \d+ of \d+ rows quarantined "
               r"\(ratio [\d.]+ > IMDB_QUARANTINE_THRESHOLD " + re.escape(THRESHOLD_FOR_BROKEN_RUN))
    assert re.search(tripped, told), told
    assert "file refused by the cleaning job: title.basics.tsv.gz: cannot read" in told
    assert "spark.log" in told


@pytest.mark.timeout(1800)
def test_the_run_report_names_the_failed_files(header_run):
    error = header_run["report"].get("error") or ""
    print(f"report error: {error[:300]}")
    assert "title.crew.tsv.gz" in error and "producers" in error, error
