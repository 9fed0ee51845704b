"""A small file that comes unsorted (the Kaggle CSV) is cleaned in memory, from one read.

The same delivery through pass 1, the key check, pass 2 and the rewrite (``IN_MEMORY_BYTES``
set below its size) must give the same processed rows, quarantine and dedup record, and both
must equal the plain-Python reference cleaner.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession

from imdb_elt.catalog import MOVIE_METADATA
from spark_jobs import clean_file as clean_file_module
from spark_jobs.clean_file import clean_file
from tests.spark.reference_cleaner import clean as reference_clean
from tests.spark.reference_cleaner import except_all
from tests.spark.test_deliveries import KAGGLE_ROWS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

VOTES = MOVIE_METADATA.header.index("num_voted_users")
LINK = MOVIE_METADATA.header.index("movie_imdb_link")


def _with(row: str, index: int, value: str) -> str:
    fields = next(csv.reader([row]))
    fields[index] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()


AVATAR, PIRATES = KAGGLE_ROWS
#: A byte-identical repeat, a copy of one id with more votes (kept: the Kaggle dedup keeps the
#: most voted), a bad link, and a last line cut mid-field with no final newline.
LINES = [
    AVATAR,
    PIRATES,
    AVATAR,
    _with(AVATAR, VOTES, "999999"),
    _with(PIRATES, LINK, "http://example.com/not-imdb"),
    PIRATES[:40],
]


def _outputs(lake: Path) -> tuple[list, list, list]:
    folder = lake / "processed" / "snapshots" / "M1" / MOVIE_METADATA.dataset
    table = pq.read_table(folder, columns=list(MOVIE_METADATA.column_names))
    written = [tuple(tuple(v) if isinstance(v, list) else v for v in r.values()) for r in table.to_pylist()]
    quarantine = pq.read_table(lake / "quarantine" / "M1" / MOVIE_METADATA.dataset).to_pylist()
    dedup = pq.read_table(lake / "quarantine" / "M1" / "_deduplicated" / MOVIE_METADATA.dataset).to_pylist()
    return written, [tuple(q.values()) for q in quarantine], [tuple(d.values()) for d in dedup]


@pytest.fixture(scope="module")
def delivery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("raw") / MOVIE_METADATA.file_name
    raw.write_text("\n".join([",".join(MOVIE_METADATA.header), *LINES]), encoding="utf-8")
    return raw


def _clean(spark: SparkSession, delivery: Path, lake: Path) -> dict:
    return clean_file(spark, MOVIE_METADATA, str(delivery), str(lake), "M1", datetime.now(UTC), 1.0)


def test_a_small_unsorted_file_is_cleaned_in_one_read_like_the_passes(
    spark: SparkSession, delivery: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_memory = _clean(spark, delivery, tmp_path / "in-memory")
    monkeypatch.setattr(clean_file_module, "IN_MEMORY_BYTES", -1)
    passes = _clean(spark, delivery, tmp_path / "passes")

    assert in_memory["key_check"] == "in memory"
    assert set(in_memory["seconds_by_step"]) == {"in memory", "counts"}
    assert passes["key_check"] == "read back"
    assert {"pass 1", "key check", "pass 2", "rewrite"} <= set(passes["seconds_by_step"])
    same = ("rows_read", "rows_written", "rows_deduplicated", "rows_quarantined", "quarantined_by_reason",
            "ends_with_newline", "last_line", "revisited", "repeated_keys", "output_files")  # fmt: skip
    assert {k: in_memory[k] for k in same} == {k: passes[k] for k in same}
    assert (in_memory["rows_read"], in_memory["rows_written"], in_memory["rows_deduplicated"]) == (6, 2, 1)
    assert in_memory["quarantined_by_reason"] == {"bad_id": 1, "duplicate_key": 1, "field_count": 1}
    assert in_memory["last_line"] == {"line_number": 7, "written": False, "reason": "field_count"}
    assert in_memory["repeated_keys"] == 1

    ours, theirs = _outputs(tmp_path / "in-memory"), _outputs(tmp_path / "passes")
    for mine, other in zip(ours, theirs, strict=True):  # the quarantine's detail text included
        assert except_all(mine, other) == except_all([], [])
    expected = reference_clean(delivery, MOVIE_METADATA)
    written, quarantine, dedup = ours
    assert except_all(written, expected.processed) == except_all([], [])
    assert except_all([(q[1], q[2], q[4]) for q in quarantine], expected.quarantine) == except_all([], [])
    assert except_all([(d[1], d[2]) for d in dedup], expected.deduplicated) == except_all([], [])
    kept = [row for row in written if row[0] == "tt0499549"]
    votes = MOVIE_METADATA.column_names.index("num_voted_users")
    assert len(kept) == 1 and kept[0][votes] == 999999  # the most voted copy
