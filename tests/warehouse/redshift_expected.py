"""Literal expectations for the Redshift staging SQL, written by hand (not computed by the code under test).

Source of truth: the column list and Spark types documented in imdb_elt/catalog.py (and the IMDb
dataset documentation), and Redshift's documented types:
- string → VARCHAR(65535) (Redshift counts bytes and defaults to 256);
- int → INTEGER, bigint → BIGINT, boolean → BOOLEAN, timestamp → TIMESTAMP;
- decimal(p,s) → DECIMAL(p,s), precision and scale unchanged;
- array<string> → SUPER in a local table (COPY ... SERIALIZETOJSON), ARRAY<VARCHAR(65535)> in a
  Spectrum external table (nested Parquet read natively).
Every dataset ends with the lineage columns _snapshot_id (string) and _loaded_at (timestamp).

Each row: (column, COPY table type, Spectrum type, NOT NULL).
"""

from __future__ import annotations

COLUMNS: dict[str, list[tuple[str, str, str, bool]]] = {
    "title_basics": [
        ("tconst", "VARCHAR(65535)", "VARCHAR(65535)", True),
        ("titleType", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("primaryTitle", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("originalTitle", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("isAdult", "BOOLEAN", "BOOLEAN", False),
        ("startYear", "INTEGER", "INTEGER", False),
        ("endYear", "INTEGER", "INTEGER", False),
        ("runtimeMinutes", "INTEGER", "INTEGER", False),
        ("genres", "SUPER", "ARRAY<VARCHAR(65535)>", False),
        ("_snapshot_id", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("_loaded_at", "TIMESTAMP", "TIMESTAMP", False),
    ],
    "title_ratings": [
        ("tconst", "VARCHAR(65535)", "VARCHAR(65535)", True),
        ("averageRating", "DECIMAL(3,1)", "DECIMAL(3,1)", False),
        ("numVotes", "BIGINT", "BIGINT", False),
        ("_snapshot_id", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("_loaded_at", "TIMESTAMP", "TIMESTAMP", False),
    ],
    "title_crew": [
        ("tconst", "VARCHAR(65535)", "VARCHAR(65535)", True),
        ("directors", "SUPER", "ARRAY<VARCHAR(65535)>", False),
        ("writers", "SUPER", "ARRAY<VARCHAR(65535)>", False),
        ("_snapshot_id", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("_loaded_at", "TIMESTAMP", "TIMESTAMP", False),
    ],
    "title_episode": [
        ("tconst", "VARCHAR(65535)", "VARCHAR(65535)", True),
        ("parentTconst", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("seasonNumber", "INTEGER", "INTEGER", False),
        ("episodeNumber", "INTEGER", "INTEGER", False),
        ("_snapshot_id", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("_loaded_at", "TIMESTAMP", "TIMESTAMP", False),
    ],
    "title_principals": [
        ("tconst", "VARCHAR(65535)", "VARCHAR(65535)", True),
        ("ordering", "INTEGER", "INTEGER", True),
        ("nconst", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("category", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("job", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("characters", "SUPER", "ARRAY<VARCHAR(65535)>", False),
        ("_snapshot_id", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("_loaded_at", "TIMESTAMP", "TIMESTAMP", False),
    ],
    "name_basics": [
        ("nconst", "VARCHAR(65535)", "VARCHAR(65535)", True),
        ("primaryName", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("birthYear", "INTEGER", "INTEGER", False),
        ("deathYear", "INTEGER", "INTEGER", False),
        ("primaryProfession", "SUPER", "ARRAY<VARCHAR(65535)>", False),
        ("knownForTitles", "SUPER", "ARRAY<VARCHAR(65535)>", False),
        ("_snapshot_id", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("_loaded_at", "TIMESTAMP", "TIMESTAMP", False),
    ],
    "title_akas": [
        ("titleId", "VARCHAR(65535)", "VARCHAR(65535)", True),
        ("ordering", "INTEGER", "INTEGER", True),
        ("title", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("region", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("language", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("types", "SUPER", "ARRAY<VARCHAR(65535)>", False),
        ("attributes", "SUPER", "ARRAY<VARCHAR(65535)>", False),
        ("isOriginalTitle", "BOOLEAN", "BOOLEAN", False),
        ("_snapshot_id", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("_loaded_at", "TIMESTAMP", "TIMESTAMP", False),
    ],
    "movie_metadata": [
        ("tconst", "VARCHAR(65535)", "VARCHAR(65535)", True),
        ("color", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("director_name", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("num_critic_for_reviews", "INTEGER", "INTEGER", False),
        ("duration", "INTEGER", "INTEGER", False),
        ("director_facebook_likes", "BIGINT", "BIGINT", False),
        ("actor_3_facebook_likes", "BIGINT", "BIGINT", False),
        ("actor_2_name", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("actor_1_facebook_likes", "BIGINT", "BIGINT", False),
        ("gross", "BIGINT", "BIGINT", False),
        ("genres", "SUPER", "ARRAY<VARCHAR(65535)>", False),
        ("actor_1_name", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("movie_title", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("num_voted_users", "BIGINT", "BIGINT", False),
        ("cast_total_facebook_likes", "BIGINT", "BIGINT", False),
        ("actor_3_name", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("facenumber_in_poster", "INTEGER", "INTEGER", False),
        ("plot_keywords", "SUPER", "ARRAY<VARCHAR(65535)>", False),
        ("movie_imdb_link", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("num_user_for_reviews", "INTEGER", "INTEGER", False),
        ("language", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("country", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("content_rating", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("budget", "BIGINT", "BIGINT", False),
        ("title_year", "INTEGER", "INTEGER", False),
        ("actor_2_facebook_likes", "BIGINT", "BIGINT", False),
        ("imdb_score", "DECIMAL(3,1)", "DECIMAL(3,1)", False),
        ("aspect_ratio", "DECIMAL(5,2)", "DECIMAL(5,2)", False),
        ("movie_facebook_likes", "BIGINT", "BIGINT", False),
        ("_snapshot_id", "VARCHAR(65535)", "VARCHAR(65535)", False),
        ("_loaded_at", "TIMESTAMP", "TIMESTAMP", False),
    ],
}

#: Staging order: the catalogue's (raw files in the order the pipeline documents them).
DATASETS = list(COLUMNS)
