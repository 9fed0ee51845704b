"""Check 15: identifiers that come from configuration cannot inject SQL.

Schema and table names reach SQL text from environment variables. A hostile value must be
refused before any statement runs, not escaped and hoped for: the unit checks cover the
allowlist itself, the end-to-end checks that the pipeline and the dbt publish step refuse such a
value and leave the warehouse as it was.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from imdb_elt import config
from imdb_elt.dbt_runner import run_dbt
from imdb_elt.warehouse.identifiers import qualified_name, quote_identifier, validate_identifier
from tests.reliability.helpers import clone, excerpt, query, run_cli, table_checksums

HOSTILE = [
    "raw; drop table x",
    'raw"; drop table marts.movies; --',
    "raw--",
    "raw/* */",
    "raw'",
    "marts.movies",
    "1raw",
    "",
    " raw",
    "raw\x00",
    "rå",  # non-ASCII letters are refused too: one rule for every warehouse
    "a" * 64,
]


@pytest.mark.parametrize("value", HOSTILE, ids=[repr(v)[:24] for v in HOSTILE])
def test_hostile_identifier_is_refused(value):
    with pytest.raises(ValueError, match="invalid SQL identifier"):
        validate_identifier(value)
    with pytest.raises(ValueError):
        qualified_name(value, "title_basics")
    with pytest.raises(ValueError):
        qualified_name("raw", value)


def test_plain_identifiers_pass_and_are_quoted():
    assert quote_identifier("titleType") == '"titleType"'
    assert qualified_name("raw", "title_basics") == '"raw"."title_basics"'


def _schemas(db) -> list[str]:
    return sorted(r[0] for r in query(db, "select distinct schema_name from information_schema.schemata"))


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_hostile_raw_schema_fails_before_touching_the_warehouse(baseline, tmp_path):
    site = clone(baseline["site"], tmp_path)
    marts, schemas, current = table_checksums(site.db), _schemas(site.db), site.current()
    raw_before = table_checksums(site.db, "raw")
    run = run_cli(site, "--rebuild", IMDB_RAW_SCHEMA="raw; drop table x")
    print(f"\nIMDB_RAW_SCHEMA='raw; drop table x': exit {run.code} in {run.seconds:.1f} s")
    assert run.code != 0
    assert "invalid SQL identifier" in run.out, excerpt(run.out)
    assert "dbt |" not in run.out, "dbt ran with a hostile schema name"
    assert table_checksums(site.db) == marts and table_checksums(site.db, "raw") == raw_before
    assert _schemas(site.db) == schemas and site.current() == current


HOSTILE_MARTS_SCHEMA = 'marts"; drop table marts_audit.dim_people; create schema "pwned'


@pytest.fixture(scope="module")
def hostile_publish(baseline, tmp_path_factory) -> dict:
    """`dbt run-operation publish_marts` with a hostile IMDB_MARTS_SCHEMA, on a clone."""
    root = tmp_path_factory.mktemp("hostile-publish")
    site = clone(baseline["site"], root / "site")
    with pytest.MonkeyPatch.context() as mp:
        for name, value in site.env(IMDB_MARTS_SCHEMA=HOSTILE_MARTS_SCHEMA).items():
            mp.setenv(name, value)
        # run_dbt echoes dbt's log to stdout; keep it to see how the value was refused.
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            outcome = run_dbt(config.load(), ["run-operation", "publish_marts"],
                              target_path=str(root / "target"), log_path=str(root / "logs"))
    log = buffer.getvalue() + "\n".join(outcome.failures) + Path(outcome.log_file).read_text()
    print(f"\nhostile IMDB_MARTS_SCHEMA: dbt ok={outcome.ok}\n{log[-1200:]}")
    return {"site": site, "outcome": outcome, "log": log}


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_hostile_marts_schema_does_no_damage(baseline, hostile_publish):
    site = hostile_publish["site"]
    audit = table_checksums(site.db, "marts_audit")
    assert "dim_people" in audit, "the hostile schema name dropped a table (SQL injection)"
    assert audit == baseline["audit"] and table_checksums(site.db) == baseline["marts"]
    assert not any(s.startswith("pwned") for s in _schemas(site.db)), "the hostile name ran a statement"
    assert not hostile_publish["outcome"].ok, "a hostile IMDB_MARTS_SCHEMA was accepted"


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_hostile_marts_schema_is_refused_before_any_sql(hostile_publish):
    log = hostile_publish["log"]
    # A deliberate refusal names the setting; a syntax error means the value reached SQL text.
    assert "syntax error" not in log.lower(), "refused by a parser error, not by validation"
    assert "IMDB_MARTS_SCHEMA" in log
