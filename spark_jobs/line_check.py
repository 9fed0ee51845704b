"""The compiled line check: one pass of Java over a TSV line's bytes tells a clean line.

Most lines of a delivery are clean. Spark's own checks (``transforms``) scan each line three times
(UTF-8, U+FFFD, control characters) and run a pattern per field; ``TsvLineCheck``
(``spark_jobs/jvm/imdbelt/TsvLineCheck.java``) answers "does every one of those checks pass?" in
one pass. A line it accepts skips them; every other line takes them all, so reasons, details and
their order are the job's own (tests/spark/test_line_check.py compares both ways, field by field).

The Java reads a spec derived here from the catalogue's rules (``column_rules``), so the rules keep
their one home. A column whose rule the spec cannot express leaves its input to Spark's checks.
Without the jar on the class path (``make setup`` builds it; ``--jars`` on a cluster) the job runs
Spark's checks alone: the same rows, slower.
"""

from __future__ import annotations

import logging
import re

from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType

from imdb_elt import catalog
from imdb_elt.catalog import RawInput
from imdb_elt.warehouse.types import byte_limits
from spark_jobs import compiled
from spark_jobs.rules import ColumnRule, column_rules
from spark_jobs.transforms import JSON_EXTRA, JSON_GROWTH, CleanLine, missing_title, outside_range

log = logging.getLogger("spark_jobs.clean_imdb")

#: The Java class, and the SQL function name it is registered under in a session.
CLASS_NAME = "imdbelt.TsvLineCheck"
FUNCTION_NAME = "imdb_tsv_line_is_clean"
#: Decimal digits a value of the type always holds (int: 9 of 2,147,483,647's 10).
_SAFE_DIGITS = {"tinyint": 2, "smallint": 4, "int": 9, "bigint": 18}


def _field_spec(rule: ColumnRule) -> str | None:
    """One column's spec token (see TsvLineCheck), None when the Java cannot express its rule."""
    if rule.kind in ("string", "list"):
        separator = rule.separator or ""
        value = f"s:{ord(separator)}" if len(separator) == 1 and ord(separator) < 0x20 else "s"
    elif rule.kind in ("id", "id_list"):
        m = re.fullmatch(r"([a-z]+)\[0-9\]\{([0-9]+),\}", rule.pattern or "")
        if m is None:
            return None
        value = f"i:{m[1]}:{m[2]}"
        if rule.kind == "id_list":
            separator = rule.separator or catalog.TSV_LIST_SEPARATOR
            value = f"l:{m[1]}:{m[2]}:{ord(separator)}"
    elif rule.kind == "year":
        m = re.fullmatch(r"\[0-9\]\{([0-9]+),([0-9]+)\}", rule.pattern or "")
        if m is None:
            return None
        value = f"u:{m[1]}:{m[2]}"
    elif rule.kind == "integer" and rule.pattern == catalog.INTEGER and rule.type in _SAFE_DIGITS:
        value = f"n:{_SAFE_DIGITS[rule.type]}"
    elif rule.kind == "decimal" and rule.pattern == catalog.DECIMAL:
        precision, scale = (int(x) for x in rule.type[len("decimal(") : -1].split(","))
        value = f"d:{precision - scale}:{scale}"
    elif rule.kind == "boolean" and catalog.BOOLEAN_VALUES == ("0", "1"):
        value = "b"
    elif rule.kind == "json" and rule.pattern == catalog.JSON_STRING_ARRAY:
        value = "j"  # only the plain form: no escape, no space
    else:
        return None
    return ("!" if rule.required else "") + value


def clean_line_bytes(raw: RawInput, staging: str) -> int | None:
    """The longest line (bytes) in which no value can be too_long: no field outgrows its line."""
    bounds: list[int] = []
    for rule in column_rules(raw):
        limits = byte_limits(rule.type, staging)
        bounds += [b for b in (limits.value, limits.element) if b is not None]
        if limits.array is not None:  # below this, too_long never builds the array's JSON either
            bounds.append((limits.array - JSON_EXTRA) // JSON_GROWTH)
    return min(bounds, default=None)


def tsv_line_spec(raw: RawInput, staging: str = "copy") -> str | None:
    """The spec of ``raw``'s lines for TsvLineCheck, None when one of its rules is beyond it."""
    if raw.fmt != "imdb_tsv" or catalog.TSV_NULL != "\\N" or raw.header != raw.column_names:
        return None
    fields = [_field_spec(rule) for rule in column_rules(raw)]
    if None in fields:
        return None
    bound = clean_line_bytes(raw, staging)
    return ";".join(["-" if bound is None else str(bound), *fields])  # type: ignore[list-item]


def available(spark: SparkSession) -> bool:
    """The Java check is registered in ``spark`` (registered now if need be); False, with one
    warning per session, when its jar is not on the class path."""
    if spark.catalog.functionExists(FUNCTION_NAME):
        return True
    if not compiled.register(spark, FUNCTION_NAME, CLASS_NAME, BooleanType()):
        return False
    log.info("line checks: compiled (%s) first, Spark expressions for the lines it does not pass", CLASS_NAME)
    return True


def is_clean(value: Column, spec: str) -> Column:
    """True for a line (``value``, as read) that passes every line and field check of ``spec``."""
    return F.call_function(FUNCTION_NAME, value.cast("binary"), F.lit(spec).cast("binary"))


def clean_line(spark: SparkSession, raw: RawInput, staging: str = "copy") -> CleanLine | None:
    """``annotate``'s shortcut for ``raw``: the Java check, then the ranges and missing_title on
    the typed values (Spark's own expressions). None: the session has no Java check, or the
    input's rules are beyond it."""
    spec = tsv_line_spec(raw, staging)
    if spec is None or not available(spark):
        return None
    rules = column_rules(raw)
    untitled = missing_title(raw)

    def clean(typed: dict[str, Column]) -> Column:
        every = is_clean(F.col("value"), spec)
        for rule in rules:
            if (outside := outside_range(rule, typed[rule.name])) is not None:
                every = every & ~outside
        if untitled is not None:
            every = every & ~untitled
        return F.coalesce(every, F.lit(False))

    return clean
