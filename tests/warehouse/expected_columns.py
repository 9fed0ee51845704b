"""What ``raw.<dataset>`` must look like in each warehouse, written out by hand.

Written from the catalogue's documented types (imdb_elt/catalog.py: Spark SQL type names) and
each warehouse's documented spelling of them, never computed by ``warehouse_type``: a test that
took its expectation from the mapping it checks could not fail when the mapping went wrong.
Keys are NOT NULL (the catalogue's non-nullable columns); every dataset ends with the two
lineage columns the cleaning job appends.
"""

from __future__ import annotations

import re

#: DuckDB, as ``DESCRIBE raw.<dataset>`` reports it.
DUCKDB: dict[str, str] = {
    "title_basics": "tconst VARCHAR, titleType VARCHAR, primaryTitle VARCHAR, originalTitle VARCHAR, "
    "isAdult BOOLEAN, startYear INTEGER, endYear INTEGER, runtimeMinutes INTEGER, genres VARCHAR[]",
    "title_ratings": "tconst VARCHAR, averageRating DECIMAL(3,1), numVotes BIGINT",
    "title_crew": "tconst VARCHAR, directors VARCHAR[], writers VARCHAR[]",
    "title_episode": "tconst VARCHAR, parentTconst VARCHAR, seasonNumber INTEGER, episodeNumber INTEGER",
    "title_principals": "tconst VARCHAR, ordering INTEGER, nconst VARCHAR, category VARCHAR, job VARCHAR, "
    "characters VARCHAR[]",
    "name_basics": "nconst VARCHAR, primaryName VARCHAR, birthYear INTEGER, deathYear INTEGER, "
    "primaryProfession VARCHAR[], knownForTitles VARCHAR[]",
    "title_akas": "titleId VARCHAR, ordering INTEGER, title VARCHAR, region VARCHAR, language VARCHAR, "
    "types VARCHAR[], attributes VARCHAR[], isOriginalTitle BOOLEAN",
    "movie_metadata": "tconst VARCHAR, color VARCHAR, director_name VARCHAR, num_critic_for_reviews INTEGER, "
    "duration INTEGER, director_facebook_likes BIGINT, actor_3_facebook_likes BIGINT, actor_2_name VARCHAR, "
    "actor_1_facebook_likes BIGINT, gross BIGINT, genres VARCHAR[], actor_1_name VARCHAR, "
    "movie_title VARCHAR, num_voted_users BIGINT, cast_total_facebook_likes BIGINT, actor_3_name VARCHAR, "
    "facenumber_in_poster INTEGER, plot_keywords VARCHAR[], movie_imdb_link VARCHAR, "
    "num_user_for_reviews INTEGER, language VARCHAR, country VARCHAR, content_rating VARCHAR, "
    "budget BIGINT, title_year INTEGER, actor_2_facebook_likes BIGINT, imdb_score DECIMAL(3,1), "
    "aspect_ratio DECIMAL(5,2), movie_facebook_likes BIGINT",
}
DUCKDB_LINEAGE = "_snapshot_id VARCHAR, _loaded_at TIMESTAMP"

#: PostgreSQL, in CREATE TABLE spelling.
POSTGRES: dict[str, str] = {
    "title_basics": "tconst text NOT NULL, titleType text, primaryTitle text, originalTitle text, "
    "isAdult boolean, startYear integer, endYear integer, runtimeMinutes integer, genres text[]",
    "title_ratings": "tconst text NOT NULL, averageRating numeric(3,1), numVotes bigint",
    "title_crew": "tconst text NOT NULL, directors text[], writers text[]",
    "title_episode": "tconst text NOT NULL, parentTconst text, seasonNumber integer, episodeNumber integer",
    "title_principals": "tconst text NOT NULL, ordering integer NOT NULL, nconst text, category text, "
    "job text, characters text[]",
    "name_basics": "nconst text NOT NULL, primaryName text, birthYear integer, deathYear integer, "
    "primaryProfession text[], knownForTitles text[]",
    "title_akas": "titleId text NOT NULL, ordering integer NOT NULL, title text, region text, language text, "
    "types text[], attributes text[], isOriginalTitle boolean",
    "movie_metadata": "tconst text NOT NULL, color text, director_name text, num_critic_for_reviews integer, "
    "duration integer, director_facebook_likes bigint, actor_3_facebook_likes bigint, actor_2_name text, "
    "actor_1_facebook_likes bigint, gross bigint, genres text[], actor_1_name text, movie_title text, "
    "num_voted_users bigint, cast_total_facebook_likes bigint, actor_3_name text, "
    "facenumber_in_poster integer, plot_keywords text[], movie_imdb_link text, num_user_for_reviews integer, "
    "language text, country text, content_rating text, budget bigint, title_year integer, "
    "actor_2_facebook_likes bigint, imdb_score numeric(3,1), aspect_ratio numeric(5,2), "
    "movie_facebook_likes bigint",
}
POSTGRES_LINEAGE = "_snapshot_id text, _loaded_at timestamp"

#: PostgreSQL type → (data_type, udt_name, numeric_precision, numeric_scale) in information_schema.
_PG_INFORMATION_SCHEMA = {
    "text": ("text", "text", None, None),
    "integer": ("integer", "int4", 32, 0),
    "bigint": ("bigint", "int8", 64, 0),
    "boolean": ("boolean", "bool", None, None),
    "timestamp": ("timestamp without time zone", "timestamp", None, None),
    "text[]": ("ARRAY", "_text", None, None),
}
_NUMERIC = re.compile(r"numeric\((\d+),(\d+)\)")


def _columns(spec: str) -> list[list[str]]:
    # Split on the commas between columns, not those inside numeric(p,s) / DECIMAL(p,s).
    return [part.split() for part in re.split(r",\s*(?![^()]*\))", spec)]


def duckdb_columns(dataset: str) -> list[tuple[str, str]]:
    """[(name, DuckDB type)] of raw.<dataset>, lineage columns included."""
    return [(name, type_) for name, type_ in _columns(f"{DUCKDB[dataset]}, {DUCKDB_LINEAGE}")]


def postgres_columns(dataset: str) -> list[tuple]:
    """[(name, data_type, udt_name, precision, scale, is_nullable)] as information_schema says."""
    found = []
    for name, type_, *constraint in _columns(f"{POSTGRES[dataset]}, {POSTGRES_LINEAGE}"):
        numeric = _NUMERIC.fullmatch(type_)
        info = (("numeric", "numeric", int(numeric[1]), int(numeric[2])) if numeric
                else _PG_INFORMATION_SCHEMA[type_])
        found.append((name, *info, "NO" if constraint == ["NOT", "NULL"] else "YES"))
    return found
