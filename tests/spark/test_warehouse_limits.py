"""too_long: a value the production warehouse (Redshift) cannot hold is quarantined, never loaded.

The limits are read from the Redshift types (imdb_elt.warehouse.types); these tests write the
documented figures literally (65,535 bytes per VARCHAR and per SUPER string, 16,000,000 bytes of
JSON per SUPER array, 65,535 bytes of JSON per array on the Spectrum path), so a drift of either
side fails here. The reference cleaner must give every line the same reason as the job.
"""

from __future__ import annotations

import json

import pytest
from pyspark.sql import SparkSession

from imdb_elt.catalog import MOVIE_METADATA, TITLE_BASICS, TITLE_CREW, TITLE_PRINCIPALS, RawInput
from imdb_elt.warehouse.types import ByteLimits, byte_limits, warehouse_type
from spark_jobs.transforms import parse
from tests.spark.reference_cleaner import check_line
from tests.spark.test_transforms import lines

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

E_ACUTE = "\u00e9"  # two bytes of UTF-8: a limit counted in characters would be off by half


def _basics(title: str, key: int) -> str:
    return f"tt{key:07d}\tmovie\t{title}\tOriginal\t0\t2001\t\\N\t90\tDrama"


def _crew(writers: int, key: int) -> str:
    return f"tt{key:07d}\tnm0000001\t" + ",".join(f"nm{1_000_000 + i}" for i in range(writers))


def _outcome(spark: SparkSession, raw: RawInput, data: list[str], staging: str) -> dict[int, tuple]:
    rows = parse(lines(spark, data), raw, staging).select("line_number", "reason", "detail").collect()
    return {r.line_number: (r.reason, r.detail) for r in rows}


def test_the_limits_are_the_documented_redshift_ones() -> None:
    assert warehouse_type("string", "redshift") == "VARCHAR(65535)"
    assert byte_limits("string") == ByteLimits(value=65535)
    assert byte_limits("array<string>", "copy") == ByteLimits(element=65535, array=16_000_000)
    assert byte_limits("array<string>", "spectrum") == ByteLimits(element=65535, array=65535)
    assert byte_limits("bigint") == ByteLimits() and byte_limits("decimal(3,1)") == ByteLimits()
    with pytest.raises(ValueError, match="unknown REDSHIFT_STAGING"):
        byte_limits("string", "unload")


def test_strings_are_measured_in_bytes(spark: SparkSession) -> None:
    data = [
        _basics(E_ACUTE * 32767 + "a", 1),  # 65,535 bytes: the most a VARCHAR(65535) holds
        _basics(E_ACUTE * 32768, 2),  # 65,536 bytes in 32,768 characters
        _basics("a" * 70_000, 3) + "\tbroken",  # also too many fields: field_count comes first
        _basics(E_ACUTE * 32768, 4).replace("\t2001\t", "\t2001.5\t"),  # bad_year before too_long
    ]
    got = _outcome(spark, TITLE_BASICS, data, "copy")
    assert {n: reason for n, (reason, _) in got.items()} == {
        2: None, 3: "too_long", 4: "field_count", 5: "bad_year"
    }  # fmt: skip
    assert got[3][1] == "primaryTitle is 65536 bytes, over the 65,535 the warehouse holds"
    for number, line in enumerate(data, start=2):
        assert check_line(TITLE_BASICS, line.encode())[0] == got[number][0], number


def test_a_kaggle_value_is_measured_once_trimmed(spark: SparkSession) -> None:
    header = ",".join(MOVIE_METADATA.header)
    assert header.count(",") == 27
    row = ("Color,Jane Doe,1,90,0,1,B,1,1,Drama,A,{title},1,1,C,0,kw,"
           "http://www.imdb.com/title/tt0000001/?ref_=fn_tt_tt_1,1,English,USA,PG,1,2009,1,7.9,1.78,1")
    data = [row.format(title=E_ACUTE * 32767 + "a\u00a0"),  # 65,535 bytes once trimmed
            row.format(title="a" * 65536).replace("tt0000001", "tt0000002")]
    got = _outcome(spark, MOVIE_METADATA, data, "copy")
    assert [got[2][0], got[3][0]] == [None, "too_long"]
    assert got[3][1].startswith("movie_title is 65536 bytes")
    assert [check_line(MOVIE_METADATA, line.encode())[0] for line in data] == [None, "too_long"]


def test_array_elements_and_whole_arrays(spark: SparkSession) -> None:
    """A characters element over 65,535 bytes is too long on both paths. A writers list of
    5,500 ids (66,001 bytes of JSON) fits COPY's SUPER (16 MB) but not Spectrum's serialised
    VARCHAR(65535); 1,600 ids (the longest real lists exceed 1,000) fit both."""
    principals = [
        'tt0000001\t1\tnm0000001\tself\t\\N\t["' + "a" * 65535 + '"]',
        'tt0000002\t1\tnm0000001\tself\t\\N\t["' + "a" * 65536 + '"]',
        'tt0000003\t1\tnm0000001\tself\t\\N\t["' + "a" * 40000 + '","' + "b" * 40000 + '"]',
    ]
    for staging in ("copy", "spectrum"):
        got = _outcome(spark, TITLE_PRINCIPALS, principals, staging)
        assert got[3] == ("too_long", "characters has an element of 65536 bytes, over the 65,535 "
                                      "the warehouse holds")  # fmt: skip
        # 65,539 and 80,007 bytes of JSON: refused on the Spectrum path only.
        expected = None if staging == "copy" else "too_long"
        assert (got[2][0], got[4][0]) == (expected, expected), staging
        for number, line in enumerate(principals, start=2):
            assert check_line(TITLE_PRINCIPALS, line.encode(), staging)[0] == got[number][0]
    crew = [_crew(1600, 1), _crew(5500, 2)]
    as_json = len(json.dumps([f"nm{1_000_000 + i}" for i in range(5500)], separators=(",", ":")))
    assert as_json == 66001
    copy, spectrum = (_outcome(spark, TITLE_CREW, crew, staging) for staging in ("copy", "spectrum"))
    assert (copy[2][0], copy[3][0], spectrum[2][0]) == (None, None, None)
    assert spectrum[3] == ("too_long", "writers is, as JSON text, 66001 bytes, over the 65,535 the "
                                       "warehouse holds")  # fmt: skip
    assert [check_line(TITLE_CREW, line.encode(), "spectrum")[0] for line in crew] == [None, "too_long"]
