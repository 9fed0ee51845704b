"""Pure checks (no Spark session): schemas follow the catalogue, the header check refuses drift."""

from __future__ import annotations

import pytest
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DecimalType,
    IntegerType,
    LongType,
    StringType,
    TimestampNTZType,
)

from imdb_elt.catalog import INPUTS, MOVIE_METADATA, TITLE_BASICS, TITLE_RATINGS
from spark_jobs.errors import CleaningError, root_cause
from spark_jobs.header import check_header
from spark_jobs.rules import REASONS, column_rules
from spark_jobs.schemas import QUARANTINE_SCHEMA, output_schema, spark_type


@pytest.mark.parametrize("raw", INPUTS, ids=lambda r: r.dataset)
def test_output_schema_is_catalogue_then_lineage(raw) -> None:
    schema = output_schema(raw)
    assert schema.names == [*raw.column_names, "_snapshot_id", "_loaded_at"]
    assert schema["_loaded_at"].dataType == TimestampNTZType()  # UTC wall time, as the warehouses
    for col in raw.columns:
        assert schema[col.name].dataType == spark_type(col.type)


def test_spark_types() -> None:
    # Every type the catalogue uses, spelled out: output_schema is built from these.
    assert spark_type("decimal(3,1)") == DecimalType(3, 1)
    assert spark_type("decimal(5,2)") == DecimalType(5, 2)
    assert spark_type("array<string>") == ArrayType(StringType(), True)
    assert spark_type("bigint") == LongType()
    assert spark_type("int") == IntegerType()
    assert spark_type("string") == StringType()
    assert spark_type("boolean") == BooleanType()
    assert spark_type("timestamp") == TimestampNTZType()
    assert {c.type for raw in INPUTS for c in raw.columns} <= {
        "decimal(3,1)", "decimal(5,2)", "array<string>", "bigint", "int", "string", "boolean", "timestamp"}
    with pytest.raises(ValueError, match="map<"):
        spark_type("map<string,int>")


def test_quarantine_schema() -> None:
    assert [f.simpleString() for f in QUARANTINE_SCHEMA.fields] == [
        "source_file:string",
        "line_number:bigint",
        "reason:string",
        "detail:string",
        "raw_line:binary",
    ]


def test_every_column_has_a_rule() -> None:
    kinds = {r.name: r.kind for r in column_rules(TITLE_BASICS)}
    assert kinds == {
        "tconst": "id",
        "titleType": "string",
        "primaryTitle": "string",
        "originalTitle": "string",
        "isAdult": "boolean",
        "startYear": "year",
        "endYear": "year",
        "runtimeMinutes": "integer",
        "genres": "list",
    }
    kaggle = {r.name: r for r in column_rules(MOVIE_METADATA)}
    assert kaggle["genres"].separator == "|"
    assert kaggle["tconst"].required
    assert REASONS.index("bad_id") < REASONS.index("bad_year") < REASONS.index("bad_integer")


def test_header_exact_passes_with_or_without_cr() -> None:
    line = "\t".join(TITLE_BASICS.header)
    check_header(line, TITLE_BASICS)
    check_header(line + "\r", TITLE_BASICS)
    check_header(",".join(MOVIE_METADATA.header), MOVIE_METADATA)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["tconst", "averageRating"], r"missing column\(s\) \['numVotes'\]"),
        (
            ["tconst", "avgRating", "numVotes"],
            r"missing column\(s\) \['averageRating'\].*unexpected.*avgRating",
        ),
        (["tconst", "averageRating", "numVotes", "extra"], r"unexpected column\(s\) \['extra'\]"),
        (["tconst", "numVotes", "averageRating"], "out of order"),
    ],
)
def test_header_drift_names_file_and_columns(header: list[str], expected: str) -> None:
    with pytest.raises(CleaningError, match=rf"^title\.ratings\.tsv\.gz: header drift: .*{expected}"):
        check_header("\t".join(header), TITLE_RATINGS)


@pytest.mark.parametrize("sep", [",", ";"])
def test_wrong_delimiter(sep: str) -> None:
    with pytest.raises(CleaningError, match=r"^title\.ratings\.tsv\.gz: wrong delimiter"):
        check_header(sep.join(TITLE_RATINGS.header), TITLE_RATINGS)
    with pytest.raises(CleaningError, match=r"^movie_metadata\.csv: wrong delimiter"):
        check_header("\t".join(MOVIE_METADATA.header), MOVIE_METADATA)


def test_root_cause_takes_last_caused_by() -> None:
    exc = RuntimeError(
        "An error occurred\nCaused by: a\n\tat x\nCaused by: java.io.EOFException: Unexpected end"
    )
    assert root_cause(exc) == "java.io.EOFException: Unexpected end"
