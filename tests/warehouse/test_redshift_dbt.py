"""dbt on Redshift without a cluster: the Spectrum path compiles, and publish_marts renders valid SQL.

- ``dbt compile --no-introspect --no-populate-cache`` with REDSHIFT_STAGING=spectrum: the sources
  read the external schema named by IMDB_RAW_SCHEMA (the one sources YAML), staging becomes
  tables that parse the Spectrum arrays into SUPER, and every compiled file parses as Redshift SQL.
- ``dbt run-operation publish_marts --args '{dry_run: true}'`` against the redshift target: the
  macro asks the warehouse whether each audit mart exists (``adapter.get_relation``), which needs
  a cluster, so a wrapper answers "it exists" in the dbt process (and skips the BEGIN/COMMIT dbt
  sends first); everything else is the macro's own rendering, parsed statement by statement.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from imdb_elt.config import DBT_PROJECT_DIR, PROFILES_DIR, REPO_ROOT
from tests.dbt.fixtures import run_dbt
from tests.dbt.test_redshift_compile import FORBIDDEN, REDSHIFT_ANONYMOUS_ALLOWED, anonymous_functions

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

OFFLINE = {
    "REDSHIFT_HOST": "redshift.invalid",  # unresolvable on purpose: nothing may connect
    "REDSHIFT_AUTH_METHOD": "database",
    "REDSHIFT_USER": "compile_only",
    "REDSHIFT_DATABASE": "imdb",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "IMDB_ENV": "prod",  # what the pipeline deploys (publish_marts runs only there)
}
# The array columns of each staging model: Spectrum hands them over as JSON text.
ARRAYS = {
    "stg_imdb__titles": ["genres"],
    "stg_imdb__crew": ["directors", "writers"],
    "stg_imdb__principals": ["characters"],
    "stg_imdb__names": ['"primaryProfession"', '"knownForTitles"'],
    "stg_imdb__akas": ["types", "attributes"],
    "stg_kaggle__movies": ["genres", "plot_keywords"],
}


def test_redshift_spectrum_compiles_to_sql_redshift_parses(tmp_path: Path) -> None:
    env = {**os.environ, **OFFLINE, "REDSHIFT_STAGING": "spectrum", "IMDB_RAW_SCHEMA": "raw_ext"}
    target = tmp_path / "target"
    started = time.perf_counter()
    run_dbt(
        ["compile", "--no-introspect", "--no-populate-cache", "--target", "redshift",
         "--vars", json.dumps({"expected_rows": {"title_basics": 1}})],
        env, target_path=target, check=True,
    )  # fmt: skip
    compiled = sorted((target / "compiled" / "imdb_elt").rglob("*.sql"))
    # The hook the staging tables run first, rendered for this target (after the listing above:
    # an inline compile writes into the same folder).
    hook = run_dbt(
        ["compile", "--no-introspect", "--no-populate-cache", "--target", "redshift", "--quiet",
         "--inline", "{{ imdb_elt.spectrum_session() }}"],
        env, target_path=target, check=True,
    ).stdout.strip()  # fmt: skip
    print(f"\nredshift spectrum compile: {time.perf_counter() - started:.1f}s")

    problems = []
    for path in compiled:
        sql = path.read_text()
        try:
            unknown = anonymous_functions(sql) - REDSHIFT_ANONYMOUS_ALLOWED
        except sqlglot.errors.ParseError as error:
            problems.append(f"{path.name}: does not parse as Redshift SQL: {error}")
            continue
        if unknown:
            problems.append(f"{path.name}: functions unknown to Redshift: {sorted(unknown)}")
        if FORBIDDEN.search(sql):
            problems.append(f"{path.name}: DuckDB/PostgreSQL-only construct")
    assert problems == []

    models = {p.stem: p.read_text() for p in compiled if "/models/" in p.as_posix()}
    for model, columns in ARRAYS.items():
        sql = models[model]
        assert re.search(r'from "imdb"\."raw_ext"\."\w+"', sql), model  # the external schema
        for column in columns:
            assert f"json_parse({column})" in sql, (model, column)
    # Downstream is unchanged: PartiQL over the SUPER arrays staging now holds.
    assert re.search(r",\s*t\.genres as g at g_pos", models["int_title_genres"])

    nodes = json.loads((target / "manifest.json").read_text())["nodes"].values()
    by_layer: dict[str, set[str]] = {}
    for node in nodes:
        if node["resource_type"] == "model":
            by_layer.setdefault(node["fqn"][1], set()).add(node["config"]["materialized"])
            if node["fqn"][1] == "staging":
                assert [h["sql"] for h in node["config"]["pre-hook"]] == ["{{ imdb_elt.spectrum_session() }}"]
    assert by_layer["staging"] == {"table"} and by_layer["intermediate"] <= {"view", "table"}
    sources = {n["name"]: n["schema"] for n in
               json.loads((target / "manifest.json").read_text())["sources"].values()
               if n["source_name"] != "ops"}  # the run history's tables are local, in IMDB_OPS_SCHEMA
    assert set(sources.values()) == {"raw_ext"} and len(sources) == 8
    # A plain session SET, which Redshift parses.
    assert hook == "set json_serialization_enable to true"
    assert isinstance(sqlglot.parse_one(hook, dialect="redshift"), exp.Set)


PUBLISH = r"""
import sys
from unittest import mock

from dbt.adapters.redshift import RedshiftAdapter
from dbt.cli.main import dbtRunner


def get_relation(self, database, schema, identifier):
    return self.Relation.create(database=database, schema=schema, identifier=identifier, type="table")


# The only two calls that would reach a cluster: "does the audit mart exist?" and the BEGIN/COMMIT
# run-operation sends before calling the macro. Everything the macro renders is its own.
with (
    mock.patch.object(RedshiftAdapter, "get_relation", get_relation),
    mock.patch.object(RedshiftAdapter, "clear_transaction", lambda self: None),
):
    sys.exit(0 if dbtRunner().invoke(sys.argv[1:]).success else 1)
"""


def test_redshift_publish_marts_and_grants_render_to_sql_redshift_parses(tmp_path: Path) -> None:
    env = {**os.environ, **OFFLINE, "IMDB_ANALYST_ROLE": "analysts", "IMDB_AUDIT_SCHEMA": "marts_audit",
           "IMDB_MARTS_SCHEMA": "marts"}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PUBLISH, "run-operation", "publish_marts", "--args", "{dry_run: true}",
         "--target", "redshift", "--no-populate-cache", "--log-format", "json",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(PROFILES_DIR),
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    print(f"\npublish_marts dry run: {time.perf_counter() - started:.1f}s")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    messages = [json.loads(line)["info"]["msg"] for line in done.stdout.splitlines() if line.startswith("{")]
    (sql,) = [m for m in messages if "create schema if not exists" in m]

    statements = [s.strip() for s in sql.split(";") if s.strip()]
    trees = [sqlglot.parse_one(s, dialect="redshift") for s in statements]
    assert not [s for s, t in zip(statements, trees, strict=True) if isinstance(t, exp.Command)]
    assert isinstance(trees[0], exp.Transaction) and isinstance(trees[-1], exp.Commit)  # one transaction
    assert statements[1] == 'create schema if not exists "marts"'

    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    marts = sorted(n["alias"] for n in manifest["nodes"].values() if n["resource_type"] == "model"
                   and n["fqn"][1] == "marts" and n["config"]["materialized"] in ("table", "incremental"))
    assert len(marts) >= 10
    body = statements[2:-1]
    copies, grants = body[: 3 * len(marts)], body[3 * len(marts):]
    # Every mart: drop (cascade: analysts' views must not block the publish), create like the
    # audit table (Redshift's LIKE: no PostgreSQL "including all", which sqlglot would accept), insert.
    for i, mart in enumerate(marts):
        live, audit = f'"imdb"."marts"."{mart}"', f'"imdb"."marts_audit"."{mart}"'
        assert copies[3 * i: 3 * i + 3] == [
            f"drop table if exists {live} cascade",
            f"create table {live} (like {audit})",
            f"insert into {live} select * from {audit}",
        ]
    assert grants == ['grant usage on schema "marts" to role "analysts"',
                      *[f'grant select on "marts"."{m}" to role "analysts"' for m in marts]]
    for statement, tree in zip(statements[2:-1], trees[2:-1], strict=True):
        kind = statement.split()[0]
        assert isinstance(tree, {"drop": exp.Drop, "create": exp.Create, "insert": exp.Insert,
                                 "grant": exp.Grant}[kind]), statement
