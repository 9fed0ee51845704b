"""The defective lines ``dirty=True`` injects, each with the reason code a strict cleaner must give.

Every injected line carries exactly one defect, so its reason is unambiguous. Checks are expected
in this order: invalid UTF-8 (whole line; also a literal U+FFFD), a control character inside a
field (a bare ``\\r``, ``\\x00``, ...), field count, then per field (bad_id, bad_integer, bad_year,
bad_decimal, out_of_range, bad_boolean, bad_json), a value longer than Redshift holds (too_long:
bytes, not characters), a missing title, then keys (duplicate_key for a key seen before with
other data, exact_duplicate for a line seen before). Values followed by a line terminator
(``\\r`` before a tab, U+0085, U+2028, U+2029) must be refused: Java's ``$`` would accept them.
A mutated line gets a fresh key (an id used nowhere else) so that it is not also a duplicate; a
fresh key in crew/ratings/... is a dangling reference, which is legitimate data.

A last line without a final newline is checked like any other. ``NO_FINAL_NEWLINE_FILES`` end
with a complete, valid line and no newline (saved by a tool that drops it): the line is data.
``CUT_FILES`` end in a line cut mid-field, as an interrupted download of an uncompressed file
leaves it: a field_count defect.

Also planned here, but NOT defects: CRLF line ends (the ``\\r`` must be stripped) and, in
name.basics, historical birth and death years of one to three digits (people of antiquity). They
are recorded under ``not_defects``, with the valid last line of ``NO_FINAL_NEWLINE_FILES``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

NULL = "\\N"
#: Written with errors="surrogateescape", these two code points become the bytes ff fe (not UTF-8).
INVALID_UTF8 = "\udcff\udcfe"
#: Written as UTF-8, U+FFFD is valid UTF-8 that still marks bytes a decoder lost upstream.
REPLACEMENT = "\ufffd"
#: Defective lines per file stay under this share of the (expected) data lines (the default
#: quarantine threshold is 1%).
MAX_DEFECT_FRACTION = 0.0075
REASONS = ("field_count", "bad_integer", "bad_year", "bad_decimal", "out_of_range", "invalid_utf8",
           "bad_id", "bad_boolean", "bad_json", "duplicate_key", "exact_duplicate",
           "control_character", "missing_title", "too_long")
#: Files whose last line is complete and valid but has no final newline: it must be written.
NO_FINAL_NEWLINE_FILES = ("title.episode.tsv.gz",)
#: Files whose last line is cut mid-field, with no final newline (a cut download): field_count.
CUT_FILES = ("movie_metadata.csv",)
#: 32,768 characters, 65,536 bytes of UTF-8: one byte over Redshift's VARCHAR(65535), which counts
#: bytes (a limit counted in characters would let it through).
TOO_LONG_TEXT = "\u00e9" * 32768

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


def _suffix(i: int, text: str) -> Mutate:
    """Append text to field i (a value followed by a line terminator)."""
    def f(fields: list[str]) -> list[str]:
        fields[i] = fields[i] + text if fields[i] != NULL else "1" + text
        return fields
    return f


def _nulls(*indexes: int) -> Mutate:
    def f(fields: list[str]) -> list[str]:
        for i in indexes:
            fields[i] = NULL
        return fields
    return f


def _link_id_suffix(text: str) -> Mutate:
    """Kaggle: text right after the title id inside movie_imdb_link (field 17)."""
    def f(fields: list[str]) -> list[str]:
        fields[17] = fields[17].replace("/?", text + "/?", 1)
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
        Defect("control_character", "bare \\r inside primaryTitle", _infix(2, "\r"), True),
        Defect("missing_title", "primaryTitle and originalTitle both \\N", _nulls(2, 3), True),
        Defect("bad_id", "tconst followed by U+0085", _suffix(0, "\u0085"), True),
        Defect("invalid_utf8", "literal U+FFFD inside originalTitle", _infix(3, REPLACEMENT), True),
        Defect("control_character", "\\x1b inside originalTitle", _infix(3, "\x1b"), True),
        Defect("bad_year", "startYear followed by U+2028", _set(5, "1999\u2028"), True),
        Defect("too_long", "primaryTitle of 65,536 bytes (32,768 characters)", _set(2, TOO_LONG_TEXT), True),
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
        Defect("control_character", "tconst followed by \\r (before the tab)", _suffix(0, "\r"), True),
        Defect("bad_decimal", "averageRating followed by U+2029", _suffix(1, "\u2029"), True),
        Defect("control_character", "\\x00 inside numVotes", _infix(2, "\x00"), True),
    ],
    "title.crew.tsv.gz": [
        *_common_head(3),
        Defect("bad_id", "tconst tx123", _set(0, "tx123"), False),
        Defect("invalid_utf8", "bytes ff fe inside writers", _infix(2, INVALID_UTF8), True),
        Defect("bad_id", "directors nm12", _set(1, "nm12"), True),
        *_tail(3, _other(1, "nm0000001", "nm0000002"), "other directors"),
        Defect("bad_id", "directors id followed by U+2028", _set(1, "nm0000001\u2028,nm0000002"), True),
        Defect("control_character", "\\x0b inside directors", _set(1, "nm0000001\x0b"), True),
    ],
    "title.episode.tsv.gz": [
        *_common_head(4),
        Defect("bad_id", "parentTconst tx123", _set(1, "tx123"), True),
        Defect("bad_integer", "seasonNumber 1,234", _set(2, "1,234"), True),
        Defect("invalid_utf8", "bytes ff fe inside parentTconst", _infix(1, INVALID_UTF8), True),
        *_tail(4, _bump(3), "other episodeNumber")[:2],
        Defect("bad_integer", "episodeNumber 2a", _set(3, "2a"), True),
        _tail(4, _same, "")[2],
        Defect("bad_id", "parentTconst followed by U+0085", _set(1, "tt0000001\u0085"), True),
        Defect("bad_integer", "seasonNumber followed by U+2029", _set(2, "1\u2029"), True),
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
        Defect("bad_json", "characters escape a newline", _set(5, '["line\\nbreak"]'), True),
        Defect("bad_json", "characters followed by U+2028", _set(5, '["Self"]\u2028'), True),
        Defect("control_character", "\\x01 inside job", _set(4, "a\x01b"), True),
        Defect("too_long", "a characters element of 65,536 bytes", _set(5, f'["{TOO_LONG_TEXT}"]'), True),
    ],
    "name.basics.tsv.gz": [
        *_common_head(6),
        Defect("bad_year", "birthYear 1999.5", _set(2, "1999.5"), True),
        Defect("invalid_utf8", "bytes ff fe inside primaryName", _infix(1, INVALID_UTF8), True),
        Defect("bad_id", "nconst nx123", _set(0, "nx123"), False),
        *_tail(6, _bump(2, "1950"), "other birthYear")[:2],
        Defect("field_count", "tab inside primaryName", _infix(1, "\t"), True),
        _tail(6, _same, "")[2],
        Defect("control_character", "bare \\r inside primaryName", _infix(1, "\r"), True),
        Defect("bad_year", "birthYear followed by U+0085", _set(2, "1950\u0085"), True),
        Defect("bad_id", "nconst followed by U+2029", _suffix(0, "\u2029"), True),
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
        Defect("control_character", "\\x02 (the list separator) inside title", _infix(2, "\x02"), True),
        Defect("control_character", "bare \\r inside title", _infix(2, "\r"), True),
        Defect("bad_boolean", "isOriginalTitle followed by U+2028", _set(7, "0\u2028"), True),
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
    Defect("control_character", "tab inside movie_title", _infix(11, "\t"), True),
    Defect("missing_title", "movie_title empty", _set(11, ""), True),
    Defect("bad_id", "movie_imdb_link: the id followed by U+2028", _link_id_suffix("\u2028"), True),
    Defect("too_long", "movie_title of 65,536 bytes (32,768 characters)", _set(11, TOO_LONG_TEXT), True),
]

#: Year fields (birth, death) and the historical values that are legitimate data, per TSV.
HISTORICAL_YEARS: dict[str, tuple[tuple[int, int], tuple[tuple[str, str], ...]]] = {
    "name.basics.tsv.gz": ((2, 3), (("525", "565"), (NULL, "17"))),
}
#: Fields of the natural key, per TSV (ids first).
KEY_FIELDS: dict[str, tuple[int, ...]] = {
    "title.principals.tsv.gz": (0, 1), "title.akas.tsv.gz": (0, 1),
}


@dataclass(frozen=True)
class Op:
    """One planned change: insert a defective line before clean row ``position``, or modify it."""

    position: int  # 0-based index among the clean data rows of the file
    defect: Defect | None  # None: a not-a-defect modification (kind below)
    kind: str = ""  # "crlf_line_end" | "historical_year"


def plan(file_name: str, expected_rows: int, seed: int, file_id: int) -> tuple[list[Op], list[str]]:
    """Where the defects of a file go; also the reasons left out because the file is too small."""
    all_defects = TSV_DEFECTS.get(file_name, KAGGLE_DEFECTS)
    cap = int(expected_rows * MAX_DEFECT_FRACTION)
    defects, skipped = all_defects[:cap], [d.reason + ": " + d.detail for d in all_defects[cap:]]
    extras: list[Op] = []
    if file_name in TSV_DEFECTS:
        extras = [Op(0, None, "crlf_line_end"), Op(0, None, "crlf_line_end")]
        if file_name in HISTORICAL_YEARS:
            extras += [Op(0, None, "historical_year")] * len(HISTORICAL_YEARS[file_name][1])
    n_ops = len(defects) + len(extras)
    rng = np.random.default_rng([seed, 9000, file_id])
    upper = max(n_ops + 3, int(expected_rows * 0.8))
    positions = np.sort(rng.choice(np.arange(2, upper), size=n_ops, replace=False)).tolist()
    ops = [Op(0, d) for d in defects] + extras
    ops = [ops[i] for i in rng.permutation(n_ops).tolist()]
    return [Op(p, o.defect, o.kind) for p, o in zip(positions, ops, strict=True)], skipped
