"""Lines pass 1 carries to the revisit, so that a file with a few refused rows or repeated keys
is not read a second time.

The revisit builds the quarantine and the dedup record from the lines that matter: every refused
line, and every line of a repeated key. Pass 1 sees them all as they stream by. Its observations
collect them (line number and bytes as delivered) within a budget of bytes per task:
``LineBudget`` (``spark_jobs/jvm/imdbelt/LineBudget.java``) for the refused lines, and
``KeyOrderCheck``'s own cap for the repeats' lines (``spark_jobs.key_order``). A file whose lines
all fit is revisited from them; any other is read again, as without the jar.

The lines stay in the JVM: the observation's list becomes a local DataFrame there, so bytes that
are not UTF-8 keep every byte, no Python worker starts, and no literal of the lines enters a plan.
An observation evaluates its collecting aggregates row by row without generated code, so each
collects under one cheap condition (a column that is null on almost every row).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BinaryType, BooleanType, LongType, StructField, StructType

from spark_jobs import compiled

CLASS_NAME = "imdbelt.LineBudget"
FUNCTION_NAME = "imdb_line_budget"
#: A carried line: its number and its bytes as delivered.
LINE = StructType([StructField("line_number", LongType(), False), StructField("value", BinaryType(), True)])
#: A carried repeat: its line, and on its key's first repeat that key's first line (else nulls).
REPEAT = StructType([
    StructField("first_line", LongType(), True),
    StructField("first_value", BinaryType(), True),
    *LINE.fields,
])  # fmt: skip


def available(spark: SparkSession) -> bool:
    """``LineBudget`` is registered in ``spark`` (now if need be); False when its jar is missing."""
    return compiled.register(spark, FUNCTION_NAME, CLASS_NAME, BooleanType())


def within_budget(value: Column, budget: int) -> Column:
    """True while the task's carried lines, ``value`` included, hold at most ``budget`` bytes.
    Stateful: evaluate it once per row (a column of a projection), only for the lines to carry."""
    return F.call_function(FUNCTION_NAME, F.octet_length(value), F.lit(budget).cast("bigint"))


def line(line_number: Column, value: Column) -> Column:
    """A carried line (``LINE``); ``value``: the line as a string or as bytes."""
    return F.struct(line_number.cast("bigint").alias("line_number"), value.cast("binary").alias("value"))


def repeat(first_line: Column, first_value: Column, line_number: Column, value: Column) -> Column:
    """A carried repeat (``REPEAT``); ``value``: the line as a string or as bytes."""
    return F.struct(
        first_line.cast("bigint").alias("first_line"),
        first_value.cast("binary").alias("first_value"),
        line_number.cast("bigint").alias("line_number"),
        value.cast("binary").alias("value"),
    )


def _frame(spark: SparkSession, observed: object, schema: StructType) -> DataFrame:
    """An observed list of ``schema`` structs (a py4j handle of a Scala sequence) as a local
    DataFrame, built in the JVM."""
    jvm = spark._jvm
    assert jvm is not None
    rows = jvm.scala.jdk.javaapi.CollectionConverters.asJava(observed)
    jschema = spark._jsparkSession.parseDataType(schema.json())
    return DataFrame(spark._jsparkSession.createDataFrame(rows, jschema), spark)


def lines_frame(spark: SparkSession, refused: object | None, repeats: object | None) -> DataFrame:
    """The carried lines as ``line_number``, ``value`` (a string, as ``io.read_lines`` gives):
    ``refused``, an observed list of ``LINE``; ``repeats``, one of ``REPEAT`` (each repeat's line,
    and its key's first line)."""
    parts = []
    if refused is not None:
        parts.append(_frame(spark, refused, LINE))
    if repeats is not None:
        frame = _frame(spark, repeats, REPEAT)
        firsts = frame.filter(F.col("first_line").isNotNull())
        parts += [frame.select(*LINE.names), firsts.select(F.col("first_line").alias("line_number"),
                                                         F.col("first_value").alias("value"))]
    assert parts, "no carried lines"
    lines = parts[0]
    for part in parts[1:]:
        lines = lines.unionByName(part)
    return lines.select("line_number", F.col("value").cast("string").alias("value"))
