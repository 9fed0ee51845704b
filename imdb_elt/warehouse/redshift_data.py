"""Running SQL on Redshift, shared by both staging paths (COPY and Spectrum).

Two ways to reach the database:
- the Redshift Data API (boto3 ``redshift-data``): no network path and no password to the
  cluster or workgroup. ``batch_execute_statement`` runs a list as ONE transaction (COPY's swap);
  ``execute_statement`` runs one statement in autocommit (Spectrum's external DDL, which refuses
  a transaction block). Statements are asynchronous: each is polled with ``describe_statement``
  until it finishes, results are read with ``get_statement_result``;
- any DB-API connection (``redshift_connector``, installed with dbt-redshift).

``options`` is a ``redshift_loader.RedshiftOptions`` (database, target, authentication, region,
polling): this module reads its fields and imports neither loader.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from imdb_elt.catalog import INPUTS
from imdb_elt.warehouse.identifiers import qualified_name, sql_string_literal


class DBAPIConnection(Protocol):
    def cursor(self) -> Any: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


# --------------------------------------------------------------------------- the Data API


def data_api_client(options: Any) -> Any:
    """boto3 client from the default credential chain (env, profile, instance/task role)."""
    import boto3  # deferred: boto3 import costs time in the Airflow DAG processor

    return boto3.client("redshift-data", **({"region_name": options.region} if options.region else {}))


def target_params(options: Any) -> dict[str, str]:
    """Where a Data API call runs (workgroup or cluster) and as whom (secret or database user)."""
    params = {"Database": options.database}
    if options.workgroup_name:
        params["WorkgroupName"] = options.workgroup_name
    elif options.cluster_identifier:
        params["ClusterIdentifier"] = options.cluster_identifier
    else:
        raise ValueError("Redshift Data API needs REDSHIFT_CLUSTER_ID or REDSHIFT_WORKGROUP")
    if options.secret_arn:
        params["SecretArn"] = options.secret_arn
    elif options.db_user:
        params["DbUser"] = options.db_user
    return params


def wait_for_statement(
    client: Any,
    statement_id: str,
    poll_seconds: float,
    timeout_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll ``describe_statement`` until FINISHED; raise on FAILED/ABORTED or timeout."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        desc = client.describe_statement(Id=statement_id)
        status = desc["Status"]
        if status == "FINISHED":
            return desc
        if status in ("FAILED", "ABORTED"):
            raise RuntimeError(
                f"Redshift statement {statement_id} {status}: {desc.get('Error', 'no error text')}"
            )
        if time.monotonic() >= deadline:
            raise TimeoutError(f"Redshift statement {statement_id} still {status} after {timeout_seconds}s")
        sleep(poll_seconds)


def _field_value(field: Mapping[str, Any]) -> Any:
    if field.get("isNull"):
        return None
    for key in ("longValue", "stringValue", "doubleValue", "booleanValue", "blobValue"):
        if key in field:
            return field[key]
    return None


def execute_data_api(
    statements: Sequence[str],
    options: Any,
    client: Any = None,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Run ``statements`` as one transaction (``batch_execute_statement``); return its id."""
    client = client or data_api_client(options)
    response = client.batch_execute_statement(
        Sqls=list(statements), StatementName="imdb_elt_stage", **target_params(options)
    )
    wait_for_statement(client, response["Id"], options.poll_seconds, options.timeout_seconds, sleep)
    return response["Id"]


def run_each_data_api(
    statements: Sequence[str],
    options: Any,
    client: Any,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """One ``execute_statement`` per statement (autocommit), each waited for; return their ids."""
    ids = []
    for sql in statements:
        statement_id = client.execute_statement(Sql=sql, StatementName="imdb_elt_spectrum",
                                                **target_params(options))["Id"]
        wait_for_statement(client, statement_id, options.poll_seconds, options.timeout_seconds, sleep)
        ids.append(statement_id)
    return ids


def query_data_api(
    sql: str,
    options: Any,
    client: Any = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[list[Any]]:
    """Run one query and return its rows as Python values (all result pages)."""
    client = client or data_api_client(options)
    statement_id = client.execute_statement(Sql=sql, **target_params(options))["Id"]
    wait_for_statement(client, statement_id, options.poll_seconds, options.timeout_seconds, sleep)
    rows: list[list[Any]] = []
    kwargs: dict[str, str] = {"Id": statement_id}
    while True:
        page = client.get_statement_result(**kwargs)
        rows.extend([_field_value(f) for f in record] for record in page.get("Records", []))
        if not page.get("NextToken"):
            return rows
        kwargs["NextToken"] = page["NextToken"]


# --------------------------------------------------------------------------- DB-API connections


def execute_dbapi(conn: DBAPIConnection, statements: Sequence[str]) -> None:
    """Run ``statements`` on a DB-API connection (autocommit off) and commit once."""
    cur = conn.cursor()
    try:
        for sql in statements:
            cur.execute(sql)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        cur.close()


def run_each_dbapi(conn: Any, statements: Sequence[str]) -> None:
    """Autocommit on for the external DDL (it refuses a transaction block), restored afterwards."""
    previous = conn.autocommit
    conn.autocommit = True
    cur = conn.cursor()
    try:
        for sql in statements:
            cur.execute(sql)
    finally:
        cur.close()
        conn.autocommit = previous


# --------------------------------------------------------------------------- staged row counts


def render_count_statement(schema: str) -> str:
    """One query returning (dataset, rows) for every staged table."""
    return " UNION ALL ".join(
        f"SELECT {sql_string_literal(spec.dataset)} AS dataset, COUNT(*) AS row_count "
        f"FROM {qualified_name(schema, spec.dataset)}"
        for spec in INPUTS
    )


def staged_counts(
    schema: str,
    options: Any,
    client: Any = None,
    connection: Any = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, int]:
    """Rows per staged table, by the connection (method "connector") or the Data API."""
    sql = render_count_statement(schema)
    if options.method == "connector":
        cur = connection.cursor()
        try:
            cur.execute(sql)
            rows = [list(r) for r in cur.fetchall()]
        finally:
            cur.close()
    else:
        rows = query_data_api(sql, options, client, sleep)
    return {str(r[0]): int(r[1]) for r in rows}
