"""The compiled line check (spark_jobs/line_check.py) is a shortcut that changes no row.

Every field of a valid line of each TSV input is replaced, one at a time, by edge values (and the
line itself is broken in the ways deliveries break). Annotating the lines with the Java check first
and without it must give the same rows, reasons and details, for both Redshift staging paths: the
Java may only say "clean" of a line that every one of Spark's checks passes.
"""

from __future__ import annotations

import gzip
from dataclasses import replace
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from imdb_elt.catalog import INPUTS, RawInput
from imdb_elt.config import REPO_ROOT
from imdb_elt.warehouse.types import STAGING_TARGETS
from spark_jobs import io, line_check
from spark_jobs.transforms import number_lines, parse
from tests.spark.conftest import tsv_bytes

TSV_INPUTS = [raw for raw in INPUTS if raw.fmt == "imdb_tsv"]
SAMPLE = REPO_ROOT / "data" / "sample"

#: Values each field takes in turn: nulls, numbers at their types' edges, ids, lists, JSON in
#: plain and other valid forms, text with control characters, U+FFFD and lengths near the limits.
EDGE_VALUES: list[bytes] = [
    s.encode()
    for s in [
        "", "\\N", "N", "\\N\\N", "\\n", "0", "1", "2", "-1", "-0", "007", "0000000001",
        "123456789", "1234567890", "-123456789", "2147483647", "2147483648", "-2147483649",
        "99999999999999999", "999999999999999999", "9223372036854775808", "1.5", "9.9", "10.0",
        "99.9", "-9.9", "1.55", ".5", "5.", "-", "1e3", " 1", "1 ", "\u0663", "1800", "2100",
        "99999", "tt0000001", "tt123456", "tt12345678", "TT0000001", "tt0000001x",
        "tt0000001,tt0000002", "tt0000001,", ",tt0000001", "tt0000001,,tt0000002", "nm0000001",
        "nm0000001,nm0000002", "nm0000001,tt0000002", "[]", '[""]', '["a"]', '["a","b"]',
        '["a", "b"]', '[ "a"]', '["a",]', '["a"', '"a"]', "[1]", '["a\\"b"]', '["\\u0041"]',
        '["\\u0001"]', '["a\x01"]', '[["a"]]', '{"a":"b"}', '["é日本"]', "abc", "é", "日本",
        "a\x02b", "\x02", "a,b", "a\x01b", "a\rb", "a\x1fb", "a\x7fb", "a\ufffdb", "x" * 13107,
        "x" * 65536, ",".join(f"nm{i:07d}" for i in 1500 * [1]),
    ]
]  # fmt: skip
#: Bytes that are not UTF-8 (overlong, surrogate, above U+10FFFF, cut short) and some that are.
UTF8_EDGES = [
    b"\xff", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
    b"\xf5\x80\x80\x80", b"\xe2\x82", b"\x80", b"\xef\xbf\xbd", b"\xf0\x9f\x98\x80",
    b"\xf4\x8f\xbf\xbf", b"\xed\x9f\xbf", b"\xee\x80\x80", b"\xc2\xa0",
]  # fmt: skip


def _valid_line(raw: RawInput) -> bytes:
    """The bundled sample's first data line of ``raw`` (a line every check passes)."""
    with gzip.open(SAMPLE / raw.file_name, "rb") as f:
        f.readline()
        return f.readline().rstrip(b"\n")


def _variants(line: bytes) -> list[bytes]:
    fields = line.split(b"\t")
    out = [line, line + b"\r", line + b"\r\r", line + b"\t", b"\t".join(fields[:-1]), line + b"\t\\N"]
    for i in range(len(fields)):
        for value in EDGE_VALUES:
            out.append(b"\t".join([*fields[:i], value, *fields[i + 1 :]]))
        for edge in UTF8_EDGES:
            out.append(b"\t".join([*fields[:i], fields[i] + edge, *fields[i + 1 :]]))
    return out


def _annotated(spark: SparkSession, path: Path, raw: RawInput, staging: str, java: bool) -> DataFrame:
    lines = number_lines(io.read_lines(spark, str(path))).filter(F.col("line_number") > 1)
    clean_line = line_check.clean_line(spark, raw, staging) if java else None
    assert (clean_line is not None) == java
    return parse(lines, raw, staging, clean_line)


@pytest.mark.parametrize("raw", TSV_INPUTS, ids=[r.dataset for r in TSV_INPUTS])
def test_the_java_check_changes_no_row(spark: SparkSession, tmp_path: Path, raw: RawInput) -> None:
    assert line_check.available(spark), "make setup builds the jar and the test session loads it"
    variants = _variants(_valid_line(raw))
    path = tmp_path / raw.file_name
    path.write_bytes(gzip.compress(tsv_bytes(raw, variants)))
    spec = line_check.tsv_line_spec(raw)
    assert spec is not None
    lines = number_lines(io.read_lines(spark, str(path))).filter(F.col("line_number") > 1)
    accepted = lines.filter(line_check.is_clean(F.col("value"), spec)).count()
    for staging in sorted(STAGING_TARGETS):
        with_java = _annotated(spark, path, raw, staging, java=True).cache()
        without = _annotated(spark, path, raw, staging, java=False)
        assert with_java.count() == len(variants)
        assert with_java.exceptAll(without).count() == 0, staging
        assert without.exceptAll(with_java).count() == 0, staging
        ok = with_java.filter("ok").count()
        # Not a check that passes by refusing everything: most valid variants take the shortcut.
        assert accepted > 0.5 * ok, (accepted, ok)
        with_java.unpersist()


def test_the_spec_follows_the_catalogue() -> None:
    """A rule the Java cannot express leaves its input to Spark's checks, never to a guess."""
    principals = next(r for r in TSV_INPUTS if r.dataset.endswith("principals"))
    spec = line_check.tsv_line_spec(principals)
    assert spec is not None and spec.split(";")[1:3] == ["!i:tt:7", "!n:9"]
    assert line_check.tsv_line_spec(next(r for r in INPUTS if r.fmt == "kaggle_csv")) is None
    # A pattern other than the kind's: no spec, so no shortcut.
    columns = list(principals.columns)
    columns[2] = replace(columns[2], pattern=r"nm[0-9]{7,}|xx")
    assert line_check.tsv_line_spec(replace(principals, columns=tuple(columns))) is None
