"""Pure transformations of the cleaning job: DataFrame in, DataFrame out, no I/O.

The raw file arrives as lines (``spark.read.text`` with ``lineSep="\\n"``). Every line is kept
together with its 1-based line number and its bytes, so that a refused line can be quarantined
exactly as delivered. Parsing produces one *annotated* DataFrame: ``line_number``, ``value`` (the
raw line), ``ok``, ``reason``/``detail`` (null for a good row) and the typed catalogue columns.

Validation is one projection: the typed values and the index of the first failing check (null
when the row is ok) are computed together, so a value parsed for a check is the value written.
The checks are ordered by reason (``rules.REASONS``) and a CASE chain stops at the first failure,
so a later check may assume the earlier ones passed (``out_of_range`` does not repeat the
integer pattern). ``reason`` and ``detail`` are looked up from the index only for refused rows:
the write of the good rows never builds them.

Only native Spark expressions are used (no Python UDF): the JVM never waits on Python, and
executors need none of this code (on EMR only the driver runs it). The one shortcut in Java
(``clean_line``, from ``spark_jobs.line_check``) is compiled and travels as a jar.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from imdb_elt import catalog
from imdb_elt.catalog import LINEAGE_COLUMNS, RawInput
from imdb_elt.warehouse.types import ByteLimits, byte_limits
from spark_jobs import rules as R
from spark_jobs.rules import ColumnRule, anchored, column_rules
from spark_jobs.schemas import spark_type

#: Internal disposition of a dropped byte-identical line (counted, not quarantined).
DEDUPLICATED = "deduplicated"
ANNOTATION_COLUMNS = ("line_number", "value", "ok", "reason", "detail")
#: The typed values of a row → true when the row certainly passes every check (``annotate``).
CleanLine = Callable[[dict[str, Column]], Column]
#: The columns of one ``select``: names, or expressions over the columns of the one before.
Projection = tuple[Column | str, ...]


def number_lines(text: DataFrame) -> DataFrame:
    """``value`` lines of ONE file → ``line_number`` (1-based, header = 1), ``value``.

    A gzip file is unsplittable, hence one partition, where monotonically_increasing_id counts
    0, 1, 2... in file order. A splittable (uncompressed) file may span several partitions: the
    id then jumps between partitions but still follows file order, so a row_number over it
    (a single-partition sort, acceptable for the small Kaggle file) makes it contiguous.
    """
    mono = F.monotonically_increasing_id()
    if text.rdd.getNumPartitions() <= 1:
        return text.select((mono + 1).alias("line_number"), "value")
    ordered = text.select(mono.alias("_id"), "value")
    return ordered.select(
        F.row_number().over(Window.orderBy("_id")).cast("bigint").alias("line_number"), "value"
    )


def strip_line_end(value: Column) -> Column:
    """Drop ONE trailing "\\r" (a CRLF line end); a "\\r" anywhere else is data."""
    return F.when(value.endswith("\r"), value.substr(F.lit(1), F.length(value) - 1)).otherwise(value)


def _quoted(raw: Column) -> Column:
    return F.concat(F.lit("'"), raw, F.lit("'"))


def _detail(name: str, raw: Column, problem: str) -> Column:
    return F.concat(F.lit(f"{name} "), _quoted(raw), F.lit(f" {problem}"))


def _split(raw: Column, separator: str) -> Column:
    # split() takes a regular expression; -1 keeps trailing empty elements (nothing is dropped).
    return F.split(raw, re.escape(separator), -1)


def _field_checks(
    rule: ColumnRule, raw: Column, typed: Column, staging: str = "copy"
) -> list[tuple[str, Column, Column]]:
    """(reason, refused?, detail) for one field; ``raw`` is null when the field is null.

    ``typed`` is the field's typed value (``typed_value``). Each check is only reached when every
    check of an earlier reason passed (see the module docstring), which keeps a good row to at
    most one pattern per field. ``staging``: the Redshift staging path whose limits apply.
    """
    checks: list[tuple[str, Column, Column]] = []
    present = raw.isNotNull()
    if rule.required:
        reason = R.BAD_ID if rule.kind == "id" else R.BAD_INTEGER
        checks.append((reason, raw.isNull(), F.lit(f"{rule.name} is missing (natural key)")))
    if rule.kind == "id":
        checks.append(
            (R.BAD_ID, present & ~raw.rlike(anchored(rule.pattern)), _detail(rule.name, raw, "is not an id"))
        )
    elif rule.kind == "id_list":
        sep = re.escape(rule.separator or ",")
        pattern = anchored(f"{rule.pattern}(?:{sep}{rule.pattern})*+")
        checks.append(
            (R.BAD_ID, present & ~raw.rlike(pattern), _detail(rule.name, raw, "is not a list of ids"))
        )
    elif rule.kind == "year":
        checks.append(
            (
                R.BAD_YEAR,
                present & ~raw.rlike(anchored(rule.pattern)),
                _detail(rule.name, raw, "is not a year (1 to 4 digits)"),
            )
        )
    elif rule.kind == "integer":
        checks.append(
            (
                R.BAD_INTEGER,
                present & ~raw.rlike(anchored(rule.pattern)),
                _detail(rule.name, raw, "is not an integer"),
            )
        )
        # Reached only when the value is an integer: null means it does not fit the type.
        checks.append(
            (R.OUT_OF_RANGE, present & typed.isNull(), _detail(rule.name, raw, f"does not fit {rule.type}"))
        )
    elif rule.kind == "decimal":
        scale = int(rule.type.split(",")[1].rstrip(")"))
        exact = anchored(rf"-?[0-9]+(?:\.[0-9]{{1,{scale}}})?")
        checks.append(
            (
                R.BAD_DECIMAL,
                present & ~raw.rlike(exact),
                F.when(
                    raw.rlike(anchored(rule.pattern)),
                    _detail(rule.name, raw, f"has more than {scale} decimal places (would need rounding)"),
                ).otherwise(_detail(rule.name, raw, "is not a decimal number")),
            )
        )
        checks.append(
            (R.OUT_OF_RANGE, present & typed.isNull(), _detail(rule.name, raw, f"does not fit {rule.type}"))
        )
    elif rule.kind == "boolean":  # the pattern is one of BOOLEAN_VALUES: compared as bytes
        assert rule.pattern == catalog.BOOLEAN, rule
        checks.append(
            (
                R.BAD_BOOLEAN,
                present & ~raw.isin(*catalog.BOOLEAN_VALUES),
                _detail(rule.name, raw, "is not 0 or 1"),
            )
        )
    elif rule.kind == "json":
        checks.append(
            (
                R.BAD_JSON,
                present & ~raw.rlike(anchored(rule.pattern)),
                _detail(rule.name, raw, "is not a JSON array of strings free of control characters"),
            )
        )
    if (outside := outside_range(rule, typed)) is not None:
        # Reached only when the value is exact and fits its type: the typed value is the value.
        bounds = f"[{_num(rule.minimum)}, {_num(rule.maximum)}]"
        checks.append((R.OUT_OF_RANGE, present & outside, _detail(rule.name, raw, f"is outside {bounds}")))
    checks += _too_long(rule, raw, typed, byte_limits(rule.type, staging))
    return checks


#: A list's JSON text is at most this many times its raw text, plus this (an element of n bytes
#: becomes at most 2n + 3: quotes, a comma, an escape per character): below, it cannot be too
#: long, and the check never builds the array's JSON.
JSON_GROWTH, JSON_EXTRA = 5, 4


def _too_long(
    rule: ColumnRule, raw: Column, typed: Column, limits: ByteLimits
) -> list[tuple[str, Column, Column]]:
    """too_long: a value longer than the warehouse holds (bytes of UTF-8, as Redshift counts).

    A string is measured as is. An array is measured per element and as its whole JSON text,
    both only when the raw field is long enough to be able to exceed the limit: the lengths
    are cheap, the element walk and the JSON are not.
    """
    size = F.octet_length(raw)

    def over(measured: Column, limit: int, what: str) -> Column:
        return F.concat(F.lit(f"{rule.name} {what} "), measured.cast("string"),
                        F.lit(f" bytes, over the {limit:,} the warehouse holds"))  # fmt: skip

    checks: list[tuple[str, Column, Column]] = []
    if limits.value is not None:
        checks.append((R.TOO_LONG, size > F.lit(limits.value), over(size, limits.value, "is")))
    if (element := limits.element) is not None:
        longest = F.array_max(F.transform(typed, F.octet_length))
        refused = (size > F.lit(element)) & F.exists(typed, lambda e: F.octet_length(e) > F.lit(element))
        checks.append((R.TOO_LONG, refused, over(longest, element, "has an element of")))
    if (array := limits.array) is not None:
        json_size = F.octet_length(F.to_json(typed))
        refused = (size * JSON_GROWTH + JSON_EXTRA > F.lit(array)) & (json_size > F.lit(array))
        checks.append((R.TOO_LONG, refused, over(json_size, array, "is, as JSON text,")))
    return checks


def outside_range(rule: ColumnRule, typed: Column) -> Column | None:
    """True when the typed value is outside the rule's minimum/maximum, false when inside or null
    (None: the rule has no range)."""
    if rule.minimum is None and rule.maximum is None:
        return None
    outside = F.lit(False)
    if rule.minimum is not None:
        outside = outside | (typed < F.lit(rule.minimum))
    if rule.maximum is not None:
        outside = outside | (typed > F.lit(rule.maximum))
    return F.coalesce(outside, F.lit(False))


def _num(x: float | None) -> str:
    return "-inf" if x is None else f"{x:g}"


def typed_value(rule: ColumnRule, raw: Column) -> Column:
    """The field in its catalogue type. Only meaningful for rows that passed every check."""
    if rule.kind in ("list", "id_list"):
        value = _split(raw, rule.separator or ",")
    elif rule.kind in ("year", "integer", "decimal"):
        return raw.try_cast(rule.type)
    elif rule.kind == "boolean":
        value = raw == F.lit(catalog.BOOLEAN_VALUES[1])
    elif rule.kind == "json":
        value = json_string_array(raw)
    else:
        return raw
    return value.cast(rule.type)


def json_string_array(raw: Column) -> Column:
    """A JSON array of strings, already checked against ``catalog.JSON_STRING_ARRAY`` → array<string>.

    ``from_json`` builds a Jackson parser per row: it was half the parse cost of title.principals
    (``make profile``). A checked array without a backslash holds no escape, so no quote inside a
    string: its quotes pair up around the elements, which one pattern reads. Only arrays with an
    escape go through ``from_json``.
    """
    plain = F.regexp_extract_all(raw, F.lit('"([^"]*)"'), 1)
    return F.when(raw.contains("\\"), F.from_json(raw, "array<string>")).otherwise(plain)


def _field(name: str) -> str:
    return f"_f_{name}"


def _missing_title(raw: RawInput) -> list[tuple[str, Column, Column]]:
    """A title row must name the title somewhere: not every title column null or empty."""
    if not raw.title_columns:
        return []
    fields = [F.col(_field(name)) for name in raw.title_columns]
    missing = F.lit(True)
    for field in fields:
        missing = missing & F.coalesce(field == F.lit(""), F.lit(True))
    names = " and ".join(raw.title_columns)
    return [(R.MISSING_TITLE, missing, F.lit(f"no title: {names} null or empty"))]


def missing_title(raw: RawInput) -> Column | None:
    """True for a title row that names no title (None: the input has no title columns)."""
    checks = _missing_title(raw)
    return checks[0][1] if checks else None


def _line_checks(
    value: Column, text: Column, allowed: set[str], control_detail: Column
) -> list[tuple[str, Column, Column]]:
    """invalid_utf8 (bytes that are not UTF-8, or U+FFFD: bytes a decoder lost upstream) and
    control_character (a C0 character other than ``allowed`` in ``text``, the line without its
    CRLF end). Three separate scans cost less than one pattern holding U+FFFD: a class of
    Latin-1 characters only is matched from a bitmap."""
    return [
        (R.INVALID_UTF8, ~F.is_valid_utf8(value), F.lit("line is not valid UTF-8")),
        (
            R.INVALID_UTF8,
            value.contains(R.REPLACEMENT_CHARACTER),
            F.lit("line holds U+FFFD, the replacement character: bytes were lost before delivery"),
        ),
        (R.CONTROL_CHARACTER, text.rlike(_control_class(allowed)), control_detail),
    ]


def _control_class(allowed: set[str]) -> str:
    """A regular-expression class of the C0 control characters other than ``allowed``."""
    return "[" + "".join(f"\\x{i:02X}" for i in range(0x20) if chr(i) not in allowed) + "]"


def _code_point(text: Column, char_class: str) -> Column:
    """``U+000D``: the first character of ``text`` in ``char_class``."""
    return F.format_string("U+%04X", F.ascii(F.regexp_extract(text, char_class, 0)))


def _char_in_fields(char: str, positions: list[int]) -> str:
    """A pattern that finds ``char`` in one of the tab-separated fields at ``positions``.

    Linear (possessive, one alternative per run of consecutive positions): a line is scanned
    once, where a naive alternation of one pattern per field backtracks field after field.
    """
    c = f"\\x{ord(char):02X}"
    runs: list[list[int]] = []
    for i in positions:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    alternatives = [
        f"(?:[^\\t]*+\\t){{{run[0]}}}(?:[^\\t{c}]*+\\t){{0,{len(run) - 1}}}+[^\\t{c}]*+{c}" for run in runs
    ]
    return "^(?:" + "|".join(alternatives) + ")"


def _line_checks_tsv(
    raw: RawInput, value: Column, text: Column, fields: Column
) -> list[tuple[str, Column, Column]]:
    """invalid_utf8 and control_character in a TSV line.

    The tab is the delimiter, not part of a field. A control character that is a column's list
    separator (akas ``types``/``attributes``: \\x02) is legitimate in that column only.
    """
    separators = {c.name: c.separator for c in raw.columns if c.separator and ord(c.separator[0]) < 0x20}
    allowed = {"\t", *separators.values()}
    line_class = _control_class(allowed)
    detail = F.concat(F.lit("control character "), _code_point(text, line_class), F.lit(" inside a field"))
    checks = _line_checks(value, text, allowed, detail)
    for sep in sorted(set(separators.values())):
        # The fields (by position) where this separator is not allowed, as one pattern that only
        # lines holding the character at all (one byte scan) go through.
        banned = [i for i, col in enumerate(raw.columns) if separators.get(col.name) != sep]
        pattern = _char_in_fields(sep, banned)
        label = f"control character U+{ord(sep):04X} inside "
        detail = F.coalesce(
            *(F.when(F.get(fields, i).contains(sep), F.lit(label + raw.columns[i].name)) for i in banned)
        )
        checks.append((R.CONTROL_CHARACTER, text.contains(sep) & text.rlike(pattern), detail))
    return checks


def annotate(
    raw: RawInput,
    structural: Sequence[tuple[str, Column, Column]],
    extra_details: dict[str, Column] | None = None,
    staging: str = "copy",
    clean_line: CleanLine | None = None,
) -> list[Projection]:
    """The projections that apply every check in reason order; the first failing one names the
    row's reason.

    Their input has ``line_number``, ``value`` and one raw string column ``_f_<name>`` per
    catalogue column (null = null). ``structural`` holds the checks about the whole line that
    come before any field check (invalid_utf8, control_character, field_count); missing_title
    comes after the field checks. ``staging``: the Redshift path whose byte limits apply.
    ``clean_line`` (the typed values → true for a row that passes every check, see
    ``spark_jobs.line_check``) lets such a row skip the checks. The index of the first failing
    check is computed once;
    reason and detail are looked up from it, which keeps the generated code small (one CASE chain
    over all checks of 29 Kaggle columns would not compile within the JVM's 64 KB method limit).
    """
    rules = column_rules(raw)
    typed = {rule.name: typed_value(rule, F.col(_field(rule.name))) for rule in rules}
    # Arrays are typed one projection earlier: their too_long checks and the output then read one
    # split of the field (a check holding its own copy of the split would parse it twice).
    arrays = [rule.name for rule in rules if rule.type.startswith("array")]
    with_arrays = ("*", *(typed[name].alias(f"_t_{name}") for name in arrays))
    typed = {name: F.col(f"_t_{name}") if name in arrays else value for name, value in typed.items()}
    checks: list[tuple[str, Column, Column]] = list(structural)
    for rule in rules:
        field_checks = _field_checks(rule, F.col(_field(rule.name)), typed[rule.name], staging)
        if extra_details and rule.name in extra_details:  # the derived Kaggle tconst: its bad_id
            field_checks = [
                (r, c, extra_details[rule.name] if r == R.BAD_ID else d) for r, c, d in field_checks
            ]
        checks.extend(field_checks)
    checks.extend(_missing_title(raw))
    order = {r: i for i, r in enumerate(R.REASONS)}
    checks.sort(key=lambda c: order[c[0]])  # stable: catalogue order within a reason
    first_failed = None if clean_line is None else F.when(clean_line(typed), F.lit(None).cast("int"))
    for i, (_, failed, _) in enumerate(checks, start=1):
        first_failed = (
            F.when(failed, F.lit(i)) if first_failed is None else first_failed.when(failed, F.lit(i))
        )
    assert first_failed is not None
    # One projection: the typed values and the first failed check share their parsing.
    validated = (
        "*",
        first_failed.alias("_check"),
        *(value.alias(f"_t_{name}") for name, value in typed.items() if name not in arrays),
    )
    check = F.col("_check")
    reason = F.element_at(F.array(*(F.lit(code) for code, _, _ in checks)), check)
    detail: Column | None = None
    for i, (_, _, why) in enumerate(checks, start=1):
        detail = F.when(check == i, why) if detail is None else detail.when(check == i, why)
    assert detail is not None
    annotated = (
        "line_number",
        "value",
        check.isNull().alias("ok"),
        F.when(check.isNotNull(), reason).alias("reason"),
        detail.alias("detail"),
        *(F.col(f"_t_{rule.name}").alias(rule.name) for rule in rules),
    )
    return [with_arrays, validated, annotated]


#: Added to the detail of a refused last line that had no final newline: a cut download shows so.
NO_FINAL_NEWLINE_DETAIL = " (the last line, with no final newline: was the file cut?)"


def note_no_final_newline(rows: DataFrame, line_number: int) -> DataFrame:
    """The refused ``line_number`` (the last, unterminated line) says so in its ``detail``.

    A last line without a newline is checked like any other: written when valid, quarantined
    with its ordinary reason when not. Its detail adds the missing newline, which is what points
    at a download cut mid-line (``tt019323``: a field_count).
    """
    refused = (F.col("line_number") == F.lit(line_number)) & F.col("reason").isNotNull()
    noted = F.when(refused, F.concat(F.coalesce(F.col("detail"), F.lit("")), F.lit(NO_FINAL_NEWLINE_DETAIL)))
    return rows.select(*(noted.otherwise(F.col(c)).alias(c) if c == "detail" else c for c in rows.columns))


def imdb_tsv_projections(
    raw: RawInput, staging: str = "copy", clean_line: CleanLine | None = None
) -> list[Projection]:
    """Data lines (``line_number``, ``value``) of an IMDb TSV → annotated rows.

    Tab separated, no quoting (``"`` is data), ``\\N`` is null, CRLF is a line end.
    ``clean_line``: see ``annotate``.
    """
    n = len(raw.header)
    text = ("line_number", "value", strip_line_end(F.col("value")).alias("_text"))
    split = ("line_number", "value", "_text", F.split("_text", "\t", -1).alias("_fields"))
    fields = F.col("_fields")
    raw_fields = []
    for i, name in enumerate(raw.header):
        field = F.get(fields, i)  # null past the end (ANSI-safe, unlike fields[i])
        raw_fields.append(
            F.when(field == F.lit(catalog.TSV_NULL), F.lit(None).cast("string"))
            .otherwise(field)
            .alias(_field(name))
        )
    fielded = ("line_number", "value", "_text", "_fields", F.size(fields).alias("_n"), *raw_fields)
    structural = [
        *_line_checks_tsv(raw, F.col("value"), F.col("_text"), fields),
        (
            R.FIELD_COUNT,
            F.col("_n") != F.lit(n),
            F.concat(F.lit(f"expected {n} tab-separated fields, found "), F.col("_n").cast("string")),
        ),
    ]
    return [text, split, fielded, *annotate(raw, structural, staging=staging, clean_line=clean_line)]


_KAGGLE_QUOTED = r'"(?:[^"]++|"")*+"'
#: from_csv's options. ``inputBufferSize``: from_csv starts a new parse per line, and univocity's
#: default input buffer is 1M chars (2 MB) per parse: a humongous object for G1 on every line. On
#: Spark 4.0.2 (EMR's emr-spark-8.0.0) the tests' 1 GB driver ran out of heap on 200 lines. A
#: longer line refills the buffer, so 4 KB changes no value.
_KAGGLE_CSV_OPTIONS = {
    "sep": ",", "quote": '"', "escape": '"', "mode": "PERMISSIVE", "inputBufferSize": "4096",
}  # fmt: skip


def kaggle_trim(raw: Column) -> Column:
    """Trim spaces and U+00A0 from both ends; an empty field is null."""
    trimmed = F.btrim(raw, F.lit(catalog.KAGGLE_TRIM))
    return F.when(trimmed == F.lit(""), F.lit(None).cast("string")).otherwise(trimmed)


def kaggle_csv_projections(raw: RawInput, staging: str = "copy") -> list[Projection]:
    """Data lines of the Kaggle ``movie_metadata.csv`` → annotated rows (tconst from the link).

    Comma separated, ``"`` quoting with ``""`` as an escaped quote. The field count is taken on
    the line with its quoted sections removed; a stray quote left over is malformed quoting and
    counts as a field_count failure (the fields cannot be told apart reliably).
    """
    n = len(raw.header)
    schema = ", ".join(f"`{name}` string" for name in raw.header)
    text = strip_line_end(F.col("value"))
    stage1 = (
        "line_number",
        "value",
        text.alias("_text"),
        F.regexp_replace(text, _KAGGLE_QUOTED, "").alias("_unquoted"),
        F.from_csv(text, schema, _KAGGLE_CSV_OPTIONS).alias("_parsed"),
    )
    stage2 = (
        "line_number",
        "value",
        "_text",
        F.col("_unquoted").contains('"').alias("_stray_quote"),
        F.size(F.split("_unquoted", ",", -1)).alias("_n"),
        *(kaggle_trim(F.col("_parsed").getField(name)).alias(_field(name)) for name in raw.header),
    )
    link = F.col(_field("movie_imdb_link"))
    extracted = F.regexp_extract(link, anchored(catalog.KAGGLE_LINK), 1)
    fielded = (
        "*",
        F.when(extracted == F.lit(""), F.lit(None).cast("string"))
        .otherwise(extracted)
        .alias(_field("tconst")),
    )
    controls = _control_class(set())  # the delimiter is a comma: no control character belongs
    text = F.col("_text")
    control_detail = F.concat(
        F.lit("control character "),
        _code_point(text, controls),
        F.lit(" at character "),
        F.regexp_instr(text, F.lit(controls)).cast("string"),
    )
    structural = [
        *_line_checks(F.col("value"), text, set(), control_detail),
        (R.FIELD_COUNT, F.col("_stray_quote"), F.lit("malformed quoting: a quote outside a quoted field")),
        (
            R.FIELD_COUNT,
            F.col("_n") != F.lit(n),
            F.concat(F.lit(f"expected {n} comma-separated fields, found "), F.col("_n").cast("string")),
        ),
    ]
    tconst_detail = F.concat(
        F.lit("no title id (/title/tt + 7 or more digits) in movie_imdb_link "),
        F.coalesce(_quoted(link), F.lit("(empty)")),
    )
    return [stage1, stage2, fielded, *annotate(raw, structural, {"tconst": tconst_detail}, staging)]


@dataclass(frozen=True)
class Parser:
    """Numbered lines → annotated rows, for one input: its projections, built once.

    Building them takes thousands of py4j calls (1.1 s of driver time for the Kaggle CSV's 28
    columns); a file parsed in two or three passes reuses them. They name columns only, so any
    DataFrame of ``line_number`` and ``value`` takes them.
    """

    projections: tuple[Projection, ...]

    def __call__(self, numbered: DataFrame) -> DataFrame:
        for projection in self.projections:
            numbered = numbered.select(*projection)
        return numbered


def parser(raw: RawInput, staging: str = "copy", clean_line: CleanLine | None = None) -> Parser:
    """Dispatch on the input's format; ``staging``: the Redshift path whose limits apply;
    ``clean_line``: a shortcut for clean TSV lines (see ``annotate``)."""
    if raw.fmt == "imdb_tsv":
        return Parser(tuple(imdb_tsv_projections(raw, staging, clean_line)))
    if raw.fmt == "kaggle_csv":
        return Parser(tuple(kaggle_csv_projections(raw, staging)))
    raise ValueError(f"{raw.file_name}: unknown format {raw.fmt!r}")


def parse(
    numbered: DataFrame, raw: RawInput, staging: str = "copy", clean_line: CleanLine | None = None
) -> DataFrame:
    """Data lines (``line_number``, ``value``) → annotated rows (``parser``, used once)."""
    return parser(raw, staging, clean_line)(numbered)


def conflict_order(raw: RawInput) -> list[Column]:
    """Which of several different rows with one key is kept: the first in sort order.

    IMDb: the smallest line number. Kaggle: the most num_voted_users (the most complete copy),
    ties to the smallest line number.
    """
    if keeps_first_line(raw):
        return [F.col("line_number")]
    return [F.col("num_voted_users").desc_nulls_last(), F.col("line_number")]


def keeps_first_line(raw: RawInput) -> bool:
    """Of one key's valid rows, the dedup keeps the one on the first line (IMDb's files)."""
    return raw.fmt != "kaggle_csv"


def _group_columns(raw: RawInput) -> tuple[list[Column], list[str]]:
    """The duplicate group of a row: its natural key if valid, its text (CRLF ignored) if refused."""
    valid = F.col("reason").isNull()
    columns = [F.when(valid, F.col(k)).alias(f"_g_{k}") for k in raw.key]
    columns.append(F.when(~valid, strip_line_end(F.col("value"))).alias("_g_text"))
    return columns, [f"_g_{k}" for k in raw.key] + ["_g_text"]


def duplicate_groups(annotated: DataFrame, raw: RawInput) -> DataFrame:
    """The groups (see ``_group_columns``) that occur on more than one line: usually few.

    A narrow aggregate (the key columns only) instead of shuffling whole rows: the rows of every
    other group are unique and pass through ``mark_duplicates`` unchanged.
    """
    columns, names = _group_columns(raw)
    return annotated.select(*columns).groupBy(*names).count().filter(F.col("count") > 1).select(*names)


def mark_duplicates(annotated: DataFrame, raw: RawInput, groups: DataFrame | None = None) -> DataFrame:
    """Annotated rows → the same rows, repeats and key conflicts re-labelled in ``reason``/``detail``.

    A byte-identical repeat of an earlier line (CRLF ignored) becomes ``deduplicated`` (detail:
    the first line; ``first_line``: its number), whether the line is valid or refused; among the
    distinct valid lines of one natural key the first in ``conflict_order`` is kept and the others
    become ``duplicate_key`` (detail: the key and the kept line). Every other row is unchanged.
    The result has the columns of ``annotated`` plus ``first_line`` (null unless deduplicated).

    Only the rows of ``groups`` (default: ``duplicate_groups``, computed lazily) reach the
    windows: pass in a small, broadcast set so that the full rows are never shuffled.
    """
    columns, names = _group_columns(raw)
    if groups is None:
        groups = duplicate_groups(annotated, raw)
    keyed = annotated.select("*", *columns)
    flags = groups.select(*(F.col(n).alias(f"_d{n}") for n in names), F.lit(True).alias("_candidate"))
    # Null-safe: a valid row's text group and a refused row's key groups are null.
    matches = [keyed[n].eqNullSafe(flags[f"_d{n}"]) for n in names]
    condition = matches[0]
    for match in matches[1:]:
        condition = condition & match
    flagged = keyed.join(flags, condition, "left")
    unique = flagged.filter(F.col("_candidate").isNull()).select(
        *annotated.columns, F.lit(None).cast("bigint").alias("first_line")
    )
    candidates = flagged.filter(F.col("_candidate")).select(*annotated.columns, *names)

    key = list(raw.key)
    valid = F.col("reason").isNull()
    by_group = Window.partitionBy(*names)
    text = strip_line_end(F.col("value"))
    first_same = F.min("line_number").over(Window.partitionBy(*names, text))
    kept = F.first("line_number").over(by_group.orderBy(*conflict_order(raw)))
    windowed = candidates.select("*", first_same.alias("_first_same"), kept.alias("_kept"))
    repeat = F.col("line_number") > F.col("_first_same")
    conflict = valid & (F.col("line_number") != F.col("_kept"))
    key_text = F.concat_ws(", ", *(F.concat(F.lit(f"{k}="), F.col(k).cast("string")) for k in key))
    reason = (
        F.when(repeat, F.lit(DEDUPLICATED)).when(conflict, F.lit(R.DUPLICATE_KEY)).otherwise(F.col("reason"))
    )
    detail = (
        F.when(repeat, F.concat(F.lit("byte-identical to line "), F.col("_first_same").cast("string")))
        .when(conflict, F.concat(key_text, F.lit(" also on kept line "), F.col("_kept").cast("string")))
        .otherwise(F.col("detail"))
    )
    relabelled = windowed.select(
        *(
            reason.alias(c) if c == "reason" else detail.alias(c) if c == "detail" else F.col(c)
            for c in annotated.columns
        ),
        F.when(repeat, F.col("_first_same")).cast("bigint").alias("first_line"),
    )
    return unique.unionByName(relabelled)


def key_hash(raw: RawInput) -> Column:
    """A 64-bit hash of the typed natural key: repeated keys are found by counting hashes.

    A collision only adds a candidate: the candidates are then compared on the real key.
    """
    return F.xxhash64(*(F.col(k) for k in raw.key))


def to_output(rows: DataFrame, raw: RawInput, snapshot_id: str, loaded_at: datetime) -> DataFrame:
    """Good rows → exactly the catalogue columns in order, then the lineage columns."""
    if loaded_at.tzinfo is None:
        raise ValueError("loaded_at must be time-zone aware: a naive time is ambiguous")
    # The UTC wall time as text: its cast to a zoneless timestamp needs no session time zone.
    utc_wall_time = loaded_at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    lineage = {"_snapshot_id": F.lit(snapshot_id), "_loaded_at": F.lit(utc_wall_time)}
    assert tuple(lineage) == tuple(n for n, _ in LINEAGE_COLUMNS)
    return rows.select(
        *(F.col(c.name).cast(c.type) for c in raw.columns),
        *(lineage[n].cast(spark_type(t)).alias(n) for n, t in LINEAGE_COLUMNS),
    )


def to_deduplicated(rows: DataFrame, source_file: str) -> DataFrame:
    """Dropped repeats → the dedup record: which line was a byte-identical copy of which."""
    return rows.select(
        F.lit(source_file).alias("source_file"),
        F.col("line_number").cast("bigint"),
        F.col("first_line").cast("bigint").alias("first_line_number"),
    )


def to_quarantine(rows: DataFrame, source_file: str) -> DataFrame:
    """Refused rows → the quarantine layout; ``raw_line`` is the line's bytes as delivered."""
    return rows.select(
        F.lit(source_file).alias("source_file"),
        F.col("line_number").cast("bigint"),
        F.col("reason"),
        F.col("detail"),
        F.col("value").cast("binary").alias("raw_line"),
    )
