"""The eight raw inputs and the typed columns the processed zone holds for each.

This module is the contract between the Spark job (which writes these columns), the warehouse
staging step (which loads them) and dbt (whose sources declare them). It is pure Python with no
Spark import, so that the Airflow DAG can read it at parse time for free.

Types are Spark SQL DDL type names; ``spark_jobs.schemas`` turns them into StructTypes and the
staging loaders map them to warehouse types.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Columns the cleaning job appends to every processed dataset (lineage for dbt and freshness).
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_snapshot_id", "string"),
    ("_loaded_at", "timestamp"),
)


@dataclass(frozen=True)
class Column:
    """One processed column: its raw header name, the Spark SQL type it is cleaned into."""

    name: str
    type: str
    nullable: bool = True


@dataclass(frozen=True)
class RawInput:
    """One raw input: where it lands, how it is laid out, what it becomes."""

    dataset: str  # processed dataset and warehouse raw table name, e.g. "title_basics"
    file_name: str  # file name in the raw zone, e.g. "title.basics.tsv.gz"
    fmt: str  # "imdb_tsv" (tab separated, \N nulls, no quoting, gzip) or "kaggle_csv"
    header: tuple[str, ...]  # the exact header line the raw file must carry, in order
    columns: tuple[Column, ...]  # typed output columns (before the lineage columns)
    key: tuple[str, ...]  # natural key: unique in the processed output

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _tsv(
    dataset: str, file_stem: str, columns: list[tuple[str, str, bool]], key: tuple[str, ...]
) -> RawInput:
    cols = tuple(Column(n, t, nullable) for n, t, nullable in columns)
    return RawInput(
        dataset=dataset,
        file_name=f"{file_stem}.tsv.gz",
        fmt="imdb_tsv",
        header=tuple(c.name for c in cols),
        columns=cols,
        key=key,
    )


# Only the keys are NOT NULL: every other IMDb field may be \N.
TITLE_BASICS = _tsv(
    "title_basics",
    "title.basics",
    [
        ("tconst", "string", False),
        ("titleType", "string", True),
        ("primaryTitle", "string", True),
        ("originalTitle", "string", True),
        ("isAdult", "boolean", True),
        ("startYear", "int", True),
        ("endYear", "int", True),
        ("runtimeMinutes", "int", True),
        ("genres", "array<string>", True),
    ],
    ("tconst",),
)
TITLE_RATINGS = _tsv(
    "title_ratings",
    "title.ratings",
    [
        ("tconst", "string", False),
        ("averageRating", "decimal(3,1)", True),
        ("numVotes", "bigint", True),
    ],
    ("tconst",),
)
TITLE_CREW = _tsv(
    "title_crew",
    "title.crew",
    [
        ("tconst", "string", False),
        ("directors", "array<string>", True),
        ("writers", "array<string>", True),
    ],
    ("tconst",),
)
TITLE_EPISODE = _tsv(
    "title_episode",
    "title.episode",
    [
        ("tconst", "string", False),
        ("parentTconst", "string", True),
        ("seasonNumber", "int", True),
        ("episodeNumber", "int", True),
    ],
    ("tconst",),
)
TITLE_PRINCIPALS = _tsv(
    "title_principals",
    "title.principals",
    [
        ("tconst", "string", False),
        ("ordering", "int", False),
        ("nconst", "string", True),
        ("category", "string", True),
        ("job", "string", True),
        ("characters", "array<string>", True),
    ],
    ("tconst", "ordering"),
)
NAME_BASICS = _tsv(
    "name_basics",
    "name.basics",
    [
        ("nconst", "string", False),
        ("primaryName", "string", True),
        ("birthYear", "int", True),
        ("deathYear", "int", True),
        ("primaryProfession", "array<string>", True),
        ("knownForTitles", "array<string>", True),
    ],
    ("nconst",),
)
TITLE_AKAS = _tsv(
    "title_akas",
    "title.akas",
    [
        ("titleId", "string", False),
        ("ordering", "int", False),
        ("title", "string", True),
        ("region", "string", True),
        ("language", "string", True),
        ("types", "array<string>", True),
        ("attributes", "array<string>", True),
        ("isOriginalTitle", "boolean", True),
    ],
    ("titleId", "ordering"),
)

_KAGGLE_RAW: list[tuple[str, str]] = [
    ("color", "string"),
    ("director_name", "string"),
    ("num_critic_for_reviews", "int"),
    ("duration", "int"),
    ("director_facebook_likes", "bigint"),
    ("actor_3_facebook_likes", "bigint"),
    ("actor_2_name", "string"),
    ("actor_1_facebook_likes", "bigint"),
    ("gross", "bigint"),
    ("genres", "array<string>"),
    ("actor_1_name", "string"),
    ("movie_title", "string"),
    ("num_voted_users", "bigint"),
    ("cast_total_facebook_likes", "bigint"),
    ("actor_3_name", "string"),
    ("facenumber_in_poster", "int"),
    ("plot_keywords", "array<string>"),
    ("movie_imdb_link", "string"),
    ("num_user_for_reviews", "int"),
    ("language", "string"),
    ("country", "string"),
    ("content_rating", "string"),
    ("budget", "bigint"),
    ("title_year", "int"),
    ("actor_2_facebook_likes", "bigint"),
    ("imdb_score", "decimal(3,1)"),
    ("aspect_ratio", "decimal(5,2)"),
    ("movie_facebook_likes", "bigint"),
]

#: The Kaggle "IMDB 5000" file: 28 raw columns, plus tconst parsed from movie_imdb_link.
MOVIE_METADATA = RawInput(
    dataset="movie_metadata",
    file_name="movie_metadata.csv",
    fmt="kaggle_csv",
    header=tuple(n for n, _ in _KAGGLE_RAW),
    columns=(Column("tconst", "string", False), *(Column(n, t) for n, t in _KAGGLE_RAW)),
    key=("tconst",),
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
