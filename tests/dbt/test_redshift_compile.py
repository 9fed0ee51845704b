"""The project compiles for Redshift without a cluster, into SQL Redshift can run.

`dbt compile --no-introspect --no-populate-cache` never connects (the host does not resolve),
then every compiled model is parsed with sqlglot's Redshift dialect. sqlglot accepts unknown
functions as exp.Anonymous, so those are checked against an allowlist, and constructs that
only DuckDB/PostgreSQL understand (list functions, unnest ... with ordinality) are refused.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from imdb_elt.config import DBT_PROJECT_DIR
from tests.dbt.fixtures import run_dbt

# Redshift functions sqlglot does not model; anything else anonymous is suspect.
REDSHIFT_ANONYMOUS_ALLOWED = {"listagg", "get_array_length", "json_parse", "json_serialize", "nvl2"}

# DuckDB/PostgreSQL spellings that must never reach Redshift SQL.
FORBIDDEN = re.compile(
    r"\b(unnest|ordinality|list_\w+|array_to_string|string_agg|generate_subscripts|read_parquet"
    r"|chr\s*\(\s*160)\b",
    re.IGNORECASE,
)


def anonymous_functions(sql: str) -> set[str]:
    names: set[str] = set()
    for tree in sqlglot.parse(sql, read="redshift"):
        if tree is not None:
            names |= {node.name.lower() for node in tree.find_all(exp.Anonymous)}
    return names


def test_checker_rejects_duckdb_only_sql() -> None:
    """The check can fail: DuckDB's list functions are anonymous to the Redshift dialect."""
    assert "list_transform" in anonymous_functions("select list_transform(xs, x -> x + 1) from t")
    assert FORBIDDEN.search("select * from t cross join lateral unnest(t.g) with ordinality as u(g, p)")
    with pytest.raises(sqlglot.errors.ParseError):
        sqlglot.parse("select from where (", read="redshift")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_redshift_offline_compile(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.update(
        {
            "REDSHIFT_HOST": "redshift.invalid",  # unresolvable on purpose: nothing may connect
            "REDSHIFT_AUTH_METHOD": "database",
            "REDSHIFT_USER": "compile_only",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            "IMDB_ENV": "prod",  # what the pipeline deploys
        }
    )
    started = time.perf_counter()
    run_dbt(
        ["compile", "--no-introspect", "--no-populate-cache", "--target", "redshift",
         "--vars", json.dumps({"expected_rows": {"title_basics": 1, "movie_metadata": 1}})],
        env,
        target_path=tmp_path / "target",
        check=True,
    )
    print(f"redshift compile: {time.perf_counter() - started:.1f}s")

    compiled = sorted((tmp_path / "target" / "compiled" / "imdb_elt").rglob("*.sql"))
    models = [p for p in compiled if "/models/" in p.as_posix() and not p.parent.name.endswith(".yml")]
    assert len(models) == len(list((DBT_PROJECT_DIR / "models").rglob("*.sql"))), models
    problems: list[str] = []
    for path in compiled:
        sql = path.read_text()
        try:
            unknown = anonymous_functions(sql) - REDSHIFT_ANONYMOUS_ALLOWED
        except sqlglot.errors.ParseError as error:
            problems.append(f"{path.name}: does not parse as Redshift SQL: {error}")
            continue
        if unknown:
            problems.append(f"{path.name}: functions unknown to Redshift: {sorted(unknown)}")
        forbidden = FORBIDDEN.search(sql)
        if forbidden:
            problems.append(f"{path.name}: DuckDB/PostgreSQL-only construct {forbidden.group(0)!r}")
    print(f"checked {len(compiled)} compiled files ({len(models)} models)")
    assert problems == []

    # The array macros rendered PartiQL navigation over SUPER and the strings are wide enough.
    genres = next(p for p in models if p.name == "int_title_genres.sql").read_text()
    assert re.search(r",\s*t\.genres as g at g_pos", genres)
    assert "varchar(65535)" in genres
    # Arrays are joined to text by unnesting with the index and an ordered listagg.
    principals = next(p for p in models if p.name == "fct_title_principals.sql").read_text()
    ordered_listagg = r"listagg\(cast\(e as varchar\(65535\)\), '\|'\) within group \(order by i\)"
    assert re.search(ordered_listagg, principals)
    assert re.search(r"from principals as r, r\.characters as e at i", principals)
    # The weighted rating divides integers with `/` (DuckDB's `//` is not Redshift SQL).
    top_ten = next(p for p in models if p.name == "top_ten_movies_by_year.sql").read_text()
    assert "//" not in top_ten and "cast(2 * (" in top_ten
    # The incremental history compiled with its incremental branch.
    ratings = next(p for p in models if p.name == "fct_title_ratings.sql").read_text()
    assert "row_number() over (partition by tconst order by snapshot_id desc)" in ratings
