"""Spark schemas derived from the catalogue, so the job can never drift from the shared contract.

``imdb_elt.catalog`` holds the columns as Spark SQL DDL type names; this module turns them into
StructTypes (output = catalogue columns, then the lineage columns) and defines the quarantine
layout every dataset shares.
"""

from __future__ import annotations

import re

from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    BooleanType,
    DataType,
    DecimalType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampNTZType,
)

from imdb_elt.catalog import LINEAGE_COLUMNS, RawInput

#: Every quarantine dataset has exactly these columns: where the line was, why it was refused,
#: and the bytes as delivered (never decoded, so invalid UTF-8 survives for inspection).
QUARANTINE_SCHEMA = StructType(
    [
        StructField("source_file", StringType(), False),
        StructField("line_number", LongType(), False),
        StructField("reason", StringType(), False),
        StructField("detail", StringType(), True),
        StructField("raw_line", BinaryType(), False),
    ]
)


_SCALARS: dict[str, DataType] = {
    "string": StringType(),
    "int": IntegerType(),
    "bigint": LongType(),
    "boolean": BooleanType(),
    # UTC wall time without a zone, as every warehouse column of the type: a reader converts
    # nothing, so DuckDB answers max(_loaded_at) (dbt's freshness) from the Parquet statistics.
    "timestamp": TimestampNTZType(),
}
_DECIMAL = re.compile(r"decimal\((\d+),\s*(\d+)\)")
_ARRAY = re.compile(r"array<(.+)>")


def spark_type(ddl: str) -> DataType:
    """A catalogue type name ("int", "decimal(3,1)", "array<string>") as a Spark DataType.

    Parsed here rather than by Spark's DDL parser so that schemas exist without a SparkSession
    (pure unit tests, DAG parse time).
    """
    name = ddl.strip().lower()
    if name in _SCALARS:
        return _SCALARS[name]
    if m := _DECIMAL.fullmatch(name):
        return DecimalType(int(m[1]), int(m[2]))
    if m := _ARRAY.fullmatch(name):
        return ArrayType(spark_type(m[1]), containsNull=True)
    raise ValueError(f"catalogue type {ddl!r} has no Spark mapping")


def output_schema(raw: RawInput) -> StructType:
    """Catalogue columns in catalogue order, then ``_snapshot_id``, ``_loaded_at``."""
    fields = [StructField(c.name, spark_type(c.type), c.nullable) for c in raw.columns]
    fields += [StructField(n, spark_type(t), False) for n, t in LINEAGE_COLUMNS]
    return StructType(fields)


def output_column_names(raw: RawInput) -> list[str]:
    return [*raw.column_names, *(n for n, _ in LINEAGE_COLUMNS)]


#: The dedup record: every line dropped as a byte-identical copy (CRLF ignored) of an earlier one.
DEDUPLICATED_SCHEMA = StructType(
    [
        StructField("source_file", StringType(), False),
        StructField("line_number", LongType(), False),
        StructField("first_line_number", LongType(), False),
    ]
)
