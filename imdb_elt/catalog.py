"""The eight raw inputs, the typed columns the processed zone holds for each, and their rules.

This module is the contract between the Spark job (which writes these columns), the warehouse
staging step (which loads them) and dbt (whose sources declare them). It is also the one home of
the per-column cleaning rules: which columns are ids, years, lists or JSON, their ranges, list
separators and the exact pattern a value must match. The Spark job turns them into expressions
(``spark_jobs.rules.column_rules`` is the accessor); tests and dbt read the same data. It is pure
Python with no Spark import, so that the Airflow DAG can read it at parse time for free.

Types are Spark SQL DDL type names; ``spark_jobs.schemas`` turns them into StructTypes and the
staging loaders map them to warehouse types.

Patterns are regular-expression bodies that must match a WHOLE value (the cleaner anchors them at
both ends, with ``\\z`` in Java, never ``$``: see ``spark_jobs.rules``). They are written so that
Java (Spark's ``rlike``) and Python (``re.fullmatch``) read them alike: ``[0-9]`` rather than
``\\d`` (Python's ``\\d`` also matches other scripts' digits), explicit whitespace rather than ``\\s``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Columns the cleaning job appends to every processed dataset (lineage for dbt and freshness).
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_snapshot_id", "string"),
    ("_loaded_at", "timestamp"),
)


# ---- Value patterns (whole-value regular-expression bodies, see the module docstring) ----------
TCONST = r"tt[0-9]{7,}"
NCONST = r"nm[0-9]{7,}"
#: A year is a non-negative integer of one to four digits: the real name.basics holds people of
#: antiquity (birth years such as 525), so a fixed four digits would drop real rows.
YEAR = r"[0-9]{1,4}"
INTEGER = r"-?[0-9]+"
DECIMAL = r"-?[0-9]+(?:\.[0-9]+)?"
#: A boolean is one of these two texts (false, true).
BOOLEAN_VALUES = ("0", "1")
BOOLEAN = "[" + "".join(BOOLEAN_VALUES) + "]"
# A JSON string whose text cannot decode to a C0 control character, a lone surrogate or U+FFFD:
# raw characters other than '"', '\' and C0; escapes \" \\ \/ and \uXXXX outside those ranges
# (\b \f \n \r \t and \u0000-\u001F would put control characters into the processed text).
_JSON_CHAR = r'[^"\\\x00-\x1F]'
_JSON_ESCAPE = r'\\(?:["\\/]|u(?!00[01][0-9a-fA-F]|[dD][89a-fA-F]|[fF][fF][fF][dD])[0-9a-fA-F]{4})'
_JSON_STRING = rf'"(?:{_JSON_CHAR}|{_JSON_ESCAPE})*+"'
_JSON_SPACE = r"[ \t\n\r]*+"
#: A JSON array whose elements are all strings (``[1]`` and ``{"a":"b"}`` are refused).
JSON_STRING_ARRAY = (
    rf"\[{_JSON_SPACE}(?:{_JSON_STRING}(?:{_JSON_SPACE},{_JSON_SPACE}{_JSON_STRING})*+)?{_JSON_SPACE}\]"
)
#: Kaggle ``movie_imdb_link``: printable ASCII holding ``/title/tt...`` followed by the end or by
#: ``/``, ``?``, ``#``; group 1 is the title id (the processed ``tconst``).
KAGGLE_LINK = r"[!-~]*?/title/(tt[0-9]{7,})(?:[/?#][!-~]*)?"

# ---- Format rules --------------------------------------------------------------------------------
#: IMDb TSVs: the null marker, and the separator of list columns unless a column says otherwise.
TSV_NULL = "\\N"
TSV_LIST_SEPARATOR = ","
#: IMDb separates title.akas ``types`` and ``attributes`` with this control character; it is
#: legitimate in those two columns and nowhere else.
AKAS_LIST_SEPARATOR = "\x02"
KAGGLE_LIST_SEPARATOR = "|"
#: Kaggle fields are trimmed of these at both ends (almost every title ends in a no-break space,
#: ``color`` has " Black and White"); a field that is then empty is null. Control characters are
#: not trimmed: a line holding one is quarantined.
KAGGLE_TRIM = " \u00a0"

#: Column kinds: how a raw field is validated and typed.
KINDS = ("id", "id_list", "year", "integer", "decimal", "boolean", "json", "list", "string")


@dataclass(frozen=True)
class Column:
    """One processed column: its raw header name, the Spark SQL type it is cleaned into, its rule.

    ``kind`` (see KINDS) defaults from the type; ``pattern`` is the whole-value pattern of one
    value (of one element for a list) and defaults from the kind; ``separator`` splits a list;
    ``minimum``/``maximum`` bound a number (inclusive).
    """

    name: str
    type: str
    nullable: bool = True
    kind: str = ""
    pattern: str | None = None
    separator: str | None = None
    minimum: float | None = None
    maximum: float | None = None

    def __post_init__(self) -> None:
        kind = self.kind or _kind_of_type(self.type)
        if kind not in KINDS:
            raise ValueError(f"{self.name}: unknown kind {kind!r}")
        object.__setattr__(self, "kind", kind)
        if self.pattern is None:
            object.__setattr__(self, "pattern", _PATTERN_OF_KIND.get(kind))
        if kind in ("list", "id_list") and self.separator is None:
            raise ValueError(f"{self.name}: a list column needs a separator")


def _kind_of_type(ddl: str) -> str:
    if ddl in ("int", "bigint"):
        return "integer"
    if ddl.startswith("decimal"):
        return "decimal"
    if ddl == "boolean":
        return "boolean"
    if ddl.startswith("array"):
        return "list"
    return "string"


_PATTERN_OF_KIND = {
    "year": YEAR,
    "integer": INTEGER,
    "decimal": DECIMAL,
    "boolean": BOOLEAN,
    "json": JSON_STRING_ARRAY,
}


def _id(name: str, pattern: str, nullable: bool = True) -> Column:
    return Column(name, "string", nullable, kind="id", pattern=pattern)


def _ids(name: str, pattern: str) -> Column:
    return Column(name, "array<string>", kind="id_list", pattern=pattern, separator=TSV_LIST_SEPARATOR)


def _year(name: str) -> Column:
    return Column(name, "int", kind="year")


def _list(name: str, separator: str = TSV_LIST_SEPARATOR) -> Column:
    return Column(name, "array<string>", separator=separator)


def _count(name: str, type_: str = "int", nullable: bool = True) -> Column:
    """A count or position: never negative."""
    return Column(name, type_, nullable, minimum=0)


def _rating(name: str) -> Column:
    """IMDb's 0..10 scale."""
    return Column(name, "decimal(3,1)", minimum=0, maximum=10)


@dataclass(frozen=True)
class RawInput:
    """One raw input: where it lands, how it is laid out, what it becomes."""

    dataset: str  # processed dataset and warehouse raw table name, e.g. "title_basics"
    file_name: str  # file name in the raw zone, e.g. "title.basics.tsv.gz"
    fmt: str  # "imdb_tsv" (tab separated, \N nulls, no quoting, gzip) or "kaggle_csv"
    header: tuple[str, ...]  # the exact header line the raw file must carry, in order
    columns: tuple[Column, ...]  # typed output columns (before the lineage columns)
    key: tuple[str, ...]  # natural key: unique in the processed output
    #: A row must have at least one of these non-null and non-empty (else ``missing_title``).
    title_columns: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def sorted_by_key(self) -> bool:
        """IMDb's dumps come sorted by their key; the Kaggle CSV does not (and repeats ids)."""
        return self.fmt == "imdb_tsv"

    @property
    def file_names(self) -> tuple[str, ...]:
        """The names a delivery of this input may have: the catalogue's, then an IMDb dump as
        many users keep it, gunzipped (``title.ratings.tsv``). Both are read with the same checks."""
        if self.fmt == "imdb_tsv" and self.file_name.endswith(".gz"):
            return (self.file_name, self.file_name.removesuffix(".gz"))
        return (self.file_name,)


def _tsv(
    dataset: str,
    file_stem: str,
    columns: list[Column],
    key: tuple[str, ...],
    title_columns: tuple[str, ...] = (),
) -> RawInput:
    return RawInput(
        dataset=dataset,
        file_name=f"{file_stem}.tsv.gz",
        fmt="imdb_tsv",
        header=tuple(c.name for c in columns),
        columns=tuple(columns),
        key=key,
        title_columns=title_columns,
    )


# Only the keys are NOT NULL: every other IMDb field may be \N.
TITLE_BASICS = _tsv(
    "title_basics",
    "title.basics",
    [
        _id("tconst", TCONST, nullable=False),
        Column("titleType", "string"),
        Column("primaryTitle", "string"),
        Column("originalTitle", "string"),
        Column("isAdult", "boolean"),
        _year("startYear"),
        _year("endYear"),
        _count("runtimeMinutes"),
        _list("genres"),
    ],
    ("tconst",),
    title_columns=("primaryTitle", "originalTitle"),
)
TITLE_RATINGS = _tsv(
    "title_ratings",
    "title.ratings",
    [_id("tconst", TCONST, nullable=False), _rating("averageRating"), _count("numVotes", "bigint")],
    ("tconst",),
)
TITLE_CREW = _tsv(
    "title_crew",
    "title.crew",
    [_id("tconst", TCONST, nullable=False), _ids("directors", NCONST), _ids("writers", NCONST)],
    ("tconst",),
)
TITLE_EPISODE = _tsv(
    "title_episode",
    "title.episode",
    [
        _id("tconst", TCONST, nullable=False),
        _id("parentTconst", TCONST),
        Column("seasonNumber", "int"),
        Column("episodeNumber", "int"),
    ],
    ("tconst",),
)
TITLE_PRINCIPALS = _tsv(
    "title_principals",
    "title.principals",
    [
        _id("tconst", TCONST, nullable=False),
        _count("ordering", nullable=False),
        _id("nconst", NCONST),
        Column("category", "string"),
        Column("job", "string"),
        Column("characters", "array<string>", kind="json"),
    ],
    ("tconst", "ordering"),
)
NAME_BASICS = _tsv(
    "name_basics",
    "name.basics",
    [
        _id("nconst", NCONST, nullable=False),
        Column("primaryName", "string"),
        _year("birthYear"),
        _year("deathYear"),
        _list("primaryProfession"),
        _ids("knownForTitles", TCONST),
    ],
    ("nconst",),
)
TITLE_AKAS = _tsv(
    "title_akas",
    "title.akas",
    [
        _id("titleId", TCONST, nullable=False),
        _count("ordering", nullable=False),
        Column("title", "string"),
        Column("region", "string"),
        Column("language", "string"),
        _list("types", AKAS_LIST_SEPARATOR),
        _list("attributes", AKAS_LIST_SEPARATOR),
        Column("isOriginalTitle", "boolean"),
    ],
    ("titleId", "ordering"),
)

_KAGGLE_RAW: list[Column] = [
    Column("color", "string"),
    Column("director_name", "string"),
    Column("num_critic_for_reviews", "int"),
    _count("duration"),
    Column("director_facebook_likes", "bigint"),
    Column("actor_3_facebook_likes", "bigint"),
    Column("actor_2_name", "string"),
    Column("actor_1_facebook_likes", "bigint"),
    Column("gross", "bigint"),
    _list("genres", KAGGLE_LIST_SEPARATOR),
    Column("actor_1_name", "string"),
    Column("movie_title", "string"),
    _count("num_voted_users", "bigint"),
    Column("cast_total_facebook_likes", "bigint"),
    Column("actor_3_name", "string"),
    Column("facenumber_in_poster", "int"),
    _list("plot_keywords", KAGGLE_LIST_SEPARATOR),
    Column("movie_imdb_link", "string"),
    Column("num_user_for_reviews", "int"),
    Column("language", "string"),
    Column("country", "string"),
    Column("content_rating", "string"),
    Column("budget", "bigint"),
    _year("title_year"),
    Column("actor_2_facebook_likes", "bigint"),
    _rating("imdb_score"),
    Column("aspect_ratio", "decimal(5,2)"),
    Column("movie_facebook_likes", "bigint"),
]

#: The Kaggle "IMDB 5000" file: 28 raw columns, plus tconst taken from movie_imdb_link (KAGGLE_LINK).
MOVIE_METADATA = RawInput(
    dataset="movie_metadata",
    file_name="movie_metadata.csv",
    fmt="kaggle_csv",
    header=tuple(c.name for c in _KAGGLE_RAW),
    columns=(_id("tconst", TCONST, nullable=False), *_KAGGLE_RAW),
    key=("tconst",),
    title_columns=("movie_title",),
)

INPUTS: tuple[RawInput, ...] = (
    TITLE_BASICS,
    TITLE_RATINGS,
    TITLE_CREW,
    TITLE_EPISODE,
    TITLE_PRINCIPALS,
    NAME_BASICS,
    TITLE_AKAS,
    MOVIE_METADATA,
)
BY_DATASET: dict[str, RawInput] = {i.dataset: i for i in INPUTS}
BY_FILE_NAME: dict[str, RawInput] = {i.file_name: i for i in INPUTS}
#: Every name a delivery may have (``RawInput.file_names``) → its input.
BY_DELIVERED_NAME: dict[str, RawInput] = {name: i for i in INPUTS for name in i.file_names}
