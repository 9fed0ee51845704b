"""The reason codes, and the accessor from the catalogue's column rules to what the job checks.

The rule data (kinds, patterns, separators, ranges) lives in ``imdb_elt.catalog``; this module
adds the order in which checks run and how a pattern is anchored for Java. Kept apart from the
Spark expressions (``transforms``) so that the documentation (docs/cleaning.md), the tests and dbt
can name every rule from one table. Pure Python, no Spark.
"""

from __future__ import annotations

from dataclasses import dataclass

from imdb_elt.catalog import RawInput

# Reason codes, in the order the checks run: the first failing check names the row's reason.
# A last line without a final newline has no reason of its own: it is checked like any line.
INVALID_UTF8 = "invalid_utf8"
#: A C0 control character (U+0000..U+001F) inside a field.
CONTROL_CHARACTER = "control_character"
FIELD_COUNT = "field_count"
BAD_ID = "bad_id"
BAD_YEAR = "bad_year"
BAD_INTEGER = "bad_integer"
BAD_DECIMAL = "bad_decimal"
OUT_OF_RANGE = "out_of_range"
BAD_BOOLEAN = "bad_boolean"
BAD_JSON = "bad_json"
#: A valid value longer than the production warehouse holds (imdb_elt.warehouse.types.byte_limits).
TOO_LONG = "too_long"
#: A title row with no title at all (title.basics: neither primaryTitle nor originalTitle).
MISSING_TITLE = "missing_title"
#: Not a parse failure: a second, different row with the same natural key.
DUPLICATE_KEY = "duplicate_key"

REASONS: tuple[str, ...] = (
    INVALID_UTF8,
    CONTROL_CHARACTER,
    FIELD_COUNT,
    BAD_ID,
    BAD_YEAR,
    BAD_INTEGER,
    BAD_DECIMAL,
    OUT_OF_RANGE,
    BAD_BOOLEAN,
    BAD_JSON,
    TOO_LONG,
    MISSING_TITLE,
    DUPLICATE_KEY,
)

#: The C0 control characters, as a regular-expression class body.
C0_CONTROLS = "\\x00-\\x1F"
#: U+FFFD in valid UTF-8 marks bytes an upstream decoder already lost: refused as invalid_utf8.
REPLACEMENT_CHARACTER = "\ufffd"


def anchored(pattern: str) -> str:
    """A Java pattern matching the WHOLE value: ``\\z``, not ``$``.

    In Java ``$`` also matches before a final line terminator (``\\r``, ``\\n``, ``\\u0085``,
    ``\\u2028``, ``\\u2029``), so ``^tt\\d{7,}$`` would accept ``tt1234567\\r``.
    """
    return f"^(?:{pattern})\\z"


@dataclass(frozen=True)
class ColumnRule:
    """How one raw field is validated and typed (read from the catalogue column)."""

    name: str
    type: str
    kind: str  # id | id_list | year | integer | decimal | boolean | json | list | string
    required: bool  # a natural-key column: null is refused
    pattern: str | None = None  # whole-value pattern of one value (one element of a list), unanchored
    separator: str | None = None  # lists
    minimum: float | None = None
    maximum: float | None = None


def column_rules(raw: RawInput) -> list[ColumnRule]:
    """One rule per catalogue column (Kaggle's derived ``tconst`` included), in catalogue order."""
    return [
        ColumnRule(
            name=col.name,
            type=col.type,
            kind=col.kind,
            required=col.name in raw.key,
            pattern=col.pattern,
            separator=col.separator,
            minimum=col.minimum,
            maximum=col.maximum,
        )
        for col in raw.columns
    ]
