"""Tiny processed snapshots for the dbt tests, written the way the Spark job writes them.

Each dataset becomes a Parquet folder with exactly the catalogue columns and types (arrays as
lists of strings, decimals as Parquet decimals, `_loaded_at` as a UTC timestamp), so the
staging loaders in imdb_elt.warehouse treat them like real Spark output. The rows are chosen to
exercise what the models must get right: a Kaggle-only movie, a Kaggle TV series, a movie known
only by its original title, dangling director and parent references, non-USA budgets above
2^31, rating ties, directors with more than one film, and rows the cleaning rules accept that
only plausibility checks question (a person born in 525, a title announced for a future year, a
death before a birth). Kaggle text is as Spark writes it: trimmed, U+00A0 included.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import subprocess
import sys
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from imdb_elt.catalog import BY_DATASET, LINEAGE_COLUMNS
from imdb_elt.config import DBT_PROJECT_DIR, PROFILES_DIR, REPO_ROOT

DBT = str(Path(sys.executable).with_name("dbt"))

#: A title announced for a year after the current one: accepted data, a plausibility warning.
ANNOUNCED_YEAR = dt.date.today().year + 5

_DECIMAL = re.compile(r"decimal\((\d+),\s*(\d+)\)")
_SCALAR = {
    "string": pa.string(),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "array<string>": pa.list_(pa.string()),
}


def arrow_type(spark_type: str) -> pa.DataType:
    """The Parquet (Arrow) type Spark writes for a catalogue type."""
    match = _DECIMAL.fullmatch(spark_type)
    if match:
        return pa.decimal128(int(match.group(1)), int(match.group(2)))
    return _SCALAR[spark_type]


def arrow_schema(dataset: str) -> pa.Schema:
    spec = BY_DATASET[dataset]
    columns = [(c.name, c.type) for c in spec.columns] + list(LINEAGE_COLUMNS)
    return pa.schema([(name, arrow_type(t)) for name, t in columns])


def _kaggle(**values: Any) -> dict[str, Any]:
    row = {c.name: None for c in BY_DATASET["movie_metadata"].columns}
    row.update(values)
    row["movie_imdb_link"] = f"http://www.imdb.com/title/{values['tconst']}/"
    return row


def base_rows() -> dict[str, list[dict[str, Any]]]:
    """Catalogue rows per dataset (without lineage columns); tests copy and alter them."""
    d = Decimal
    return {
        "title_basics": [
            # Two 2012 movies with the same rating: the weighted rating and then votes decide.
            dict(tconst="tt0000001", titleType="movie", primaryTitle="Alpha", originalTitle="Alpha",
                 isAdult=False, startYear=2012, endYear=None, runtimeMinutes=100,
                 genres=["Drama", "Action"]),
            dict(tconst="tt0000002", titleType="movie", primaryTitle="Beta",
                 originalTitle="Beta", isAdult=False, startYear=2012, endYear=None, runtimeMinutes=None,
                 genres=["Comedy"]),
            dict(tconst="tt0000003", titleType="movie", primaryTitle="Gamma", originalTitle="Gamma",
                 isAdult=False, startYear=1999, endYear=None, runtimeMinutes=120, genres=None),
            dict(tconst="tt0000004", titleType="tvSeries", primaryTitle="Delta Show",
                 originalTitle="Delta Show", isAdult=False, startYear=2015, endYear=2018,
                 runtimeMinutes=45, genres=["Drama"]),
            dict(tconst="tt0000005", titleType="tvEpisode", primaryTitle="Pilot", originalTitle="Pilot",
                 isAdult=False, startYear=2015, endYear=None, runtimeMinutes=44, genres=["Drama"]),
            dict(tconst="tt0000006", titleType="movie", primaryTitle="Epsilon", originalTitle="Epsilon",
                 isAdult=False, startYear=2012, endYear=None, runtimeMinutes=90,
                 genres=["Horror", "Drama"]),
            # Only an original title (the movies mart falls back to it); announced for a later year.
            dict(tconst="tt0000008", titleType="movie", primaryTitle=None, originalTitle="Eta Original",
                 isAdult=False, startYear=ANNOUNCED_YEAR, endYear=None, runtimeMinutes=None, genres=None),
        ],
        "title_ratings": [
            dict(tconst="tt0000001", averageRating=d("8.0"), numVotes=5000),
            dict(tconst="tt0000002", averageRating=d("8.0"), numVotes=3000),
            dict(tconst="tt0000003", averageRating=d("6.5"), numVotes=200),
            dict(tconst="tt0000004", averageRating=d("9.1"), numVotes=40000),
            dict(tconst="tt0000006", averageRating=d("5.0"), numVotes=1500),
            # Dangling: a rating for a title the basics do not hold.
            dict(tconst="tt9999999", averageRating=d("7.7"), numVotes=10),
        ],
        "title_crew": [
            dict(tconst="tt0000001", directors=["nm0000001", "nm0000002"], writers=["nm0000003"]),
            dict(tconst="tt0000002", directors=["nm0000001"], writers=None),
            # nm0000404 is not in name.basics: the Kaggle director name fills in for the movie.
            dict(tconst="tt0000003", directors=["nm0000404"], writers=["nm0000003", "nm0000003"]),
            dict(tconst="tt0000006", directors=["nm0000002"], writers=None),
        ],
        "title_episode": [
            dict(tconst="tt0000005", parentTconst="tt0000004", seasonNumber=1, episodeNumber=1),
            dict(tconst="tt0000007", parentTconst="tt0000404", seasonNumber=None, episodeNumber=None),
        ],
        "title_principals": [
            dict(tconst="tt0000001", ordering=1, nconst="nm0000003", category="actor", job=None,
                 characters=["Hero", "Narrator"]),
            dict(tconst="tt0000001", ordering=2, nconst="nm0000001", category="director", job=None,
                 characters=None),
            dict(tconst="tt0000002", ordering=1, nconst="nm0000405", category="actress", job=None,
                 characters=["Villain"]),
        ],
        "name_basics": [
            dict(nconst="nm0000001", primaryName="Ann Director", birthYear=1960, deathYear=None,
                 primaryProfession=["director", "writer"], knownForTitles=["tt0000001", "tt0000002"]),
            dict(nconst="nm0000002", primaryName="Bob Director", birthYear=1970, deathYear=2020,
                 primaryProfession=["director"], knownForTitles=["tt0000006"]),
            dict(nconst="nm0000003", primaryName="Cy Actor", birthYear=None, deathYear=None,
                 primaryProfession=["actor", "writer"], knownForTitles=None),
            # A person of antiquity: a three-digit birth year is valid data.
            dict(nconst="nm0000004", primaryName="Ancient Author", birthYear=525, deathYear=None,
                 primaryProfession=["writer"], knownForTitles=["tt0000003"]),
            # Implausible but accepted by the cleaning rules: only a warning.
            dict(nconst="nm0000005", primaryName="Odd Dates", birthYear=1990, deathYear=1980,
                 primaryProfession=None, knownForTitles=None),
        ],
        "title_akas": [
            dict(titleId="tt0000001", ordering=1, title="Alpha", region="US", language="en",
                 types=["imdbDisplay"], attributes=None, isOriginalTitle=False),
            dict(titleId="tt0000001", ordering=2, title="Alfa", region="IT", language="it",
                 types=["working", "festival"], attributes=["literal title"], isOriginalTitle=False),
            dict(titleId="tt0000002", ordering=1, title="Beta", region=None, language=None,
                 types=["original"], attributes=None, isOriginalTitle=True),
        ],
        "movie_metadata": [
            # In both sources: IMDb values win, Kaggle adds the money and the content rating.
            _kaggle(tconst="tt0000001", movie_title="Alpha (Kaggle)", title_year=2011, duration=99,
                    director_name="Ann Director", gross=3_000_000_000, budget=1_000_000_000,
                    genres=["Action", "Drama"], imdb_score=d("7.9"), num_voted_users=4000,
                    country="USA", content_rating="PG-13", language="English"),
            dict(_kaggle(tconst="tt0000002", movie_title="Beta", title_year=2012, duration=95,
                         director_name="Ann Director", gross=50_000_000, budget=80_000_000,
                         genres=["Comedy"], imdb_score=d("8.0"), num_voted_users=2900,
                         country="USA", content_rating="PG-13", language="English")),
            # Korean won: must never be summed with dollars.
            _kaggle(tconst="tt0000003", movie_title="Gamma", title_year=1999, duration=118,
                    director_name="Kim Director", gross=2_201_412, budget=12_215_500_000,
                    genres=["Drama"], imdb_score=d("6.4"), num_voted_users=190,
                    country="South Korea", content_rating="R", language="Korean"),
            # Only in Kaggle: every value comes from Kaggle.
            _kaggle(tconst="tt0000010", movie_title="Zeta", title_year=2014, duration=130,
                    director_name="Zed Director", gross=5_000_000_000, budget=4_000_000_000,
                    genres=["Sci-Fi", "Adventure"], imdb_score=d("8.5"), num_voted_users=250000,
                    country="USA", content_rating="PG-13", language="English"),
            # A TV series in the Kaggle file: IMDb says it is not a movie, so it is left out.
            _kaggle(tconst="tt0000004", movie_title="Delta Show", title_year=None, duration=45,
                    director_name=None, gross=None, budget=None, genres=["Drama"],
                    imdb_score=d("9.0"), num_voted_users=39000, country="USA", content_rating="TV-MA",
                    language="English"),
        ],
    }


def write_snapshot(
    lake_dir: Path, snapshot_id: str, rows: Mapping[str, list[dict[str, Any]]]
) -> dict[str, str]:
    """Write one processed snapshot (one Parquet file per dataset); return dataset → folder."""
    loaded_at = dt.datetime.strptime(snapshot_id, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=dt.UTC)
    folders: dict[str, str] = {}
    for dataset, dataset_rows in rows.items():
        schema = arrow_schema(dataset)
        full = [{**r, "_snapshot_id": snapshot_id, "_loaded_at": loaded_at} for r in dataset_rows]
        table = pa.Table.from_pylist(full, schema=schema)
        folder = lake_dir / "processed" / "snapshots" / snapshot_id / dataset
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, folder / "part-00000.parquet", compression="zstd")
        folders[dataset] = str(folder)
    return folders


def rows_copy() -> dict[str, list[dict[str, Any]]]:
    return copy.deepcopy(base_rows())


def run_dbt(
    args: list[str], env: Mapping[str, str], *, target_path: Path, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """One dbt command against the project, output captured (printed by the caller on failure)."""
    cmd = [
        DBT,
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(PROFILES_DIR),
        "--target-path",
        str(target_path),
        "--log-path",
        str(target_path / "logs"),
    ]
    proc = subprocess.run(cmd, env=dict(env), cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc
