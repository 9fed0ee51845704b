"""Which validation rule each catalogue column follows, and the reason codes they produce.

Kept apart from the Spark expressions (``transforms``) so that the documentation
(docs/cleaning.md) and the tests can name every rule from one table. Pure Python, no Spark.
"""

from __future__ import annotations

from dataclasses import dataclass

from imdb_elt.catalog import Column, RawInput

# Reason codes, in the order the checks run: the first failing check names the row's reason.
INVALID_UTF8 = "invalid_utf8"
FIELD_COUNT = "field_count"
BAD_ID = "bad_id"
BAD_YEAR = "bad_year"
BAD_INTEGER = "bad_integer"
BAD_DECIMAL = "bad_decimal"
OUT_OF_RANGE = "out_of_range"
BAD_BOOLEAN = "bad_boolean"
BAD_JSON = "bad_json"
#: Not a parse failure: a second, different row with the same natural key.
DUPLICATE_KEY = "duplicate_key"

REASONS: tuple[str, ...] = (
    INVALID_UTF8,
    FIELD_COUNT,
    BAD_ID,
    BAD_YEAR,
    BAD_INTEGER,
    BAD_DECIMAL,
    OUT_OF_RANGE,
    BAD_BOOLEAN,
    BAD_JSON,
    DUPLICATE_KEY,
)

# Java regular expressions (Spark's rlike), anchored.
TCONST = r"tt\d{7,}"
NCONST = r"nm\d{7,}"
YEAR = r"^\d{4}$"
INTEGER = r"^-?\d+$"
DECIMAL = r"^-?\d+(\.\d+)?$"
_JSON_STRING = r'"(?:[^"\\\x00-\x1F]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*+"'
#: A JSON array whose elements are all strings (from_json alone would turn ``[1]`` into ``["1"]``).
JSON_STRING_ARRAY = rf"^\[\s*+(?:{_JSON_STRING}(?:\s*+,\s*+{_JSON_STRING})*+)?\s*+\]$"

_ID_COLUMNS = {"tconst": TCONST, "parentTconst": TCONST, "titleId": TCONST, "nconst": NCONST}
_ID_LIST_COLUMNS = {"directors": NCONST, "writers": NCONST, "knownForTitles": TCONST}
_YEAR_COLUMNS = {"startYear", "endYear", "birthYear", "deathYear", "title_year"}
#: Counts that cannot be negative: votes, minutes, positions.
_NON_NEGATIVE = {"numVotes", "runtimeMinutes", "ordering", "num_voted_users", "duration"}
#: Ratings are on IMDb's 0..10 scale.
_RANGES = {"averageRating": (0, 10), "imdb_score": (0, 10)}
_JSON_COLUMNS = {"characters"}
#: List separators: IMDb lists are comma separated, except akas types/attributes which IMDb
#: separates with the control character \x02; Kaggle lists use "|".
_TSV_LIST_SEPARATORS = {"types": "\x02", "attributes": "\x02"}
KAGGLE_LIST_SEPARATOR = "|"
TSV_LIST_SEPARATOR = ","


@dataclass(frozen=True)
class ColumnRule:
    """How one raw field is validated and typed."""

    name: str
    type: str
    kind: str  # id | id_list | year | integer | decimal | boolean | json | list | string
    required: bool  # a natural-key column: null is refused
    pattern: str | None = None  # ids: the id pattern (unanchored)
    separator: str | None = None  # lists
    minimum: float | None = None
    maximum: float | None = None


def _kind(col: Column) -> str:
    t = col.type
    if col.name in _ID_COLUMNS:
        return "id"
    if col.name in _ID_LIST_COLUMNS:
        return "id_list"
    if col.name in _JSON_COLUMNS:
        return "json"
    if col.name in _YEAR_COLUMNS:
        return "year"
    if t in ("int", "bigint"):
        return "integer"
    if t.startswith("decimal"):
        return "decimal"
    if t == "boolean":
        return "boolean"
    if t.startswith("array"):
        return "list"
    return "string"


def column_rules(raw: RawInput) -> list[ColumnRule]:
    """One rule per catalogue column (Kaggle's derived ``tconst`` included), in catalogue order."""
    rules = []
    for col in raw.columns:
        kind = _kind(col)
        sep = None
        if kind in ("list", "id_list"):
            if raw.fmt == "kaggle_csv":
                sep = KAGGLE_LIST_SEPARATOR
            else:
                sep = _TSV_LIST_SEPARATORS.get(col.name, TSV_LIST_SEPARATOR)
        low, high = _RANGES.get(col.name, (None, None))
        if col.name in _NON_NEGATIVE:
            low = 0
        rules.append(
            ColumnRule(
                name=col.name,
                type=col.type,
                kind=kind,
                required=col.name in raw.key,
                pattern=_ID_COLUMNS.get(col.name) or _ID_LIST_COLUMNS.get(col.name),
                separator=sep,
                minimum=low,
                maximum=high,
            )
        )
    return rules
