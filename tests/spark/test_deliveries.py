"""Deliveries as they really come: no final newline, a cut download, an uncompressed dump.

Real-shaped fixtures (heads of the IMDb dumps and of the Kaggle file), written here, cleaned in
one run of the job. A last line without a final newline is checked like any other line: written
when valid, quarantined with its ordinary reason (and a detail saying so) when not.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession

from imdb_elt.catalog import MOVIE_METADATA, NAME_BASICS, TITLE_BASICS, TITLE_RATINGS
from spark_jobs.clean_imdb import run, select_inputs
from spark_jobs.errors import CleaningError
from tests.spark.conftest import tsv_bytes, write_gz
from tests.spark.reference_cleaner import clean as reference_clean
from tests.spark.reference_cleaner import except_all

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

#: The head of a 2025 title.ratings, saved without its final newline (as many tools do).
RATINGS = ["tt0000001\t5.7\t2166", "tt0000002\t5.5\t296", "tt0000003\t6.4\t2231", "tt0000004\t5.2\t189",
           "tt0000005\t6.2\t3006", "tt0000006\t5.0\t212", "tt0000007\t5.3\t907", "tt0000008\t5.4\t2357"]
#: name.basics, whose download was cut inside the last line's second field.
NAMES = ["nm0000001\tFred Astaire\t1899\t1987\tactor,miscellaneous,producer\ttt0072308,tt0050419",
         "nm0000002\tLauren Bacall\t1924\t2014\tactress,soundtrack,archive_footage\ttt0037382,tt0075213",
         "nm0000003\tBrigitte Bardot\t1934\t\\N\tactress,music_department,producer\ttt0057345,tt0049189",
         "nm0000004\tJohn Bel"]
KAGGLE_ROWS = [
    "Color,James Cameron,723,178,0,855,Joel David Moore,1000,760505847,Action|Adventure|Fantasy|Sci-Fi,"
    "CCH Pounder,Avatar\u00a0,886204,4834,Wes Studi,0,avatar|future|marine|native|paraplegic,"
    "http://www.imdb.com/title/tt0499549/?ref_=fn_tt_tt_1,3054,English,USA,PG-13,237000000,2009,936,7.9,1.78,33000",
    "Color,Gore Verbinski,302,169,563,1000,Orlando Bloom,40000,309404152,Action|Adventure|Fantasy,"
    "Johnny Depp,Pirates of the Caribbean: At World's End\u00a0,471220,48350,Jack Davenport,0,"
    "goddess|marriage ceremony|marriage proposal|pirate|singapore,"
    "http://www.imdb.com/title/tt0449088/?ref_=fn_tt_tt_1,1238,English,USA,PG-13,300000000,2007,1000,7.1,2.35,0",
]
#: An uncompressed (gunzipped) title.basics: read like the .gz, with the same checks.
BASICS = ["tt0000001\tshort\tCarmencita\tCarmencita\t0\t1894\t\\N\t1\tDocumentary,Short",
          "tt0000002\tshort\tLe clown et ses chiens\tLe clown et ses chiens\t0\t1892\t\\N\t5\tAnimation",
          "tt0000003\tshort\tPoor Pierrot\tPauvre Pierrot\t0\t1892.5\t\\N\t5\tAnimation,Comedy,Romance"]


@pytest.fixture(scope="module")
def delivered(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> dict:
    raw, lake = tmp_path_factory.mktemp("raw"), tmp_path_factory.mktemp("lake")
    write_gz(raw, TITLE_RATINGS.file_name, tsv_bytes(TITLE_RATINGS, RATINGS).removesuffix(b"\n"))
    write_gz(raw, NAME_BASICS.file_name, tsv_bytes(NAME_BASICS, NAMES).removesuffix(b"\n"))
    kaggle = "\n".join([",".join(MOVIE_METADATA.header), *KAGGLE_ROWS])  # no final newline
    (raw / MOVIE_METADATA.file_name).write_text(kaggle, encoding="utf-8")
    (raw / "title.basics.tsv").write_bytes(tsv_bytes(TITLE_BASICS, BASICS))
    (raw / "notes.txt").write_text("not a delivery")
    stats = run(spark, str(raw), str(lake), "N1", threshold=0.5)
    return {"raw": raw, "lake": lake, "stats": stats}


def _quarantine(lake: Path, dataset: str) -> list[dict]:
    return pq.read_table(lake / "quarantine" / "N1" / dataset).to_pylist()


@pytest.mark.parametrize("raw", [TITLE_RATINGS, MOVIE_METADATA], ids=["tsv.gz", "kaggle csv"])
def test_a_valid_last_line_without_final_newline_is_written(delivered: dict, raw) -> None:
    s = delivered["stats"][raw.dataset]
    print(s)
    rows = len(RATINGS) if raw is TITLE_RATINGS else len(KAGGLE_ROWS)
    assert (s["rows_read"], s["rows_written"], s["rows_quarantined"]) == (rows, rows, 0)
    assert s["ends_with_newline"] is False
    assert s["last_line"] == {"line_number": rows + 1, "written": True, "reason": None}
    written = pq.read_table(delivered["lake"] / "processed" / "snapshots" / "N1" / raw.dataset).to_pylist()
    last = {"tconst": "tt0000008", "numVotes": 2357} if raw is TITLE_RATINGS else \
        {"tconst": "tt0449088", "movie_facebook_likes": 0}
    assert any(row.items() >= last.items() for row in written), last


def test_a_line_cut_mid_field_is_quarantined_with_its_reason(delivered: dict) -> None:
    s = delivered["stats"][NAME_BASICS.dataset]
    print(s)
    assert s["rows_read"] == s["rows_written"] + s["rows_deduplicated"] + s["rows_quarantined"] == len(NAMES)
    assert s["quarantined_by_reason"] == {"field_count": 1}
    assert s["last_line"] == {"line_number": len(NAMES) + 1, "written": False, "reason": "field_count"}
    [q] = _quarantine(delivered["lake"], NAME_BASICS.dataset)
    assert (q["line_number"], q["reason"]) == (len(NAMES) + 1, "field_count")
    assert q["raw_line"] == b"nm0000004\tJohn Bel"
    assert q["detail"] == ("expected 6 tab-separated fields, found 2 (the last line, with no final newline: "
                           "was the file cut?)")  # fmt: skip


def test_an_uncompressed_dump_is_read_with_the_same_checks(delivered: dict) -> None:
    s = delivered["stats"][TITLE_BASICS.dataset]
    assert s["source_file"] == "title.basics.tsv" and s["ends_with_newline"] is True
    assert (s["rows_read"], s["rows_written"], s["quarantined_by_reason"]) == (3, 2, {"bad_year": 1})
    [q] = _quarantine(delivered["lake"], TITLE_BASICS.dataset)
    assert (q["source_file"], q["line_number"], q["reason"]) == ("title.basics.tsv", 4, "bad_year")
    assert set(delivered["stats"]) == {"title_ratings", "name_basics", "movie_metadata", "title_basics"}


@pytest.mark.parametrize("raw", [TITLE_RATINGS, NAME_BASICS, MOVIE_METADATA, TITLE_BASICS],
                         ids=lambda r: r.dataset)
def test_the_reference_cleaner_agrees(delivered: dict, raw) -> None:
    """The plain-Python cleaner, on the same files: the same rows written and quarantined."""
    s = delivered["stats"][raw.dataset]
    expected = reference_clean(delivered["raw"] / s["source_file"], raw)
    lake = delivered["lake"]
    folder = lake / "processed" / "snapshots" / "N1" / raw.dataset
    rows = pq.read_table(folder, columns=list(raw.column_names))
    processed = [tuple(tuple(v) if isinstance(v, list) else v for v in r.values()) for r in rows.to_pylist()]
    quarantine = [(q["line_number"], q["reason"], q["raw_line"]) for q in _quarantine(lake, raw.dataset)]
    assert except_all(processed, expected.processed) == except_all([], [])
    assert except_all(quarantine, expected.quarantine) == except_all([], [])
    assert (s["rows_read"], s["ends_with_newline"]) == (expected.rows_read, expected.ends_with_newline)


def test_both_names_of_one_input_are_refused(spark: SparkSession, tmp_path: Path) -> None:
    write_gz(tmp_path, TITLE_RATINGS.file_name, tsv_bytes(TITLE_RATINGS, RATINGS))
    (tmp_path / "title.ratings.tsv").write_bytes(tsv_bytes(TITLE_RATINGS, RATINGS))
    with pytest.raises(CleaningError, match=r"title\.ratings\.tsv\.gz and title\.ratings\.tsv are both in"):
        select_inputs(spark, str(tmp_path), None)
    with pytest.raises(CleaningError, match=r"are one input \(title_ratings\): name one of them"):
        select_inputs(spark, str(tmp_path), ["title.ratings.tsv", "title.ratings.tsv.gz"])
    [(raw, path, _)] = select_inputs(spark, str(tmp_path), ["title.ratings.tsv"])
    assert raw is TITLE_RATINGS and path.endswith("/title.ratings.tsv")


def test_the_longest_file_starts_first(spark: SparkSession, tmp_path: Path) -> None:
    """On the bundled sample the Kaggle CSV, the smallest file but the one with the most steps,
    starts first; a full-size dump outweighs those steps."""
    sample = Path(__file__).resolve().parents[2] / "data" / "sample"
    for name in ("title.principals.tsv.gz", "title.ratings.tsv.gz", "movie_metadata.csv"):
        (tmp_path / name).write_bytes((sample / name).read_bytes())
    order = [raw.file_name for raw, _, _ in select_inputs(spark, str(tmp_path), None)]
    assert order == ["movie_metadata.csv", "title.principals.tsv.gz", "title.ratings.tsv.gz"]
    with (tmp_path / "title.principals.tsv.gz").open("r+b") as dump:
        dump.truncate(2**30)  # sparse: only its size is read
    order = [raw.file_name for raw, _, _ in select_inputs(spark, str(tmp_path), None)]
    assert order == ["title.principals.tsv.gz", "movie_metadata.csv", "title.ratings.tsv.gz"]
