"""Issue 13's rules on real-looking lines: whole-value patterns, control characters, titles, years.

Every pattern is tested through ``parse`` (the expressions the job runs), with the value followed
by each of Java's five line terminators, because Java's ``$`` would match before them.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from imdb_elt import catalog
from imdb_elt.catalog import MOVIE_METADATA, NAME_BASICS, TITLE_AKAS, TITLE_BASICS, TITLE_PRINCIPALS, RawInput
from spark_jobs import rules as R
from spark_jobs.rules import anchored, column_rules
from spark_jobs.transforms import parse
from tests.spark.test_transforms import KAGGLE_AVATAR, good, lines

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

#: Java's line terminators: ``$`` matches before any one of them at the end of the input.
TERMINATORS = ("\r", "\n", "\u0085", "\u2028", "\u2029")

#: One valid line per input, as raw fields.
VALID: dict[str, list[str]] = {
    "title_basics": ["tt0000001", "short", "T", "T", "0", "1999", "2000", "5", "Drama"],
    "title_ratings": ["tt0000001", "7.5", "10"],
    "title_crew": ["tt0000001", "nm0000001,nm0000002", "nm0000003,nm0000004"],
    "title_episode": ["tt0000002", "tt0000001", "1", "2"],
    "title_principals": ["tt0000001", "1", "nm0000001", "self", "\\N", '["Self"]'],
    "name_basics": ["nm0000001", "Fred", "1899", "1987", "actor", "tt0000001,tt0000002"],
    "title_akas": ["tt0000001", "1", "T", "US", "en", "imdbDisplay\x02working", "literal", "0"],
    "movie_metadata": next(csv.reader([KAGGLE_AVATAR])),
}
REASON_OF_KIND = {
    "id": R.BAD_ID,
    "id_list": R.BAD_ID,
    "year": R.BAD_YEAR,
    "integer": R.BAD_INTEGER,
    "decimal": R.BAD_DECIMAL,
    "boolean": R.BAD_BOOLEAN,
    "json": R.BAD_JSON,
}


def to_line(raw: RawInput, fields: list[str]) -> str:
    if raw.fmt == "imdb_tsv":
        return "\t".join(fields)
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()


def reasons_of(spark: SparkSession, raw: RawInput, data: list[str | bytes]) -> dict[int, str | None]:
    rows = parse(lines(spark, data), raw).select("line_number", "reason").collect()
    return {r.line_number: r.reason for r in rows}


def _terminator_cases(raw: RawInput) -> list[tuple[str, str, str | None]]:
    """(description, line, expected reason) for every patterned field and every terminator."""
    cases = []
    header = list(raw.header)
    for rule in column_rules(raw):
        if raw.fmt == "kaggle_csv" and rule.name == "tconst":
            target, kind = "movie_imdb_link", "id"  # tconst comes from the link
        elif rule.kind in REASON_OF_KIND:
            target, kind = rule.name, rule.kind
        else:
            continue
        index = header.index(target)
        for t in TERMINATORS:
            fields = list(VALID[raw.dataset])
            value = fields[index] if fields[index] != "\\N" else "tt0000009"
            if raw.fmt == "kaggle_csv" and target == "movie_imdb_link":
                value = "http://www.imdb.com/title/tt0499549"
            fields[index] = value + t
            line = to_line(raw, fields)
            if line.endswith("\r"):
                expected = None  # the one \r before the line end is a CRLF line end
            elif t in ("\r", "\n"):
                expected = R.CONTROL_CHARACTER
            else:
                expected = REASON_OF_KIND[kind]
            cases.append((f"{target}+U+{ord(t):04X}", line, expected))
        if kind == "id_list":  # a terminator inside the list, before the separator
            assert "," in VALID[raw.dataset][index]
            fields = list(VALID[raw.dataset])
            fields[index] = fields[index].replace(",", "\u2028,", 1)
            cases.append((f"{target} inner U+2028", to_line(raw, fields), R.BAD_ID))
    return cases


@pytest.mark.parametrize("raw", catalog.INPUTS, ids=lambda r: r.dataset)
def test_every_pattern_refuses_a_value_followed_by_a_line_terminator(spark: SparkSession, raw) -> None:
    cases = _terminator_cases(raw)
    assert cases, raw.dataset
    data: list[str | bytes] = [to_line(raw, VALID[raw.dataset]), *(line for _, line, _ in cases)]
    got = reasons_of(spark, raw, data)
    assert got[2] is None, "the unmodified line is valid"
    wrong = {
        desc: (expected, got[i]) for i, (desc, _, expected) in enumerate(cases, start=3) if got[i] != expected
    }
    assert not wrong, wrong
    print(f"{raw.dataset}: {len(cases)} terminator cases")


def test_anchoring_is_what_makes_the_difference(spark: SparkSession) -> None:
    """Java's ``$`` accepts a final terminator; ``anchored`` (``\\z``) refuses all five."""
    values = [("tt1234567" + t,) for t in TERMINATORS] + [("tt1234567",)]
    df = spark.createDataFrame(values, "v string")
    row = df.select(
        F.count_if(F.col("v").rlike(f"^{catalog.TCONST}$")).alias("dollar"),
        F.count_if(F.col("v").rlike(anchored(catalog.TCONST))).alias("z"),
    ).collect()[0]
    assert row.dollar == 1 + len(TERMINATORS)  # the hazard: $ accepts every terminator at the end
    assert row.z == 1


def test_catalogue_patterns_fullmatch_in_python_as_in_java() -> None:
    """The catalogue's patterns are read alike by Python (tests, dbt generators) and Java."""
    cases = {
        catalog.YEAR: (["0", "7", "65", "525", "1999"], ["12345", "-5", "1999.5", "", "١٩٩٩"]),
        catalog.TCONST: (["tt0000001", "tt10000002"], ["tt123456", "tx0000001", "tt000000١"]),
        catalog.INTEGER: (["0", "-12", "0090"], ["1,234", "12a", "", "+5"]),
        catalog.DECIMAL: (["7.5", "-1", "10.25"], ["7.", ".5", "1e1"]),
        catalog.BOOLEAN: (["0", "1"], ["2", "yes", ""]),
        catalog.JSON_STRING_ARRAY: (
            ['["Self"]', "[]", '[ "a" , "b\\"c" ]', '["\\u00e9"]'],
            ['["a\\nb"]', '["\\u0001"]', '["\\ufffd"]', '["\\ud800"]', "[1]", '{"a":"b"}', '["x'],
        ),
        catalog.KAGGLE_LINK: (
            ["http://www.imdb.com/title/tt0499549/?ref_=fn_tt_tt_1", "https://imdb.com/title/tt10000001"],
            ["http://www.imdb.com/name/nm0000001/", "http://www.imdb.com/title/tt0499549x/", ""],
        ),
    }
    for pattern, (accepted, refused) in cases.items():
        for v in accepted:
            assert re.fullmatch(pattern, v), (pattern, v)
        for v in refused:
            assert not re.fullmatch(pattern, v), (pattern, v)


def test_rule_data_lives_in_the_catalogue() -> None:
    by_name = {r.name: r for r in column_rules(NAME_BASICS)}
    assert (by_name["birthYear"].kind, by_name["birthYear"].pattern) == ("year", catalog.YEAR)
    assert (by_name["knownForTitles"].kind, by_name["knownForTitles"].pattern) == ("id_list", catalog.TCONST)
    assert by_name["knownForTitles"].separator == ","
    akas = {r.name: r for r in column_rules(TITLE_AKAS)}
    assert akas["types"].separator == akas["attributes"].separator == "\x02"
    assert akas["ordering"].minimum == 0 and akas["ordering"].required
    principals = {r.name: r for r in column_rules(TITLE_PRINCIPALS)}
    assert principals["characters"].kind == "json"
    kaggle = {r.name: r for r in column_rules(MOVIE_METADATA)}
    assert (kaggle["imdb_score"].minimum, kaggle["imdb_score"].maximum) == (0, 10)
    assert kaggle["title_year"].kind == "year" and kaggle["genres"].separator == "|"
    assert TITLE_BASICS.title_columns == ("primaryTitle", "originalTitle")
    assert MOVIE_METADATA.title_columns == ("movie_title",)


def test_historical_years_are_typed_and_kept(spark: SparkSession) -> None:
    data = [
        "nm0000001\tProcopius\t500\t565\twriter\t\\N",
        "nm0000002\tOvid\t\\N\t17\twriter\t\\N",
        "nm0000003\tNobody\t0\t\\N\t\\N\t\\N",
    ]
    rows = good(spark, NAME_BASICS, data).orderBy("nconst").collect()
    assert [(r.birthYear, r.deathYear) for r in rows] == [(500, 565), (None, 17), (0, None)]


def test_control_characters_inside_fields(spark: SparkSession) -> None:
    base = VALID["title_basics"]

    def basics(title: str, end: str = "") -> str:
        return "\t".join([base[0], base[1], title, *base[3:]]) + end

    data: list[str | bytes] = [
        basics("bare\rcr"),  # 2
        basics("T", "\r"),  # 3 CRLF line end: written
        basics("T", "\r\r"),  # 4 one \r is the line end, the other is inside the last field
        basics("nul\x00"),  # 5
        basics("esc\x1b["),  # 6
        basics("stx\x02"),  # 7 \x02 is only legitimate in akas types/attributes
        basics("del\x7f"),  # 8 DEL is not a C0 control character: data
        basics("replaced \ufffd"),  # 9 valid UTF-8, but the mark of bytes lost upstream
        basics("vt\x0b").encode() + b"\xff",  # 10 invalid UTF-8 comes first
    ]
    parsed = parse(lines(spark, data), TITLE_BASICS).select("line_number", "reason", "detail").collect()
    got = {r.line_number: (r.reason, r.detail) for r in parsed}
    assert {n: r for n, (r, _) in got.items()} == {
        2: "control_character",
        3: None,
        4: "control_character",
        5: "control_character",
        6: "control_character",
        7: "control_character",
        8: None,
        9: "invalid_utf8",
        10: "invalid_utf8",
    }
    assert got[2][1] == "control character U+000D inside a field"
    assert got[5][1] == "control character U+0000 inside a field"
    assert "U+FFFD" in got[9][1]
    akas = VALID["title_akas"]
    akas_lines: list[str | bytes] = [
        "\t".join(akas),  # 2 \x02 separates types
        "\t".join([*akas[:2], "A\x02B", *akas[3:]]),  # 3 ... but not inside the title
        "\t".join([*akas[:5], "imdbDisplay\x01working", *akas[6:]]),  # 4 another control character
        "\t".join([*akas[:6], "a\x02b\x02c", akas[7]]) + "\r",  # 5 attributes, CRLF end
    ]
    assert reasons_of(spark, TITLE_AKAS, akas_lines) == {
        2: None,
        3: "control_character",
        4: "control_character",
        5: None,
    }
    detail = parse(lines(spark, akas_lines[1:2]), TITLE_AKAS).collect()[0].detail
    assert detail == "control character U+0002 inside title"
    kaggle = VALID["movie_metadata"]
    title = MOVIE_METADATA.header.index("movie_title")
    kaggle_lines: list[str | bytes] = [
        to_line(MOVIE_METADATA, [*kaggle[:title], "Tab\there", *kaggle[title + 1 :]]),
        to_line(MOVIE_METADATA, [*kaggle[:title], "CR\rinside quotes", *kaggle[title + 1 :]]),
        KAGGLE_AVATAR + "\r",
    ]
    assert reasons_of(spark, MOVIE_METADATA, kaggle_lines) == {
        2: "control_character",
        3: "control_character",
        4: None,
    }


def test_json_escapes_that_would_decode_to_control_characters(spark: SparkSession) -> None:
    base = VALID["title_principals"]

    def principal(ordering: int, characters: str) -> str:
        return "\t".join([base[0], str(ordering), *base[2:5], characters])

    data: list[str | bytes] = [
        principal(1, '["Caf\\u00e9", "A \\"Q\\""]'),
        principal(2, '["line\\nbreak"]'),
        principal(3, '["\\u001f"]'),
        principal(4, '["\\uFFFD"]'),
        principal(5, '["tab\\t"]'),
    ]
    assert reasons_of(spark, TITLE_PRINCIPALS, data) == {
        2: None,
        3: "bad_json",
        4: "bad_json",
        5: "bad_json",
        6: "bad_json",
    }
    assert good(spark, TITLE_PRINCIPALS, data[:1]).collect()[0].characters == ["Café", 'A "Q"']


def test_missing_title_kaggle(spark: SparkSession) -> None:
    kaggle = VALID["movie_metadata"]
    title = MOVIE_METADATA.header.index("movie_title")

    def with_title(t: str) -> str:
        return to_line(MOVIE_METADATA, [*kaggle[:title], t, *kaggle[title + 1 :]])

    assert reasons_of(spark, MOVIE_METADATA, [with_title(""), with_title("\u00a0 "), with_title("A")]) == {
        2: "missing_title",
        3: "missing_title",
        4: None,
    }
