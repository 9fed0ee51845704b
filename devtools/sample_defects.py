"""The defective lines ``dirty=True`` injects, each with the reason code a strict cleaner must give.

Every injected line carries exactly one defect, so its reason is unambiguous. Checks are expected
in this order: invalid UTF-8 (whole line), field count, then per field (bad_id, bad_integer,
bad_year, bad_decimal, out_of_range, bad_boolean, bad_json), then keys (duplicate_key for a key
seen before with other data, exact_duplicate for a line seen before). A mutated line gets a fresh
key (an id used nowhere else) so that it is not also a duplicate; a fresh key in crew/ratings/...
is a dangling reference, which is legitimate data.

Also planned here, but NOT defects: a bare ``\\r`` inside a text field (must stay in the field)
and CRLF line ends (the ``\\r`` must be stripped). Both are recorded under ``not_defects``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

NULL = "\\N"
#: Written with errors="surrogateescape", these two code points become the bytes ff fe (not UTF-8).
INVALID_UTF8 = "\udcff\udcfe"
#: Defective lines per file stay under this share of the (expected) data lines.
MAX_DEFECT_FRACTION = 0.005
REASONS = ("field_count", "bad_integer", "bad_year", "bad_decimal", "out_of_range", "invalid_utf8",
           "bad_id", "bad_boolean", "bad_json", "duplicate_key", "exact_duplicate")

Mutate = Callable[[list[str]], list[str]]


@dataclass(frozen=True)
class Defect:
    reason: str
    detail: str
    mutate: Mutate
    fresh_key: bool  # give the line an unused key first (False: keep the source line's key)

    @property
    def copies_key(self) -> bool:
        return self.reason in ("duplicate_key", "exact_duplicate")


def _set(i: int, value: str) -> Mutate:
    def f(fields: list[str]) -> list[str]:
        fields[i] = value
        return fields
    return f


def _infix(i: int, text: str) -> Mutate:
    """Insert text after the first character of field i (never at its end)."""
    def f(fields: list[str]) -> list[str]:
        v = fields[i] if len(fields[i]) >= 2 else fields[i] + "x"
        fields[i] = v[:1] + text + v[1:]
        return fields
    return f


def _bump(i: int, if_null: str = "1") -> Mutate:
    """A different, still valid integer in field i (the conflicting copy of a key)."""
    def f(fields: list[str]) -> list[str]:
        fields[i] = if_null if fields[i] == NULL else str(int(fields[i]) + 1)
        return fields
    return f


def _other(i: int, a: str, b: str) -> Mutate:
    def f(fields: list[str]) -> list[str]:
        fields[i] = a if fields[i] != a else b
        return fields
    return f


def _drop_last(fields: list[str]) -> list[str]:
    return fields[:-1]


def _add_field(fields: list[str]) -> list[str]:
    return [*fields, "extra"]


def _same(fields: list[str]) -> list[str]:
    return fields


def _common_head(n: int) -> list[Defect]:
    return [Defect("field_count", f"{n - 1} fields instead of {n}", _drop_last, True)]


def _tail(n: int, dup_mutate: Mutate, dup_detail: str) -> list[Defect]:
    return [
        Defect("duplicate_key", f"same key as an earlier line, {dup_detail}", dup_mutate, False),
        Defect("exact_duplicate", "exact copy of an earlier line", _same, False),
        Defect("field_count", f"{n + 1} fields instead of {n}", _add_field, True),
    ]


# In priority order: when a file is too small for all of them, the first ones are kept.
TSV_DEFECTS: dict[str, list[Defect]] = {
    "title.basics.tsv.gz": [
        *_common_head(9),
        Defect("bad_year", "startYear 1999.5", _set(5, "1999.5"), True),
        Defect("invalid_utf8", "bytes ff fe inside primaryTitle", _infix(2, INVALID_UTF8), True),
        Defect("bad_id", "tconst tx123", _set(0, "tx123"), False),
        *_tail(9, _bump(7), "other runtimeMinutes")[:2],
        Defect("field_count", "tab inside primaryTitle", _infix(2, "\t"), True),
        Defect("bad_boolean", "isAdult yes", _set(4, "yes"), True),
        Defect("bad_integer", "runtimeMinutes 1,234", _set(7, "1,234"), True),
        _tail(9, _same, "")[2],
        Defect("bad_id", "tconst tt12", _set(0, "tt12"), False),
    ],
    "title.ratings.tsv.gz": [
        *_common_head(3),
        Defect("out_of_range", "averageRating 11.3", _set(1, "11.3"), True),
        Defect("bad_integer", "numVotes 1,234", _set(2, "1,234"), True),
        Defect("invalid_utf8", "bytes ff fe inside numVotes", _infix(2, INVALID_UTF8), True),
        Defect("bad_id", "tconst tt12", _set(0, "tt12"), False),
        *_tail(3, _bump(2), "other numVotes")[:2],
        Defect("bad_decimal", "averageRating 7.x", _set(1, "7.x"), True),
        Defect("out_of_range", "averageRating -1", _set(1, "-1"), True),
        _tail(3, _same, "")[2],
    ],
    "title.crew.tsv.gz": [
        *_common_head(3),
        Defect("bad_id", "tconst tx123", _set(0, "tx123"), False),
        Defect("invalid_utf8", "bytes ff fe inside writers", _infix(2, INVALID_UTF8), True),
        Defect("bad_id", "directors nm12", _set(1, "nm12"), True),
        *_tail(3, _other(1, "nm0000001", "nm0000002"), "other directors"),
    ],
    "title.episode.tsv.gz": [
        *_common_head(4),
        Defect("bad_id", "parentTconst tx123", _set(1, "tx123"), True),
        Defect("bad_integer", "seasonNumber 1,234", _set(2, "1,234"), True),
        Defect("invalid_utf8", "bytes ff fe inside parentTconst", _infix(1, INVALID_UTF8), True),
        *_tail(4, _bump(3), "other episodeNumber")[:2],
        Defect("bad_integer", "episodeNumber 2a", _set(3, "2a"), True),
        _tail(4, _same, "")[2],
    ],
    "title.principals.tsv.gz": [
        *_common_head(6),
        Defect("bad_json", 'characters ["Unclosed', _set(5, '["Unclosed'), True),
        Defect("bad_id", "nconst nm12", _set(2, "nm12"), True),
        Defect("invalid_utf8", "bytes ff fe inside category", _infix(3, INVALID_UTF8), True),
        *_tail(6, _other(2, "nm0000001", "nm0000002"), "other nconst")[:2],
        Defect("bad_integer", "ordering 1,234", _set(1, "1,234"), True),
        Defect("field_count", "tab inside category", _infix(3, "\t"), True),
        _tail(6, _same, "")[2],
    ],
    "name.basics.tsv.gz": [
        *_common_head(6),
        Defect("bad_year", "birthYear 1999.5", _set(2, "1999.5"), True),
        Defect("invalid_utf8", "bytes ff fe inside primaryName", _infix(1, INVALID_UTF8), True),
        Defect("bad_id", "nconst nx123", _set(0, "nx123"), False),
        *_tail(6, _bump(2, "1950"), "other birthYear")[:2],
        Defect("field_count", "tab inside primaryName", _infix(1, "\t"), True),
        _tail(6, _same, "")[2],
    ],
    "title.akas.tsv.gz": [
        *_common_head(8),
        Defect("bad_boolean", "isOriginalTitle 2", _set(7, "2"), True),
        Defect("invalid_utf8", "bytes ff fe inside title", _infix(2, INVALID_UTF8), True),
        Defect("bad_id", "titleId tt12", _set(0, "tt12"), False),
        *_tail(8, _other(3, "US", "GB"), "other region")[:2],
        Defect("field_count", "tab inside title", _infix(2, "\t"), True),
        Defect("bad_integer", "ordering 1,234", _set(1, "1,234"), True),
        _tail(8, _same, "")[2],
    ],
}

#: Kaggle CSV defects (fields are then written by the csv module, so quoting stays valid).
KAGGLE_DEFECTS: list[Defect] = [
    Defect("field_count", "27 columns instead of 28", _drop_last, True),
    Defect("bad_integer", "budget unknown", _set(22, "unknown"), True),
    Defect("invalid_utf8", "bytes ff fe inside movie_title", _infix(11, INVALID_UTF8), True),
    Defect("bad_year", "title_year 2009.5", _set(23, "2009.5"), True),
    Defect("out_of_range", "imdb_score 11.3", _set(25, "11.3"), True),
    Defect("field_count", "29 columns instead of 28", _add_field, True),
]

#: Text field (index) that may carry a bare \r, per TSV.
TEXT_FIELD: dict[str, int] = {"title.basics.tsv.gz": 2, "name.basics.tsv.gz": 1, "title.akas.tsv.gz": 2}
#: Fields of the natural key, per TSV (ids first).
KEY_FIELDS: dict[str, tuple[int, ...]] = {
    "title.principals.tsv.gz": (0, 1), "title.akas.tsv.gz": (0, 1),
}


@dataclass(frozen=True)
class Op:
    """One planned change: insert a defective line before clean row ``position``, or modify it."""

    position: int  # 0-based index among the clean data rows of the file
    defect: Defect | None  # None: a not-a-defect modification (kind below)
    kind: str = ""  # "crlf_line_end" | "bare_cr_in_field"


def plan(file_name: str, expected_rows: int, seed: int, file_id: int) -> tuple[list[Op], list[str]]:
    """Where the defects of a file go; also the reasons left out because the file is too small."""
    all_defects = TSV_DEFECTS.get(file_name, KAGGLE_DEFECTS)
    cap = int(expected_rows * MAX_DEFECT_FRACTION)
    defects, skipped = all_defects[:cap], [d.reason + ": " + d.detail for d in all_defects[cap:]]
    extras: list[Op] = []
    if file_name in TSV_DEFECTS:
        extras = [Op(0, None, "crlf_line_end"), Op(0, None, "crlf_line_end")]
        if file_name in TEXT_FIELD:
            extras.append(Op(0, None, "bare_cr_in_field"))
    n_ops = len(defects) + len(extras)
    rng = np.random.default_rng([seed, 9000, file_id])
    upper = max(n_ops + 3, int(expected_rows * 0.8))
    positions = np.sort(rng.choice(np.arange(2, upper), size=n_ops, replace=False)).tolist()
    ops = [Op(0, d) for d in defects] + extras
    ops = [ops[i] for i in rng.permutation(n_ops).tolist()]
    return [Op(p, o.defect, o.kind) for p, o in zip(positions, ops, strict=True)], skipped
