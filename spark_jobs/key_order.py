"""The key check's shortcut: pass 1 proves that a file repeats no key, as IMDb's sorted dumps don't.

The key check (``clean_file``) reads the written keys back and counts their hashes: a second scan
and a shuffle per file, 30% of the cleaning's file-seconds at SF=1. Pass 1 can prove the common
case for free. It spreads a big file's lines over its tasks by the key's text as read
(``spread_by``), so every row of one key lands in one task, and ``KeyOrderCheck``
(``spark_jobs/jvm/imdbelt/KeyOrderCheck.java``) counts the written rows whose key is not strictly
after the previous row's in the same task. IMDb sorts its dumps by key, and a task's rows keep the
file's order, so the count is 0: no task holds two rows of one key, the file needs no key check.
Any other count (a repeat, an unsorted delivery) sends the file to the full key check: the
shortcut never decides what is written, only whether the check has anything to find.
"""

from __future__ import annotations

import logging

from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from imdb_elt.catalog import RawInput
from spark_jobs import compiled

log = logging.getLogger("spark_jobs.clean_imdb")

CLASS_NAME = "imdbelt.KeyOrderCheck"
FUNCTION_NAME = "imdb_key_not_after_previous"
_INTEGER_TYPES = ("tinyint", "smallint", "int", "bigint")


def available(spark: SparkSession) -> bool:
    """The Java function is registered in ``spark`` (now if need be); False when its jar is missing."""
    return compiled.register(spark, FUNCTION_NAME, CLASS_NAME)


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


def not_after_previous(raw: RawInput) -> Column | None:
    """Over the output rows of ``raw``: true when the row's key is not strictly after the previous
    row's in its task (ids by number, then the integer column). None for a key of another shape
    than a text column and at most one integer column."""
    types = dict((c.name, c.type) for c in raw.columns)
    text, *rest = raw.key
    if types[text] != "string" or len(rest) > 1 or (rest and types[rest[0]] not in _INTEGER_TYPES):
        return None
    number = F.col(rest[0]).cast("bigint") if rest else F.lit(None).cast("bigint")
    return F.call_function(FUNCTION_NAME, F.col(text).cast("binary"), number)
