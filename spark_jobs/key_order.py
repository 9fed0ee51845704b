"""The key check's shortcut: pass 1 finds a file's repeated keys itself when its keys come sorted.

The key check (``clean_file``) reads the written keys back and counts their hashes: a second scan
and a shuffle per file, 30% of the cleaning's file-seconds at SF=1. Pass 1 can do it for free when
the keys come in order, as in IMDb's sorted dumps. It spreads a big file's lines over its tasks by
the key's text as read (``spread_by``), so every row of one key lands in one task, and
``KeyOrderCheck`` (``spark_jobs/jvm/imdbelt/KeyOrderCheck.java``) places each written row's key
against the previous row's in the same task (``order``): after it, a repeat of it, or unproven
(before it). A task's rows keep the file's order, so when no row is unproven each repeated key's
rows are neighbours, and the rows answered ``REPEAT`` name every repeated key: pass 1 collects their
hashes, and the lines of their rows (the revisit builds the dedup record from them, without
reading the file again: ``spark_jobs.carry``). A repeated key's first row is then its first line;
where the dedup keeps the first line (``transforms.keeps_first_line``: IMDb's files), pass 1
writes no row answered ``REPEAT``, so the rows it wrote need no rewrite. Any unproven row (an
unsorted delivery, a task with more than its share of ``max_repeats`` or of ``max_bytes``) sends
the file to the full key check, and the revisit then reads the file again and rewrites what pass 1
wrote, as it would without the shortcut.
"""

from __future__ import annotations

import logging

from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BinaryType, IntegerType, LongType, StructField, StructType

from imdb_elt.catalog import RawInput
from spark_jobs import compiled

log = logging.getLogger("spark_jobs.clean_imdb")

CLASS_NAME = "imdbelt.KeyOrderCheck"
FUNCTION_NAME = "imdb_key_order"
#: ``KeyOrderCheck``'s answers (its constants of the same names).
AFTER, REPEAT, UNPROVEN = 0, 1, 2
#: What it returns: null for AFTER, else the answer and, on a key's first REPEAT, that key's first
#: row (the previous one): its line number and line.
RESULT = StructType([
    StructField("answer", IntegerType(), False),
    StructField("first_line", LongType(), True),
    StructField("first_value", BinaryType(), True),
])  # fmt: skip
_INTEGER_TYPES = ("tinyint", "smallint", "int", "bigint")


def available(spark: SparkSession) -> bool:
    """The Java function is registered in ``spark`` (now if need be); False when its jar is missing."""
    return compiled.register(spark, FUNCTION_NAME, CLASS_NAME, RESULT)


def spread_by(raw: RawInput) -> Column | None:
    """A raw line's text that equals the typed key's first column on every written row: the
    field as read. None for an input whose lines cannot be cut so simply (quoted CSV), or whose
    key starts in its last field (a CRLF line end would follow it)."""
    if raw.fmt != "imdb_tsv" or raw.header != raw.column_names:
        return None
    index = raw.header.index(raw.key[0])
    if index == len(raw.header) - 1 or dict((c.name, c.type) for c in raw.columns)[raw.key[0]] != "string":
        return None
    return F.substring_index(F.substring_index(F.col("value"), "\t", index + 1), "\t", -1)


def order(
    raw: RawInput, line_number: Column, value: Column, max_repeats: int, max_bytes: int
) -> Column | None:
    """Over the valid rows of ``raw``: a ``RESULT`` (null for AFTER) placing the row's key against
    the previous row's in its task (ids by number, then the integer column); a REPEAT also has a
    larger ``line_number``, and a task's repeats past ``max_repeats``, or whose lines (``value``,
    the first row's included) pass ``max_bytes``, are UNPROVEN. None for a key of another shape
    than a text column and at most one integer column. Stateful: evaluate it once per row (a
    column of a projection); read it with ``answer``."""
    types = dict((c.name, c.type) for c in raw.columns)
    text, *rest = raw.key
    if types[text] != "string" or len(rest) > 1 or (rest and types[rest[0]] not in _INTEGER_TYPES):
        return None
    number = F.col(rest[0]).cast("bigint") if rest else F.lit(None).cast("bigint")
    return F.call_function(
        FUNCTION_NAME,
        F.col(text).cast("binary"),
        number,
        line_number.cast("bigint"),
        value.cast("binary"),
        F.lit(max_repeats),
        F.lit(max_bytes).cast("bigint"),
    )


def answer(result: Column) -> Column:
    """AFTER, REPEAT or UNPROVEN, from ``order``'s result."""
    return F.coalesce(result["answer"], F.lit(AFTER))
