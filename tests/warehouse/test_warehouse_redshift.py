"""Redshift: rendered COPY/DDL text, sqlglot parsing, no access keys, Data API execution."""

from __future__ import annotations

import logging
import re
from typing import Any

import boto3
import pytest
import sqlglot
from botocore.stub import ANY, Stubber
from moto.redshiftdata.models import redshiftdata_backends
from sqlglot import exp

from imdb_elt import config
from imdb_elt.catalog import INPUTS
from imdb_elt.warehouse.redshift_data import (
    execute_dbapi,
    query_data_api,
    render_count_statement,
    wait_for_statement,
)
from imdb_elt.warehouse.redshift_loader import (
    RedshiftOptions,
    redshift_options,
    render_copy_statements,
    render_stage_statements,
    stage_redshift,
)
from tests import fake_credentials as fake
from tests.warehouse.redshift_expected import COLUMNS

ROLE = "arn:aws:iam::123456789012:role/imdb-redshift-copy"
SNAP = "s3://imdb-lake/processed/snapshots/20260301T000000000000Z"
DATASETS = {"title_basics": f"{SNAP}/title_basics", "title_ratings": f"{SNAP}/title_ratings/"}
KEY_PATTERN = re.compile(r"A[KS]IA[0-9A-Z]{16}|aws_secret_access_key|aws_access_key_id", re.IGNORECASE)
REGION = "eu-west-1"


def _create(dataset: str) -> str:
    cols = ", ".join(f'"{n}" {t}' + (" NOT NULL" if nn else "") for n, t, _, nn in COLUMNS[dataset])
    return f'CREATE TABLE "raw"."{dataset}__staging" ({cols})'


def _copy(dataset: str) -> str:
    return (f'COPY "raw"."{dataset}__staging" FROM \'{SNAP}/{dataset}/\' '
            f"IAM_ROLE '{ROLE}' FORMAT AS PARQUET SERIALIZETOJSON")


#: One staging run of DATASETS, written out from Redshift's documented COPY syntax and the
#: catalogue's documented types: load every table beside the live one, then swap them all.
EXPECTED_STAGE = [
    'CREATE SCHEMA IF NOT EXISTS "raw"',
    *[s for d in COLUMNS for s in (f'DROP TABLE IF EXISTS "raw"."{d}__staging"', _create(d),
                                    *([_copy(d)] if d in DATASETS else []))],
    *[s for d in COLUMNS for s in (f'DROP TABLE IF EXISTS "raw"."{d}" CASCADE',
                                    f'ALTER TABLE "raw"."{d}__staging" RENAME TO "{d}"')],
]
EXPECTED_COUNT = " UNION ALL ".join(
    f"SELECT '{d}' AS dataset, COUNT(*) AS row_count FROM \"raw\".\"{d}\"" for d in COLUMNS
)


def test_stage_statements_exact() -> None:
    assert render_stage_statements("raw", DATASETS, ROLE) == EXPECTED_STAGE
    assert render_count_statement("raw") == EXPECTED_COUNT
    assert len(EXPECTED_STAGE) == 1 + 8 * 2 + 2 + 8 * 2


@pytest.mark.parametrize("dataset", list(COLUMNS))
def test_staging_tables_have_the_catalogue_types(dataset: str) -> None:
    """Parsed, not string-matched: each column's Redshift type equals the documented one."""
    (create,) = [s for s in render_stage_statements("raw", DATASETS, ROLE)
                 if s.startswith(f'CREATE TABLE "raw"."{dataset}__staging" ')]
    tree = sqlglot.parse_one(create, dialect="redshift")
    got = [(c.name, c.args["kind"], any(isinstance(k.kind, exp.NotNullColumnConstraint)
                                        for k in c.args.get("constraints") or []))
           for c in tree.this.expressions]
    expected = [(n, exp.DataType.build(t, dialect="redshift"), nn) for n, t, _, nn in COLUMNS[dataset]]
    assert got == expected


def test_copy_statement_text_exact() -> None:
    assert render_copy_statements("raw", DATASETS, ROLE) == [
        f'COPY "raw"."title_basics__staging" FROM \'{SNAP}/title_basics/\' '
        f"IAM_ROLE '{ROLE}' FORMAT AS PARQUET SERIALIZETOJSON",
        f'COPY "raw"."title_ratings__staging" FROM \'{SNAP}/title_ratings/\' '
        f"IAM_ROLE '{ROLE}' FORMAT AS PARQUET SERIALIZETOJSON",
    ]


def test_copy_parses_as_redshift_copy_with_iam_role() -> None:
    for sql, dataset in zip(render_copy_statements("raw", DATASETS, ROLE), DATASETS, strict=True):
        tree = sqlglot.parse_one(sql, dialect="redshift")
        assert isinstance(tree, exp.Copy)
        assert tree.this.name == f"{dataset}__staging" and tree.this.db == "raw"
        assert [f.name for f in tree.args["files"]] == [DATASETS[dataset].rstrip("/") + "/"]
        credentials = tree.args["credentials"]
        assert credentials.args["iam_role"].name == ROLE
        assert not credentials.args.get("credentials")  # no CREDENTIALS 'aws_access_key_id=...'
        params = {
            p.this.name.upper(): (p.expression.name.upper() if p.expression else None)
            for p in tree.args["params"]
        }
        assert params == {"FORMAT": "PARQUET", "SERIALIZETOJSON": None}


def test_stage_statements_form_one_swap_transaction() -> None:
    statements = render_stage_statements("raw", DATASETS, ROLE)
    trees = [sqlglot.parse_one(s, dialect="redshift") for s in statements]
    assert not any(isinstance(t, exp.Command) for t in trees)  # every statement fully understood
    assert not any(
        s.upper().startswith(("BEGIN", "COMMIT")) for s in statements
    )  # caller owns the transaction
    creates = [t for t in trees if isinstance(t, exp.Create) and t.kind == "TABLE"]
    assert [t.this.this.name for t in creates] == [f"{i.dataset}__staging" for i in INPUTS]
    copies = [s for s in statements if s.startswith("COPY")]
    assert len(copies) == 2  # empty datasets get a table, no COPY
    first_swap = next(i for i, s in enumerate(statements) if s.endswith("CASCADE"))
    assert all(statements.index(c) < first_swap for c in copies)  # swap only after every load
    assert statements[-1] == 'ALTER TABLE "raw"."movie_metadata__staging" RENAME TO "movie_metadata"'
    basics = next(s for s in statements if s.startswith('CREATE TABLE "raw"."title_basics__staging"'))
    assert '"tconst" VARCHAR(65535) NOT NULL' in basics and '"genres" SUPER' in basics
    ratings = next(s for s in statements if s.startswith('CREATE TABLE "raw"."title_ratings__staging"'))
    assert '"averageRating" DECIMAL(3,1)' in ratings and '"_loaded_at" TIMESTAMP' in ratings


@pytest.mark.parametrize(
    ("schema", "role", "uri"),
    [
        ("raw; drop table x", ROLE, DATASETS["title_basics"]),
        ('"a"', ROLE, DATASETS["title_basics"]),
        ("x--", ROLE, DATASETS["title_basics"]),
        ("raw", fake.KEY_ID, DATASETS["title_basics"]),
        ("raw", fake.copy_credentials(), DATASETS["title_basics"]),
        ("raw", ROLE + "' CREDENTIALS 'x", DATASETS["title_basics"]),
        ("raw", ROLE, "s3://imdb-lake/x' IAM_ROLE 'other"),
        ("raw", ROLE, "/local/folder"),
    ],
)
def test_hostile_configuration_refused(schema: str, role: str, uri: str) -> None:
    with pytest.raises(ValueError) as info:
        render_stage_statements(schema, {"title_basics": uri}, role)
    assert not KEY_PATTERN.search(str(info.value))  # a refused secret is never echoed


def test_configured_access_keys_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDSHIFT_IAM_ROLE_ARN", ROLE)
    monkeypatch.setenv("REDSHIFT_COPY_CREDENTIALS", fake.copy_credentials())
    with pytest.raises(ValueError, match="refused") as info:
        redshift_options(config.load())
    assert not KEY_PATTERN.search(str(info.value).replace("REDSHIFT_COPY_CREDENTIALS", ""))
    monkeypatch.delenv("REDSHIFT_COPY_CREDENTIALS")
    monkeypatch.setenv("REDSHIFT_IAM_ROLE_ARN", fake.KEY_ID)
    with pytest.raises(ValueError, match="refused"):
        redshift_options(config.load())
    monkeypatch.setenv("REDSHIFT_IAM_ROLE_ARN", ROLE)
    monkeypatch.setenv("REDSHIFT_CLUSTER_ID", "imdb")
    options = redshift_options(config.load())
    assert (
        options.iam_role_arn == ROLE and options.cluster_identifier == "imdb" and options.method == "data_api"
    )


@pytest.fixture
def aws(mocked_aws: None) -> Any:
    return boto3.client("redshift-data", region_name=REGION)


def _finish_all(status: str = "FINISHED", error: str | None = None) -> Any:
    """A `sleep` stand-in: moto keeps statements STARTED, so the test moves them on."""

    def sleep(_: float) -> None:
        for statement in redshiftdata_backends["123456789012"][REGION].statements.values():
            statement.status = status
            if error:
                statement.error = error

    return sleep


OPTIONS = RedshiftOptions(
    iam_role_arn=ROLE, database="dev", cluster_identifier="imdb", db_user="loader", poll_seconds=0
)


def test_data_api_query_waits_then_reads_results(aws: Any) -> None:
    rows = query_data_api("SELECT 1", OPTIONS, client=aws, sleep=_finish_all())
    # moto answers every query with the same canned result: the plumbing is what is tested.
    assert rows == [[10, "Alpha st", "Vancouver"], [50, "Beta st", "Toronto"], [100, "Gamma av", "Seattle"]]
    submitted = list(redshiftdata_backends["123456789012"][REGION].statements.values())
    assert [(s.query_string, s.cluster_identifier, s.database, s.db_user) for s in submitted] == [
        ("SELECT 1", "imdb", "dev", "loader")
    ]


def test_data_api_failure_and_timeout_raise(aws: Any) -> None:
    sid = aws.execute_statement(Sql="SELECT 1", ClusterIdentifier="imdb", Database="dev")["Id"]
    with pytest.raises(RuntimeError, match="FAILED"):
        wait_for_statement(aws, sid, 0, 60, sleep=_finish_all("FAILED"))
    sid = aws.execute_statement(Sql="SELECT 2", ClusterIdentifier="imdb", Database="dev")["Id"]
    with pytest.raises(TimeoutError, match="STARTED"):
        wait_for_statement(aws, sid, 0, 0, sleep=lambda _: None)


def test_stage_redshift_through_data_api(caplog: pytest.LogCaptureFixture) -> None:
    # moto 5.2 has no batch_execute_statement: a botocore Stubber checks the exact calls instead.
    client = boto3.client(
        "redshift-data", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y"
    )
    statements = EXPECTED_STAGE
    target = {"ClusterIdentifier": "imdb", "Database": "dev", "DbUser": "loader"}
    with Stubber(client) as stub:
        stub.add_response(
            "batch_execute_statement",
            {"Id": "batch-1"},
            {"Sqls": statements, "StatementName": ANY, **target},
        )
        stub.add_response("describe_statement", {"Id": "batch-1", "Status": "STARTED"}, {"Id": "batch-1"})
        stub.add_response("describe_statement", {"Id": "batch-1", "Status": "FINISHED"}, {"Id": "batch-1"})
        stub.add_response(
            "execute_statement", {"Id": "count-1"}, {"Sql": EXPECTED_COUNT, **target}
        )
        stub.add_response("describe_statement", {"Id": "count-1", "Status": "FINISHED"}, {"Id": "count-1"})
        records = [[{"stringValue": i.dataset}, {"longValue": n}] for n, i in enumerate(INPUTS)]
        stub.add_response(
            "get_statement_result", {"Records": records[:4], "NextToken": "p2"}, {"Id": "count-1"}
        )
        stub.add_response(
            "get_statement_result", {"Records": records[4:]}, {"Id": "count-1", "NextToken": "p2"}
        )
        caplog.set_level(logging.DEBUG)
        counts = stage_redshift("raw", DATASETS, OPTIONS, client=client, sleep=lambda _: None)
        stub.assert_no_pending_responses()
    assert counts == {i.dataset: n for n, i in enumerate(INPUTS)}
    assert not KEY_PATTERN.search(caplog.text)
    assert not any(KEY_PATTERN.search(s) for s in statements)


class FakeConnection:
    """Records what a DB-API connection is asked to do."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.executed: list[str] = []
        self.commits = self.rollbacks = 0
        self.fail_on = fail_on

    def cursor(self) -> FakeConnection:
        return self

    def execute(self, sql: str) -> None:
        if self.fail_on and sql.startswith(self.fail_on):
            raise RuntimeError("S3 access denied")
        self.executed.append(sql)

    def fetchall(self) -> list[tuple]:
        return [(i.dataset, 1) for i in INPUTS]

    def close(self) -> None:
        pass

    def commit(self) -> None:
        self.commits += 1

    def rollback(self) -> None:
        self.rollbacks += 1


def test_dbapi_commits_once_and_rolls_back_on_failure() -> None:
    options = RedshiftOptions(iam_role_arn=ROLE, method="connector")
    conn = FakeConnection()
    counts = stage_redshift("raw", DATASETS, options, connection=conn)
    assert counts == {i.dataset: 1 for i in INPUTS}
    assert conn.executed == [*EXPECTED_STAGE, EXPECTED_COUNT]
    assert (conn.commits, conn.rollbacks) == (1, 0)
    failing = FakeConnection(fail_on="COPY")
    with pytest.raises(RuntimeError, match="access denied"):
        execute_dbapi(failing, EXPECTED_STAGE)
    assert (failing.commits, failing.rollbacks) == (0, 1)
    assert not any("RENAME" in s for s in failing.executed)


def test_stage_snapshot_redshift_refuses_keys_before_any_call(monkeypatch: pytest.MonkeyPatch) -> None:
    from imdb_elt import config
    from imdb_elt.warehouse import stage_snapshot

    monkeypatch.setenv("DBT_TARGET", "redshift")
    monkeypatch.setenv("REDSHIFT_IAM_ROLE_ARN", ROLE)
    monkeypatch.setenv("REDSHIFT_COPY_CREDENTIALS", fake.copy_credentials())
    with pytest.raises(ValueError, match="refused"):
        stage_snapshot(config.load(), DATASETS)
