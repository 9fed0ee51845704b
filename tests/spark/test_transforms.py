"""Pure transformations on in-memory lines: typing, every reason code, line ends, dedup rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from imdb_elt.catalog import (
    JSON_STRING_ARRAY,
    MOVIE_METADATA,
    NAME_BASICS,
    TITLE_AKAS,
    TITLE_BASICS,
    TITLE_CREW,
    TITLE_EPISODE,
    TITLE_PRINCIPALS,
    TITLE_RATINGS,
    RawInput,
)
from spark_jobs.rules import anchored
from spark_jobs.transforms import (
    json_string_array,
    mark_duplicates,
    number_lines,
    parse,
    to_output,
    to_quarantine,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def lines(spark: SparkSession, data: list[bytes | str], first: int = 2) -> DataFrame:
    """Numbered data lines; bytes go through binary so invalid UTF-8 reaches Spark unchanged."""
    rows = [(first + i, bytearray(d.encode() if isinstance(d, str) else d)) for i, d in enumerate(data)]
    df = spark.createDataFrame(rows, "line_number bigint, raw binary")
    return df.select("line_number", F.col("raw").cast("string").alias("value"))


def reasons(spark: SparkSession, raw: RawInput, data: list[bytes | str]) -> dict[int, str | None]:
    out = parse(lines(spark, data), raw).select("line_number", "reason").collect()
    return {r.line_number: r.reason for r in out}


def good(spark: SparkSession, raw: RawInput, data: list[bytes | str]) -> DataFrame:
    parsed = parse(lines(spark, data), raw)
    return parsed.filter("reason is null").select(*raw.column_names)


def test_title_basics_typed(spark: SparkSession) -> None:
    data = [
        "tt0000001\tshort\tCarmencita\tCarmencita\t0\t1894\t\\N\t1\tDocumentary,Short",
        'tt10000002\tmovie\tLe "clown\tx\t1\t2001\t2003\t\\N\t\\N',  # quote is data
        "tt0000003\tshort\t\\N\tcrlf\t0\t525\t7\t5\tAnimation\r",  # CRLF end; 3- and 1-digit years
    ]
    expected = spark.createDataFrame(
        [
            (
                "tt0000001",
                "short",
                "Carmencita",
                "Carmencita",
                False,
                1894,
                None,
                1,
                ["Documentary", "Short"],
            ),
            ("tt10000002", "movie", 'Le "clown', "x", True, 2001, 2003, None, None),
            ("tt0000003", "short", None, "crlf", False, 525, 7, 5, ["Animation"]),
        ],
        "tconst string, titleType string, primaryTitle string, originalTitle string, isAdult boolean, "
        "startYear int, endYear int, runtimeMinutes int, genres array<string>",
    )
    assertDataFrameEqual(good(spark, TITLE_BASICS, data), expected)


def test_title_basics_reason_codes(spark: SparkSession) -> None:
    ok = ["tt0000001", "short", "T", "T", "0", "1999", "\\N", "5", "Drama"]

    def line(**changes: str) -> str:
        names = list(TITLE_BASICS.header)
        fields = list(ok)
        for k, v in changes.items():
            fields[names.index(k)] = v
        return "\t".join(fields)

    data: list[bytes | str] = [
        line(),
        line(primaryTitle="a\tb"),  # tab inside a text field → too many fields
        line(tconst="tx123"),
        line(tconst="tt12"),
        line(tconst="\\N"),
        line(startYear="1999.5"),
        line(endYear="12345"),
        line(runtimeMinutes="1,234"),
        line(runtimeMinutes="12a"),
        line(runtimeMinutes="-5"),
        line(runtimeMinutes="99999999999"),
        line(isAdult="2"),
        line(isAdult="yes"),
        line(primaryTitle="x\xff\xfey").encode("latin-1"),
        line(startYear="1999.5", isAdult="2"),  # first failing check in order wins
        "\t".join(ok[:-1]),
        "",
        line(primaryTitle="\\N", originalTitle="\\N"),
        line(primaryTitle="", originalTitle="\\N"),
        line(primaryTitle="\\N", originalTitle="Only the original"),
        line(startYear="-5"),
        line(startYear="99", endYear="0"),
        line(primaryTitle="\\N", originalTitle="\\N", isAdult="2"),  # a bad value before a missing title
    ]
    assert reasons(spark, TITLE_BASICS, data) == {
        2: None,
        3: "field_count",
        4: "bad_id",
        5: "bad_id",
        6: "bad_id",
        7: "bad_year",
        8: "bad_year",
        9: "bad_integer",
        10: "bad_integer",
        11: "out_of_range",
        12: "out_of_range",
        13: "bad_boolean",
        14: "bad_boolean",
        15: "invalid_utf8",
        16: "bad_year",
        17: "field_count",
        18: "field_count",
        19: "missing_title",
        20: "missing_title",
        21: None,
        22: "bad_year",
        23: None,
        24: "bad_boolean",
    }


def test_ratings_decimals_never_rounded(spark: SparkSession) -> None:
    data = [
        "tt0000001\t7.5\t10",
        "tt0000002\t10\t0",
        "tt0000003\t7.25\t1",  # would need rounding
        "tt0000004\t7.x\t1",
        "tt0000005\t11.3\t1",
        "tt0000006\t-1\t1",
        "tt0000007\t5.0\t-3",
        "tt0000008\t5.0\t1,234",
        "tt0000009\t1e1\t1",
        "tt0000010\t5.0\t12345678901",  # bigint: fits
    ]
    assert reasons(spark, TITLE_RATINGS, data) == {
        2: None,
        3: None,
        4: "bad_decimal",
        5: "bad_decimal",
        6: "out_of_range",
        7: "out_of_range",
        8: "out_of_range",
        9: "bad_integer",
        10: "bad_decimal",
        11: None,
    }
    rows = good(spark, TITLE_RATINGS, data).orderBy("tconst").collect()
    assert [(r.averageRating, r.numVotes) for r in rows] == [
        (Decimal("7.5"), 10),
        (Decimal("10.0"), 0),
        (Decimal("5.0"), 12345678901),
    ]


def test_id_lists_json_and_x02_lists(spark: SparkSession) -> None:
    assert reasons(
        spark,
        TITLE_CREW,
        ["tt0000001\tnm0000001,nm10000002\t\\N", "tt0000002\tnm0000001,nm12\t\\N", "tt0000003\t\\N\tx"],
    ) == {2: None, 3: "bad_id", 4: "bad_id"}
    assert reasons(
        spark,
        NAME_BASICS,
        ["nm0000001\tFred\t1899\t1987\tactor,soundtrack\ttt0000001,tt9", "nx1\tA\t\\N\t\\N\t\\N\t\\N"],
    ) == {2: "bad_id", 3: "bad_id"}
    assert reasons(spark, TITLE_EPISODE, ["tt0000002\ttx123\t1\t2", "tt0000003\ttt0000001\t1\t2a"]) == {
        2: "bad_id",
        3: "bad_integer",
    }
    principals = [
        'tt0000001\t1\tnm0000001\tself\t\\N\t["Self","A \\"Q\\" B"]',
        'tt0000001\t2\tnm0000001\tactor\t\\N\t["Unclosed',
        "tt0000001\t3\tnm0000001\tactor\t\\N\t[1]",
        'tt0000001\t4\tnm0000001\tactor\t\\N\t{"a":"b"}',
        "tt0000001\t1,234\tnm0000001\tactor\t\\N\t\\N",
    ]
    assert reasons(spark, TITLE_PRINCIPALS, principals) == {
        2: None,
        3: "bad_json",
        4: "bad_json",
        5: "bad_json",
        6: "bad_integer",
    }
    row = good(spark, TITLE_PRINCIPALS, principals).collect()[0]
    assert row.characters == ["Self", 'A "Q" B']
    akas = good(
        spark, TITLE_AKAS, ["tt0000001\t1\tT\tUS\t\\N\timdbDisplay\x02working\tliteral title\x02x\t0"]
    )
    assert akas.collect() == [
        Row(
            titleId="tt0000001",
            ordering=1,
            title="T",
            region="US",
            language=None,
            types=["imdbDisplay", "working"],
            attributes=["literal title", "x"],
            isOriginalTitle=False,
        )
    ]
    assert reasons(spark, TITLE_AKAS, ["tt0000001\t1\tT\tUS\t\\N\t\\N\t\\N\t2"]) == {2: "bad_boolean"}


def test_json_arrays_read_as_jackson_reads_them(spark: SparkSession) -> None:
    """The fast path (no backslash: one pattern) gives what from_json gives, on arrays that pass
    the bad_json check: spacing, empty strings, brackets and commas inside strings, escapes."""
    valid = [
        "[]",
        "[ ]",
        '[""]',
        '["Self"]',
        '["a","b"]',
        '[ "a" , "b" ]',
        '["", "x", ""]',
        '["a,b","[c]"," ]"]',
        '["Dr. José Ñ 東京"]',
        '["A \\"Q\\" B","x"]',
        '["a\\",\\"b"]',
        '["back\\\\slash","\\/","\\u00e9"]',
        None,
    ]
    pattern = anchored(JSON_STRING_ARRAY)
    df = spark.createDataFrame([(v,) for v in valid], "c string")
    assert df.filter(F.col("c").isNotNull() & ~F.col("c").rlike(pattern)).count() == 0  # all valid
    rows = df.select(
        "c", json_string_array(F.col("c")).alias("fast"), F.from_json("c", "array<string>").alias("jackson")
    ).collect()
    assert [r.fast for r in rows] == [r.jackson for r in rows]
    assert rows[7].fast == ["a,b", "[c]", " ]"] and rows[10].fast == ['a","b']


KAGGLE_AVATAR = (
    "Color,James Cameron,723,178,0,855,Joel David Moore,1000,760505847,Action|Adventure|Sci-Fi,"
    "CCH Pounder,Avatar\u00a0,886204,4834,Wes Studi,0,avatar|future,"
    "http://www.imdb.com/title/tt0499549/?ref_=fn_tt_tt_1,3054,English,USA,PG-13,237000000,2009,936,7.9,1.78,33000"
)


def kaggle(**changes: str) -> str:
    import csv
    import io

    fields = next(csv.reader([KAGGLE_AVATAR]))
    for k, v in changes.items():
        fields[MOVIE_METADATA.header.index(k)] = v
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()


def test_kaggle_trimming_tconst_and_types(spark: SparkSession) -> None:
    data = [
        KAGGLE_AVATAR,
        kaggle(color=" Black and White", movie_title="Title, with comma\u00a0", budget="12215500000",
               movie_imdb_link="http://www.imdb.com/title/tt10000001/", title_year="", content_rating="  "),
    ]  # fmt: skip
    rows = {r.tconst: r for r in good(spark, MOVIE_METADATA, data).collect()}
    avatar, other = rows["tt0499549"], rows["tt10000001"]
    assert avatar.movie_title == "Avatar"
    assert avatar.genres == ["Action", "Adventure", "Sci-Fi"]
    assert avatar.plot_keywords == ["avatar", "future"]
    assert (avatar.imdb_score, avatar.aspect_ratio, avatar.gross) == (
        Decimal("7.9"),
        Decimal("1.78"),
        760505847,
    )
    assert other.color == "Black and White"
    assert other.movie_title == "Title, with comma"
    assert other.budget == 12215500000
    assert other.title_year is None and other.content_rating is None


def test_kaggle_reason_codes(spark: SparkSession) -> None:
    data = [
        kaggle(movie_imdb_link="http://www.imdb.com/name/nm0000001/"),
        kaggle(movie_imdb_link=""),
        kaggle(budget="unknown"),
        kaggle(title_year="2009.5"),
        kaggle(imdb_score="11.3"),
        kaggle(imdb_score="7.95"),
        KAGGLE_AVATAR + ",extra",
        KAGGLE_AVATAR.rsplit(",", 1)[0],
        kaggle(movie_title="x\udcff\udcfey").encode("utf-8", "surrogateescape"),
        'Color,"unclosed,' + KAGGLE_AVATAR.split(",", 2)[2],
    ]
    assert reasons(spark, MOVIE_METADATA, data) == {
        2: "bad_id",
        3: "bad_id",
        4: "bad_integer",
        5: "bad_year",
        6: "out_of_range",
        7: "bad_decimal",
        8: "field_count",
        9: "field_count",
        10: "invalid_utf8",
        11: "field_count",
    }


def test_number_lines_single_and_multi_partition(spark: SparkSession) -> None:
    one = spark.createDataFrame([(f"l{i}",) for i in range(5)], "value string").coalesce(1)
    assert [r.line_number for r in number_lines(one).collect()] == [1, 2, 3, 4, 5]
    many = spark.createDataFrame([(f"l{i}",) for i in range(50)], "value string").repartition(3)
    numbered = number_lines(many.sortWithinPartitions("value")).collect()
    assert sorted(r.line_number for r in numbered) == list(range(1, 51))


def marked(spark: SparkSession, raw: RawInput, data: list[bytes | str]) -> dict[int, tuple]:
    out = mark_duplicates(parse(lines(spark, data), raw), raw).select("line_number", "reason", "detail")
    return {r.line_number: (r.reason, r.detail) for r in out.collect()}


def test_tsv_duplicates_keep_smallest_line(spark: SparkSession) -> None:
    data = [
        "tt0000001\t7.0\t10",  # 2 kept
        "tt0000001\t7.0\t10\r",  # 3 same bytes apart from the CRLF end → deduplicated
        "tt0000001\t8.0\t10",  # 4 conflicting → duplicate_key
        "tt0000001\t8.0\t10",  # 5 repeat of 4 → deduplicated
        "tt0000002\t5.0\t1",  # 6 unique
        "tt0000002\t5.0\tx",  # 7 refused: same key as a valid row, but no conflict
    ]
    assert marked(spark, TITLE_RATINGS, data) == {
        2: (None, None),
        3: ("deduplicated", "byte-identical to line 2"),
        4: ("duplicate_key", "tconst=tt0000001 also on kept line 2"),
        5: ("deduplicated", "byte-identical to line 4"),
        6: (None, None),
        7: ("bad_integer", "numVotes 'x' is not an integer"),
    }


def test_composite_key_compares_typed_values(spark: SparkSession) -> None:
    data = [
        "tt0000001\t1\tnm0000001\tself\t\\N\t\\N",  # 2 kept
        "tt0000001\t01\tnm0000002\tself\t\\N\t\\N",  # 3 ordering 01 = 1 → duplicate_key
        "tt0000001\t2\tnm0000001\tself\t\\N\t\\N",  # 4 other ordering: kept
    ]
    got = marked(spark, TITLE_PRINCIPALS, data)
    assert {n: r for n, (r, _) in got.items()} == {2: None, 3: "duplicate_key", 4: None}
    assert got[3][1] == "tconst=tt0000001, ordering=1 also on kept line 2"


def test_kaggle_duplicates_keep_most_votes(spark: SparkSession) -> None:
    data = [
        kaggle(num_voted_users="100"),  # 2
        kaggle(num_voted_users="500"),  # 3 kept: most votes
        kaggle(num_voted_users="100"),  # 4 exact repeat of 2
        kaggle(num_voted_users="500", color="Colour"),  # 5 tie on votes, later line → duplicate_key
    ]
    got = marked(spark, MOVIE_METADATA, data)
    assert {n: r for n, (r, _) in got.items()} == {
        2: "duplicate_key",
        3: None,
        4: "deduplicated",
        5: "duplicate_key",
    }
    assert got[2][1] == "tconst=tt0499549 also on kept line 3"


def test_exact_repeats_of_refused_lines(spark: SparkSession) -> None:
    got = marked(spark, TITLE_RATINGS, ["bad", "bad", "bad\r", "other"])
    assert {n: r for n, (r, _) in got.items()} == {
        2: "field_count",
        3: "deduplicated",
        4: "deduplicated",
        5: "field_count",
    }


def test_output_and_quarantine_layout(spark: SparkSession) -> None:
    from datetime import datetime, timedelta, timezone

    from spark_jobs.schemas import QUARANTINE_SCHEMA

    parsed = parse(lines(spark, ["tt0000001\t7.0\t10", b"tt\xff\t1\t1\r"]), TITLE_RATINGS)
    one_am_in_paris = datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    out = to_output(parsed.filter("reason is null"), TITLE_RATINGS, "S1", one_am_in_paris)
    # Written from the catalogue's documented types, not taken from output_schema (the code under test).
    assert out.schema.simpleString() == (
        "struct<tconst:string,averageRating:decimal(3,1),numVotes:bigint,_snapshot_id:string,"
        "_loaded_at:timestamp_ntz>"
    )
    assert out.collect()[0]["_loaded_at"] == datetime(2026, 1, 1, 0, 0)  # the UTC wall time
    with pytest.raises(ValueError, match="aware"):
        to_output(parsed, TITLE_RATINGS, "S1", datetime(2026, 1, 1))
    q = to_quarantine(parsed.filter("reason is not null"), "title.ratings.tsv.gz")
    assert q.schema.simpleString() == QUARANTINE_SCHEMA.simpleString()
    row = q.collect()[0]
    assert (row.line_number, row.reason, bytes(row.raw_line)) == (3, "invalid_utf8", b"tt\xff\t1\t1\r")
