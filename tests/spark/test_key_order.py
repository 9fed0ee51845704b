"""Pass 1's key order (spark_jobs/key_order.py) replaces the key check only where it finds every repeat.

Each file is cleaned over four tasks (minSplitBytes=1, four slices), as a big file is: the
shortcut is then only sound if one key's rows meet in one task. Every outcome is compared with the
plain-Python reference cleaner, so a repeat the shortcut let through fails the test.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType

from imdb_elt.catalog import MOVIE_METADATA, TITLE_PRINCIPALS, TITLE_RATINGS, RawInput
from spark_jobs import carry, compiled, key_order
from spark_jobs import clean_file as clean_file_module
from spark_jobs.clean_file import MIN_SPLIT_CONF, _File, clean_file
from tests.spark.conftest import tsv_bytes, write_gz
from tests.spark.reference_cleaner import clean as reference_clean
from tests.spark.reference_cleaner import except_all

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

#: Ids across the 7-to-8-digit step (tt9999999 < tt10000000 as numbers, not as text).
IDS = [f"tt{i:07d}" for i in range(9_999_800, 10_000_200)]
RATINGS = [f"{tconst}\t{i % 9 + 1}.{i % 10}\t{i + 1}" for i, tconst in enumerate(IDS)]
#: 12 principals per title: ordering 1..12 in number order ("10" sorts before "2" as text).
PRINCIPALS = [f'{tconst}\t{n}\tnm{n:07d}\tactor\t\\N\t["R{n}"]' for tconst in IDS[:60] for n in range(1, 13)]


@pytest.fixture
def four_tasks(spark: SparkSession) -> Iterator[None]:
    spark.conf.set(MIN_SPLIT_CONF, "1")
    try:
        yield
    finally:
        spark.conf.unset(MIN_SPLIT_CONF)


@pytest.fixture
def small_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """``CARRY_BYTES`` of 40 bytes a task of four: one or two short lines."""
    monkeypatch.setattr(clean_file_module, "CARRY_BYTES", 4 * 40)


def _clean(spark: SparkSession, tmp_path: Path, raw: RawInput, rows: list[str | bytes]) -> dict:
    """Clean ``rows`` over four tasks: the processed rows, the quarantine (line, reason, bytes)
    and the dedup record equal the reference cleaner's."""
    path = write_gz(tmp_path / "raw", raw.file_name, tsv_bytes(raw, rows))
    lake = tmp_path / "lake"
    stats = clean_file(spark, raw, str(path), str(lake), "K1", datetime.now(UTC), 1.0, slices=4)
    assert stats["output_files"] == 4
    expected = reference_clean(path, raw)
    folder = lake / "processed" / "snapshots" / "K1" / raw.dataset
    table = pq.read_table(folder, columns=list(raw.column_names))
    written = [tuple(tuple(v) if isinstance(v, list) else v for v in r.values()) for r in table.to_pylist()]
    assert except_all(written, expected.processed) == except_all([], [])
    quarantine = pq.read_table(lake / "quarantine" / "K1" / raw.dataset).to_pylist()
    refused = [(q["line_number"], q["reason"], q["raw_line"]) for q in quarantine]
    assert except_all(refused, expected.quarantine) == except_all([], [])
    dedup = pq.read_table(lake / "quarantine" / "K1" / "_deduplicated" / raw.dataset).to_pylist()
    repeats = [(d["line_number"], d["first_line_number"]) for d in dedup]
    assert except_all(repeats, expected.deduplicated) == except_all([], [])
    assert stats["rows_written"] == len(expected.processed)
    return stats


@pytest.mark.usefixtures("four_tasks")
@pytest.mark.parametrize(("raw", "rows"), [(TITLE_RATINGS, RATINGS), (TITLE_PRINCIPALS, PRINCIPALS)],
                         ids=["ids by number", "then ordering by number"])  # fmt: skip
def test_a_file_in_key_order_needs_no_key_check(spark: SparkSession, tmp_path: Path, raw, rows) -> None:
    stats = _clean(spark, tmp_path, raw, rows)
    assert stats["key_check"] == "keys in order (pass 1)"
    assert "key check" not in stats["seconds_by_step"]
    assert (stats["rows_written"], stats["revisited"], stats["repeated_keys"]) == (len(rows), False, 0)


@pytest.mark.usefixtures("four_tasks")
@pytest.mark.parametrize("at", [10, 111, 222, 333])
def test_one_repeat_in_a_sorted_file_is_found_in_pass_1(spark: SparkSession, tmp_path: Path, at: int) -> None:
    """One key on two neighbouring lines: spread over the tasks by line number, the two would part
    (3 times in 4), each task would see its keys in order, and the repeat would be written twice."""
    rows = list(RATINGS)
    rows[at + 1] = rows[at].split("\t")[0] + "\t1.0\t7"  # the same key, another rating
    stats = _clean(spark, tmp_path, TITLE_RATINGS, rows)
    assert (stats["key_check"], stats["repeated_keys"]) == ("keys in order (pass 1)", 1)
    assert "key check" not in stats["seconds_by_step"]
    assert stats["quarantined_by_reason"] == {"duplicate_key": 1}
    assert "rewrite" not in stats["seconds_by_step"]  # pass 1 never wrote the repeat
    assert "pass 2" not in stats["seconds_by_step"]  # nor does it read the file again


@pytest.mark.usefixtures("four_tasks")
def test_repeats_of_a_two_column_key_are_found_in_pass_1(spark: SparkSession, tmp_path: Path) -> None:
    """Only the pair (tconst, ordering) repeating is a repeat: 60 titles share each ordering."""
    rows = list(PRINCIPALS)
    for at in (5, 100, 101, 400):  # 101 repeats 100's repeat: three rows of one key
        rows[at + 1] = rows[at].replace("\tactor\t", "\tself\t")
    stats = _clean(spark, tmp_path, TITLE_PRINCIPALS, rows)
    assert (stats["key_check"], stats["repeated_keys"]) == ("keys in order (pass 1)", 3)
    assert stats["rows_deduplicated"] + stats["rows_quarantined"] == 4
    assert set(stats["seconds_by_step"]) == {"pass 1", "records", "counts"}


@pytest.mark.usefixtures("four_tasks")
def test_refused_lines_and_repeats_are_recorded_from_pass_1(spark: SparkSession, tmp_path: Path) -> None:
    """Pass 1 carries every line the records need: a repeat byte-identical to its key's first line
    (the dedup record names that line), one that differs from it, a line that is not UTF-8 (its
    bytes kept as delivered) and one cut short. The file is read once."""
    rows: list[str | bytes] = list(PRINCIPALS)
    rows[8] = rows[7]  # byte-identical: deduplicated, first line 9
    rows[9] = rows[7].replace("\tactor\t", "\tself\t")  # the same key again, another row
    rows[300] = str(rows[300]).encode().replace(b"actor", b"act\xffor")
    rows[500] = str(rows[500]).split("\t", 3)[2]
    stats = _clean(spark, tmp_path, TITLE_PRINCIPALS, rows)
    assert (stats["key_check"], stats["repeated_keys"]) == ("keys in order (pass 1)", 1)
    assert stats["rows_deduplicated"] == 1
    assert stats["quarantined_by_reason"] == {"duplicate_key": 1, "field_count": 1, "invalid_utf8": 1}
    assert set(stats["seconds_by_step"]) == {"pass 1", "records", "counts"}


@pytest.mark.usefixtures("four_tasks", "small_budget")
def test_lines_past_the_budget_are_read_again(spark: SparkSession, tmp_path: Path) -> None:
    """Pass 1 carries at most ``CARRY_BYTES`` of refused lines (split over the tasks): past it,
    the file is read again, with the same records."""
    rows: list[str | bytes] = [f"{r}\tx" if i % 40 == 3 else r for i, r in enumerate(RATINGS)]
    stats = _clean(spark, tmp_path, TITLE_RATINGS, rows)
    assert stats["quarantined_by_reason"] == {"field_count": 10}
    assert set(stats["seconds_by_step"]) == {"pass 1", "pass 2", "counts"}


@pytest.mark.usefixtures("four_tasks", "small_budget")
def test_repeats_found_in_pass_1_are_read_again_with_refused_lines_past_the_budget(
    spark: SparkSession, tmp_path: Path
) -> None:
    """The repeats' lines fit their budget but a refused line does not fit its own: the second
    read then picks the repeats' lines too, by their keys."""
    rows = list(RATINGS)
    rows[101] = rows[100]  # one repeat: two short lines, within 40 bytes
    rows[300] = rows[300] + "\t" + "x" * 50  # refused, longer than 40 bytes
    stats = _clean(spark, tmp_path, TITLE_RATINGS, rows)
    assert (stats["key_check"], stats["repeated_keys"], stats["rows_deduplicated"]) == (
        "keys in order (pass 1)", 1, 1,
    )  # fmt: skip
    assert stats["quarantined_by_reason"] == {"field_count": 1}
    assert set(stats["seconds_by_step"]) == {"pass 1", "pass 2", "counts"}


@pytest.mark.usefixtures("four_tasks", "small_budget")
def test_repeats_past_the_budget_take_the_key_check(spark: SparkSession, tmp_path: Path) -> None:
    """The repeats' lines count against the same budget in ``KeyOrderCheck``: past it, the repeats
    are unproven, and the key check, a second read and the rewrite find the same records."""
    rows = list(RATINGS)
    for at in range(0, 400, 25):  # 16 repeats, two lines each: more than 40 bytes in every task
        rows[at + 1] = rows[at]
    stats = _clean(spark, tmp_path, TITLE_RATINGS, rows)
    assert (stats["key_check"], stats["rows_deduplicated"]) == ("read back", 16)
    assert {"pass 2", "rewrite"} <= set(stats["seconds_by_step"])


@pytest.mark.usefixtures("four_tasks")
def test_more_repeats_than_pass_1_collects_take_the_key_check(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cap per task bounds the hashes pass 1 collects (a delivery of nothing but repeats must
    not fill the driver's memory): past it, the key check finds every repeat, those pass 1 left
    unwritten included, and the rewrite takes out those it wrote."""
    monkeypatch.setattr(clean_file_module, "BROADCAST_KEYS", 8)  # 2 repeats per task of 4
    rows = list(RATINGS)
    for at in range(0, 400, 25):  # 16 repeats: some task holds 3 or more
        rows[at + 1] = rows[at].split("\t")[0] + "\t1.0\t7"
    stats = _clean(spark, tmp_path, TITLE_RATINGS, rows)
    assert (stats["key_check"], stats["repeated_keys"]) == ("read back", 16)
    assert stats["quarantined_by_reason"] == {"duplicate_key": 16}
    assert "rewrite" in stats["seconds_by_step"]


@pytest.mark.usefixtures("four_tasks")
def test_the_stateful_functions_run_once_per_row(spark: SparkSession, tmp_path: Path) -> None:
    """A second call on the same row would answer REPEAT: every row would look repeated."""
    from pyspark.sql import Observation

    path = write_gz(tmp_path, TITLE_RATINGS.file_name, tsv_bytes(TITLE_RATINGS, RATINGS))
    f = _File(spark, TITLE_RATINGS, str(path), str(tmp_path / "lake"), "K", datetime.now(UTC), 4, None)
    plan = f.valid_rows(Observation(), Observation(), Observation())._jdf.queryExecution().executedPlan()
    assert plan.toString().count(f"{key_order.FUNCTION_NAME}(") == 1, plan.toString()
    # So does the budget of refused lines: a second call would count a line twice.
    assert plan.toString().count(f"{carry.FUNCTION_NAME}(") == 1, plan.toString()


@pytest.mark.usefixtures("four_tasks")
def test_a_file_out_of_key_order_gets_the_key_check(spark: SparkSession, tmp_path: Path) -> None:
    stats = _clean(spark, tmp_path, TITLE_RATINGS, RATINGS[::-1])
    assert (stats["key_check"], stats["repeated_keys"]) == ("read back", 0)
    assert stats["rows_written"] == len(RATINGS) and stats["quarantined_by_reason"] == {}


@pytest.mark.parametrize(("lines", "answers"), [((3, 5), [key_order.AFTER, key_order.REPEAT]),
                                               ((5, 3), [key_order.AFTER, key_order.UNPROVEN])])
def test_a_repeat_comes_on_a_later_line(spark: SparkSession, lines: tuple, answers: list[int]) -> None:
    """Pass 1 leaves a REPEAT row unwritten because an earlier line of its key is kept: a row
    of the same key from an earlier line is never answered REPEAT."""
    assert key_order.available(spark)
    rows = spark.createDataFrame([("tt1", 7.0, 1, n) for n in lines], "tconst string, averageRating double, "
                                 "numVotes int, line_number long").coalesce(1)  # fmt: skip
    column = key_order.order(TITLE_RATINGS, F.col("line_number"), F.lit("a line"), 10, 1000)
    assert [r[0] for r in rows.select(key_order.answer(column)).collect()] == answers


def test_a_key_is_cut_from_the_line_only_where_it_is_the_typed_value() -> None:
    assert key_order.spread_by(TITLE_PRINCIPALS) is not None
    assert key_order.spread_by(MOVIE_METADATA) is None  # quoted CSV: no simple cut


def test_a_missing_class_is_one_warning_and_no_function(
    spark: SparkSession, caplog: pytest.LogCaptureFixture
) -> None:
    compiled._warned.discard(id(spark))
    with caplog.at_level(logging.WARNING, logger="spark_jobs.clean_imdb"):
        assert not compiled.register(spark, "imdb_test_missing", "imdbelt.NoSuchCheck", BooleanType())
        assert not compiled.register(spark, "imdb_test_missing_too", "imdbelt.NoSuchCheck", BooleanType())
    warnings = [r.getMessage() for r in caplog.records if "not on the class path" in r.getMessage()]
    assert len(warnings) == 1 and "imdbelt.NoSuchCheck" in warnings[0]
    assert not spark.catalog.functionExists("imdb_test_missing")
