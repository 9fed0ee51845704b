"""End-to-end run() on small raw files: outputs, accounting, exact bytes, refused deliveries."""

from __future__ import annotations

import gzip
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession

from imdb_elt.catalog import INPUTS, MOVIE_METADATA, TITLE_BASICS, TITLE_CREW, TITLE_RATINGS, RawInput
from imdb_elt.config import SAMPLE_DIR
from spark_jobs.clean_file import _File, job_description
from spark_jobs.clean_imdb import DONE_MARKER, STATS_FILE, run
from spark_jobs.errors import CleaningError, ThresholdExceeded
from tests.spark.conftest import tsv_bytes, write_gz

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

BASICS_ROWS: list[bytes | str] = [
    "tt0000001\tshort\tCarmencita\tCarmencita\t0\t1894\t\\N\t1\tDocumentary,Short",
    'tt0000002\tshort\tLe "clown\tLe clown\t0\t1892\t\\N\t5\tAnimation,Short',
    "tt0000003\tshort\tx\ty\t0\t1999.5\t\\N\t5\tAnimation",
    b"tt0000004\tshort\t\xff\xfe\ty\t0\t1999\t\\N\t5\tAnimation",
    "tt0000001\tshort\tCarmencita\tCarmencita\t0\t1894\t\\N\t1\tDocumentary,Short",
    "tt0000001\tshort\tOther\tCarmencita\t0\t1894\t\\N\t1\tDocumentary,Short",
    "tt0000005\tshort\tbare\rcr\ty\t0\t1999\t\\N\t5\tAnimation\r",
] + [f"tt{i:07d}\tmovie\tT{i}\tT{i}\t0\t2000\t\\N\t90\tDrama" for i in range(10, 400)]
RATINGS_ROWS = [f"tt{i:07d}\t{i % 10}.{i % 7}\t{i * 1000}" for i in range(1, 300)]
KAGGLE_HEADER = ",".join(MOVIE_METADATA.header)
KAGGLE_ROW = (
    "Color,James Cameron,723,178,0,855,Joel David Moore,1000,760505847,Action|Adventure,"
    "CCH Pounder,Avatar\u00a0,886204,4834,Wes Studi,0,avatar|future,"
    "http://www.imdb.com/title/tt0499549/?ref_=fn_tt_tt_1,3054,English,USA,PG-13,237000000,2009,936,7.9,1.78,33000"
)


def raw_lines(path: Path) -> list[bytes]:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return data.split(b"\n")


@pytest.fixture(scope="module")
def cleaned(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    raw = tmp_path_factory.mktemp("raw")
    lake = tmp_path_factory.mktemp("lake")
    write_gz(raw, TITLE_BASICS.file_name, tsv_bytes(TITLE_BASICS, BASICS_ROWS))
    write_gz(raw, TITLE_RATINGS.file_name, tsv_bytes(TITLE_RATINGS, RATINGS_ROWS, eol=b"\r\n"))
    (raw / MOVIE_METADATA.file_name).write_text(f"{KAGGLE_HEADER}\n{KAGGLE_ROW}\n{KAGGLE_ROW}\n")
    stats = run(spark, str(raw), str(lake), "S1")
    print(json.dumps(stats, indent=1))
    return raw, lake, stats


def test_outputs_and_stats(cleaned: tuple[Path, Path, dict], spark: SparkSession) -> None:
    raw, lake, stats = cleaned
    snap = lake / "processed" / "snapshots" / "S1"
    assert (snap / DONE_MARKER).exists() and (snap / DONE_MARKER).stat().st_size == 0
    doc = json.loads((snap / STATS_FILE).read_text())
    assert doc["snapshot_id"] == "S1"
    assert doc["datasets"] == stats
    assert set(stats) == {"title_basics", "title_ratings", "movie_metadata"}  # absent files skipped
    basics = stats["title_basics"]
    assert basics["rows_read"] == len(BASICS_ROWS)
    assert basics["rows_deduplicated"] == 1
    assert basics["quarantined_by_reason"] == {
        "bad_year": 1,
        "control_character": 1,
        "duplicate_key": 1,
        "invalid_utf8": 1,
    }
    assert all(s["ends_with_newline"] for s in stats.values())
    assert stats["title_ratings"]["rows_written"] == len(RATINGS_ROWS)  # CRLF lines all clean
    assert stats["movie_metadata"] == {**stats["movie_metadata"], "rows_read": 2, "rows_deduplicated": 1}
    # Where each file's time went: the steps it went through, and no more than its whole time.
    # basics repeats a key (the key check finds it); ratings is in key order (pass 1 proves it).
    assert set(basics["seconds_by_step"]) == {"pass 1", "key check", "pass 2", "rewrite", "counts"}
    assert set(stats["title_ratings"]["seconds_by_step"]) == {"pass 1", "counts"}
    checks = [basics["key_check"], stats["title_ratings"]["key_check"]]
    assert checks == ["read back", "keys in order (pass 1)"]
    for s in stats.values():
        assert 0 < sum(s["seconds_by_step"].values()) <= s["seconds"]
    for dataset, s in stats.items():
        written = spark.read.parquet(str(snap / dataset)).count()
        quarantined = spark.read.parquet(str(lake / "quarantine" / "S1" / dataset)).count()
        assert s["rows_read"] == s["rows_written"] + s["rows_deduplicated"] + s["rows_quarantined"]
        assert (written, quarantined) == (s["rows_written"], s["rows_quarantined"])
        assert s["rows_read"] == len(raw_lines(raw / s["source_file"])) - 2  # header, final "\n"


def test_each_step_names_its_spark_jobs(spark: SparkSession, tmp_path: Path) -> None:
    """The Spark UI, EMR's history server and `make profile` list jobs as ``clean <file>: <step>``."""
    write_gz(tmp_path, TITLE_RATINGS.file_name, tsv_bytes(TITLE_RATINGS, RATINGS_ROWS))
    path = str(tmp_path / TITLE_RATINGS.file_name)
    f = _File(spark, TITLE_RATINGS, path, str(tmp_path / "lake"), "S9", datetime.now(UTC), 1, None)
    sc = spark.sparkContext
    try:
        f.write_pass()
        assert sc.getLocalProperty("spark.job.description") == job_description(
            TITLE_RATINGS.file_name, "pass 1"
        ) == "clean title.ratings.tsv.gz: pass 1"
        f.candidate_keys().unpersist()
        assert sc.getLocalProperty("spark.job.description") == "clean title.ratings.tsv.gz: key check"
    finally:
        sc.setJobDescription(None)  # type: ignore[arg-type]  # this thread's later jobs: none


def test_parquet_layout(cleaned: tuple[Path, Path, dict]) -> None:
    _, lake, _ = cleaned
    table = pq.read_table(lake / "processed" / "snapshots" / "S1" / "title_ratings")
    assert table.column_names == ["tconst", "averageRating", "numVotes", "_snapshot_id", "_loaded_at"]
    assert str(table.schema.field("averageRating").type) == "decimal128(3, 1)"
    assert str(table.schema.field("_loaded_at").type) == "timestamp[us]"  # UTC wall time, no zone
    files = list((lake / "processed" / "snapshots" / "S1" / "title_basics").glob("*.parquet"))
    meta = pq.ParquetFile(files[0]).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    schema = pq.ParquetFile(files[0]).schema.to_arrow_schema()
    assert str(schema.field("genres").type) == "list<element: string>"
    assert "INT96" not in str(pq.ParquetFile(files[0]).schema)


def test_no_replacement_or_control_character_and_exact_raw_bytes(cleaned: tuple[Path, Path, dict]) -> None:
    raw, lake, _ = cleaned
    forbidden = re.compile("[\ufffd\x00-\x1f]")
    for dataset in ("title_basics", "title_ratings", "movie_metadata"):
        for row in pq.read_table(lake / "processed" / "snapshots" / "S1" / dataset).to_pylist():
            for value in row.values():
                texts = value if isinstance(value, list) else [value]
                assert not any(isinstance(t, str) and forbidden.search(t) for t in texts), row
    basics = raw_lines(raw / TITLE_BASICS.file_name)
    quarantine = pq.read_table(lake / "quarantine" / "S1" / "title_basics").to_pylist()
    assert {q["line_number"]: q["reason"] for q in quarantine} == {
        4: "bad_year",
        5: "invalid_utf8",
        7: "duplicate_key",
        8: "control_character",
    }
    for q in quarantine:
        assert q["source_file"] == TITLE_BASICS.file_name
        assert q["raw_line"] == basics[q["line_number"] - 1]
    rows = pq.read_table(lake / "processed" / "snapshots" / "S1" / "title_basics").to_pylist()
    by_id = {r["tconst"]: r for r in rows}
    assert by_id["tt0000001"]["primaryTitle"] == "Carmencita"  # the first line of the key is kept
    assert by_id["tt0000002"]["primaryTitle"] == 'Le "clown'
    assert "tt0000005" not in by_id  # a bare \r inside a field


def _refused(spark: SparkSession, tmp_path: Path, name: str, data: bytes, match: str, **kw) -> Path:
    raw, lake = tmp_path / "raw", tmp_path / "lake"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / name).write_bytes(data)
    write_gz(raw, TITLE_RATINGS.file_name, tsv_bytes(TITLE_RATINGS, RATINGS_ROWS[:5]))
    with pytest.raises(CleaningError, match=match) as info:
        run(spark, str(raw), str(lake), "S2", **kw)
    print(info.value)
    assert not (lake / "processed" / "snapshots" / "S2" / DONE_MARKER).exists()
    return lake


def _gz_header(*columns: str, sep: str = "\t") -> bytes:
    return gzip.compress((sep.join(columns) + "\n" + sep.join(["x"] * len(columns)) + "\n").encode())


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (_gz_header("tconst", "titleType"), r"title\.basics\.tsv\.gz: header drift: missing"),
        (
            _gz_header(*TITLE_BASICS.header, "extra"),
            r"title\.basics\.tsv\.gz: header drift: unexpected.*extra",
        ),
        (_gz_header(*TITLE_BASICS.header, sep=","), r"title\.basics\.tsv\.gz: wrong delimiter"),
        (_gz_header(*TITLE_BASICS.header, sep=";"), r"title\.basics\.tsv\.gz: wrong delimiter"),
        (gzip.compress(b""), r"title\.basics\.tsv\.gz: empty delivery"),
        (
            gzip.compress(("\t".join(TITLE_BASICS.header) + "\n").encode()),
            r"title\.basics\.tsv\.gz: empty delivery",
        ),
        (os.urandom(4096), r"title\.basics\.tsv\.gz: cannot read"),
    ],
    ids=["missing", "added", "comma", "semicolon", "empty", "header-only", "garbage"],
)
def test_refused_deliveries(spark: SparkSession, tmp_path: Path, data: bytes, match: str) -> None:
    _refused(spark, tmp_path, TITLE_BASICS.file_name, data, match)


def test_truncated_and_corrupted_gzip(spark: SparkSession, tmp_path: Path) -> None:
    rows = [f"tt{i:07d}\tmovie\tTitle number {i}\tT\t0\t2000\t\\N\t90\tDrama" for i in range(1, 60000)]
    full = gzip.compress(tsv_bytes(TITLE_BASICS, rows), compresslevel=1)
    half = full[: len(full) // 2]
    _refused(spark, tmp_path / "a", TITLE_BASICS.file_name, half, r"title\.basics\.tsv\.gz: cannot read")
    middle = bytearray(full)
    middle[len(full) // 2 : len(full) // 2 + 64] = os.urandom(64)
    _refused(
        spark, tmp_path / "b", TITLE_BASICS.file_name, bytes(middle), r"title\.basics\.tsv\.gz: cannot read"
    )


def test_threshold_exceeded_keeps_quarantine(spark: SparkSession, tmp_path: Path) -> None:
    crew = gzip.compress(tsv_bytes(TITLE_CREW, ["tt0000001\tnm12\t\\N"]))
    match = r"title\.crew\.tsv\.gz: 1 of 1 rows .*ratio 1\.0000 > threshold 0\.01"
    lake = _refused(spark, tmp_path, TITLE_CREW.file_name, crew, match)
    assert pq.read_table(lake / "quarantine" / "S2" / "title_crew").num_rows == 1


def test_named_file_absent_is_an_error(spark: SparkSession, tmp_path: Path) -> None:
    with pytest.raises(CleaningError, match=r"movie_metadata\.csv: named in --files but absent"):
        run(spark, str(tmp_path), str(tmp_path / "lake"), "S3", files=["movie_metadata.csv"])


def test_threshold_error_type(spark: SparkSession, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_gz(
        raw, TITLE_RATINGS.file_name, tsv_bytes(TITLE_RATINGS, ["tt0000001\t7.0\t1", "tt0000002\t7.0\tx"])
    )
    with pytest.raises(ThresholdExceeded):
        run(spark, str(raw), str(tmp_path / "lake"), "S4", files=[TITLE_RATINGS.file_name], threshold=0.4)
    stats = run(spark, str(raw), str(tmp_path / "lake"), "S4", files=[TITLE_RATINGS.file_name], threshold=0.5)
    assert stats["title_ratings"]["rows_quarantined"] == 1
    assert (tmp_path / "lake" / "processed" / "snapshots" / "S4" / DONE_MARKER).exists()


def test_ends_with_newline_on_multi_member_gzip(spark: SparkSession, tmp_path: Path) -> None:
    """A gzip of several members: its trailer covers the last member only (the slow path)."""
    from spark_jobs import io

    first, second = b"a\tb\n" * 1000, b"c\td\n" * 10
    counted = len(first) + len(second)  # every byte plus one "\n" per line, as the job counts
    path = tmp_path / "x.tsv.gz"
    path.write_bytes(gzip.compress(first) + gzip.compress(second))
    assert io.ends_with_newline(spark, str(path), counted) is True
    path.write_bytes(gzip.compress(first) + gzip.compress(second[:-1]))
    assert io.ends_with_newline(spark, str(path), counted) is False
    single = tmp_path / "y.tsv.gz"
    single.write_bytes(gzip.compress(first + second[:-1]))
    assert io.ends_with_newline(spark, str(single), counted) is False


def test_quick_start_is_chosen_from_the_local_input_size(tmp_path: Path) -> None:
    """Only the named (or present catalogue) files count; a remote raw zone gives no size."""
    from spark_jobs.clean_imdb import local_input_bytes

    write_gz(tmp_path, TITLE_RATINGS.file_name, tsv_bytes(TITLE_RATINGS, RATINGS_ROWS))
    (tmp_path / "not_a_catalogue_file.tsv").write_bytes(b"x" * 10_000)
    ratings = (tmp_path / TITLE_RATINGS.file_name).stat().st_size
    assert local_input_bytes(str(tmp_path), None) == ratings
    assert local_input_bytes(str(tmp_path), [TITLE_RATINGS.file_name, TITLE_BASICS.file_name]) == ratings
    assert local_input_bytes("s3://bucket/raw", None) is None


@pytest.mark.parametrize("raw", INPUTS, ids=lambda raw: raw.dataset)
def test_the_write_pass_parses_each_line_once(spark: SparkSession, raw: RawInput) -> None:
    """Spark 4.0 copies a projection's expressions into a filter pushed through it: the plan that
    writes the valid rows must still split (or CSV-parse) each line once, not once per check."""
    from pyspark.sql import Observation

    from spark_jobs.clean_file import _File

    path = str(SAMPLE_DIR / raw.file_name)
    f = _File(spark, raw, path, "/unused", "S", datetime(2026, 1, 1, tzinfo=UTC), 4, None)
    rows = f.valid_rows(Observation(), Observation(), Observation())
    plan = rows._jdf.queryExecution().optimizedPlan().toString()
    parses = plan.count("from_csv(") if raw.fmt == "kaggle_csv" else plan.count("split(")
    list_columns = sum(c.kind in ("list", "id_list") for c in raw.columns)
    assert parses <= 1 + list_columns, plan
