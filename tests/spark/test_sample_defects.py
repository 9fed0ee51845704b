"""The generator's dirty sample: every injected defect gets exactly the reason it was injected with."""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from devtools.sample_defects import CUT_FILES, HISTORICAL_YEARS, NO_FINAL_NEWLINE_FILES
from devtools.sample_defects import REASONS as INJECTED_REASONS
from imdb_elt.catalog import BY_FILE_NAME, RawInput
from imdb_elt.config import REPO_ROOT
from spark_jobs.clean_imdb import DONE_MARKER
from tests.spark.reference_cleaner import clean as reference_clean
from tests.spark.reference_cleaner import except_all

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def dirty_run(dirty_snapshot: dict) -> dict:
    """The session's one cleaning of the dirty sample (tests/fixtures/spark.py), snapshot D1."""
    assert dirty_snapshot["snapshot"] == "D1"
    return dirty_snapshot


@pytest.mark.timeout(300)
def test_every_injected_defect_is_caught(dirty_run: dict) -> None:
    lake, sidecar, stats = (dirty_run[k] for k in ("lake", "sidecar", "stats"))
    injected_kinds = {d["reason"] for info in sidecar["files"].values() for d in info["defects"]}
    assert injected_kinds == set(INJECTED_REASONS)  # the smaller scale still covers every kind
    assert len(stats) == 8
    for file_name, info in sidecar["files"].items():
        dataset = BY_FILE_NAME[file_name].dataset
        s = stats[dataset]
        assert s["rows_read"] == info["data_lines"], file_name
        quarantine = pq.read_table(lake / "quarantine" / "D1" / dataset).to_pylist()
        got = {q["line_number"]: q["reason"] for q in quarantine}
        injected = {d["line_number"]: d["reason"] for d in info["defects"]}
        for line, reason in injected.items():
            if reason == "exact_duplicate":  # dropped and counted, not quarantined
                assert line not in got, (file_name, line)
            else:
                assert got.get(line) == reason, (file_name, line, reason, got.get(line))
        # Anything else quarantined must be one side of a legitimate conflicting copy.
        conflicts = {
            line
            for d in info["legitimate_duplicates"]
            if d["kind"] == "conflicting_copy"
            for line in (d["line_number"], d["first_line_number"])
        }
        extra = {line: r for line, r in got.items() if line not in injected}
        assert all(r == "duplicate_key" and line in conflicts for line, r in extra.items()), (
            file_name,
            extra,
        )
        exact = sum(1 for r in injected.values() if r == "exact_duplicate")
        legit_exact = sum(1 for d in info["legitimate_duplicates"] if d["kind"] == "exact_copy")
        assert s["rows_deduplicated"] == exact + legit_exact, file_name
        # A last line without a final newline is checked like any other: written when valid.
        assert s["ends_with_newline"] is (file_name not in (*NO_FINAL_NEWLINE_FILES, *CUT_FILES)), file_name
        if file_name in NO_FINAL_NEWLINE_FILES:
            assert s["last_line"] == {"line_number": info["data_lines"] + 1, "written": True, "reason": None}
        if file_name in CUT_FILES:
            assert s["last_line"]["reason"] == "field_count" and s["last_line"]["written"] is False
    snap = lake / "processed" / "snapshots" / "D1"
    assert (snap / DONE_MARKER).exists()
    assert_no_broken_text(snap)
    # Historical years are data: typed and kept.
    people = pq.read_table(snap / "name_basics", columns=["birthYear", "deathYear"]).to_pylist()
    kept = {(p["birthYear"], p["deathYear"]) for p in people}
    (_, _), historical = HISTORICAL_YEARS["name.basics.tsv.gz"]
    for birth, death in historical:
        assert (None if birth == "\\N" else int(birth), int(death)) in kept


def _raw_data_lines(path: Path) -> int:
    """Data lines of a raw file, counted here: lines after the header, a final partial one too."""
    data = path.read_bytes()
    data = gzip.decompress(data) if path.name.endswith(".gz") else data
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1) - 1


def _rows(folder: Path) -> int:
    return sum(pq.ParquetFile(f).metadata.num_rows for f in folder.glob("*.parquet"))


@pytest.mark.timeout(300)
def test_accounting_identity_from_independent_counts(dirty_run: dict) -> None:
    """read = written + deduplicated + quarantined, every term counted on its own here.

    Read: the raw file's lines. Written, quarantined, deduplicated: the Parquet files' footers
    (processed, quarantine, dedup record). The stats must say the same.
    """
    lake = dirty_run["lake"]
    for dataset, s in dirty_run["stats"].items():
        read = _raw_data_lines(dirty_run["raw"] / s["source_file"])
        written = _rows(lake / "processed" / "snapshots" / "D1" / dataset)
        quarantined = _rows(lake / "quarantine" / "D1" / dataset)
        deduplicated = _rows(lake / "quarantine" / "D1" / "_deduplicated" / dataset)
        print(f"{dataset:<17} read {read:>7} = written {written:>7} + dedup {deduplicated:>3} "
              f"+ quarantined {quarantined:>3}")  # fmt: skip
        assert read == written + deduplicated + quarantined, dataset
        assert (s["rows_read"], s["rows_written"], s["rows_deduplicated"], s["rows_quarantined"]) == (
            read, written, deduplicated, quarantined,
        ), dataset  # fmt: skip


def _job_output(lake: Path, raw: RawInput) -> tuple[list, list, list]:
    snap = lake / "processed" / "snapshots" / "D1" / raw.dataset
    rows = pq.read_table(snap, columns=list(raw.column_names)).to_pylist()
    processed = [tuple(tuple(v) if isinstance(v, list) else v for v in r.values()) for r in rows]
    quarantine = [
        (q["line_number"], q["reason"], q["raw_line"])
        for q in pq.read_table(lake / "quarantine" / "D1" / raw.dataset).to_pylist()
    ]
    dedup = [
        (d["line_number"], d["first_line_number"])
        for d in pq.read_table(lake / "quarantine" / "D1" / "_deduplicated" / raw.dataset).to_pylist()
    ]
    return processed, quarantine, dedup


@pytest.mark.timeout(300)
def test_output_equals_the_reference_cleaner(dirty_run: dict) -> None:
    """Processed rows, quarantine (line, reason, bytes) and dedup record equal an independent
    line-by-line cleaner's, EXCEPT ALL both ways: a change to the job's output fails here."""
    differences = {}
    for file_name in dirty_run["sidecar"]["files"]:
        raw = BY_FILE_NAME[file_name]
        expected = reference_clean(dirty_run["raw"] / file_name, raw)
        got = _job_output(dirty_run["lake"], raw)
        want = (expected.processed, expected.quarantine, expected.deduplicated)
        for part, g, w in zip(("processed", "quarantine", "deduplicated"), got, want, strict=True):
            extra, missing = except_all(g, w)
            print(f"{file_name:<24} {part:<12} job {len(g):>7} reference {len(w):>7} "
                  f"job-ref {sum(extra.values())} ref-job {sum(missing.values())}")  # fmt: skip
            if extra or missing:
                differences[(file_name, part)] = (list(extra)[:3], list(missing)[:3])
        assert dirty_run["stats"][raw.dataset]["rows_read"] == expected.rows_read
        assert dirty_run["stats"][raw.dataset]["ends_with_newline"] is expected.ends_with_newline
    assert not differences, differences


def test_except_all_sees_one_changed_row() -> None:
    """The comparison itself: a dropped, an added or a repeated row is a difference."""
    rows = [(1, "a"), (2, "b"), (2, "b")]
    assert except_all(rows, list(rows)) == (Counter(), Counter())
    assert except_all(rows[:2], rows)[1] == Counter({(2, "b"): 1})  # a repeat lost
    assert except_all([*rows, (3, "c")], rows)[0] == Counter({(3, "c"): 1})


BROKEN_TEXT = re.compile("[\x00-\x1f\ufffd]")


def assert_no_broken_text(snapshot: Path) -> None:
    """No processed string (list elements included) holds a C0 control character or U+FFFD."""
    for folder in sorted(p for p in snapshot.iterdir() if p.is_dir()):
        table = pq.read_table(folder)
        for name in table.column_names:
            for value in table.column(name).to_pylist():
                texts = value if isinstance(value, list) else [value]
                bad = [t for t in texts if isinstance(t, str) and BROKEN_TEXT.search(t)]
                assert not bad, (folder.name, name, bad[:3])


def test_argument_errors_are_reported_before_any_jvm_starts(tmp_path: Path) -> None:
    """(spark-submit of the packaged entry runs in tests/deploy/test_spark_bundle.py.)"""
    raw, lake = tmp_path / "raw", tmp_path / "lake"
    bad = subprocess.run(
        [sys.executable, "-m", "spark_jobs.clean_imdb", "--raw-dir", str(raw), "--lake-dir", str(lake),
         "--snapshot-id", "C2", "--files", "x.tsv.gz"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 1
    assert "not catalogue files: ['x.tsv.gz']" in bad.stderr
