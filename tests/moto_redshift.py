"""moto's Redshift Data API, completed for the staging tests.

moto 5.2 has no BatchExecuteStatement, keeps every statement STARTED forever and answers every
query with one canned result. ``patch_redshift_data`` adds the batch call, gives each new
statement the status the test chooses (FINISHED unless told otherwise), records every call in
order, and can answer queries with given records. The SQL is never executed: what is checked is
which statements reach the API, in which calls, in which order.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID


def patch_redshift_data(monkeypatch: pytest.MonkeyPatch, region: str) -> dict[str, Any]:
    """Returns the shared state: ``calls`` (kind, sql or sqls, target), ``status``, ``records``."""
    from moto.redshiftdata.models import RedshiftDataAPIServiceBackend, StatementResult, redshiftdata_backends
    from moto.redshiftdata.responses import RedshiftDataAPIServiceResponse

    state: dict[str, Any] = {"status": "FINISHED", "calls": [], "records": None}
    original_execute = RedshiftDataAPIServiceBackend.execute_statement
    original_result = RedshiftDataAPIServiceBackend.get_statement_result

    def _target(response: RedshiftDataAPIServiceResponse) -> dict[str, Any]:
        return {
            "cluster": response._get_param("ClusterIdentifier"),
            "workgroup": response._get_param("WorkgroupName"),
            "database": response._get_param("Database"),
            "db_user": response._get_param("DbUser"),
            "secret_arn": response._get_param("SecretArn"),
        }

    def execute_statement(self: RedshiftDataAPIServiceResponse) -> tuple[int, dict, str]:
        state["calls"].append(("execute", self._get_param("Sql"), _target(self)))
        statement = original_execute(
            self.redshiftdata_backend,
            cluster_identifier=self._get_param("ClusterIdentifier"),
            database=self._get_param("Database"),
            db_user=self._get_param("DbUser"),
            parameters=self._get_param("Parameters"),
            secret_arn=self._get_param("SecretArn"),
            sql=self._get_param("Sql"),
        )
        statement.status = state["status"]
        return (
            200,
            {},
            json.dumps(
                {"Id": statement.id, "CreatedAt": statement.created_at, "Database": statement.database}
            ),
        )

    def batch_execute_statement(self: RedshiftDataAPIServiceResponse) -> tuple[int, dict, str]:
        sqls = self._get_param("Sqls")
        state["calls"].append(("batch", sqls, _target(self)))
        statement = original_execute(
            self.redshiftdata_backend,
            cluster_identifier=self._get_param("ClusterIdentifier"),
            database=self._get_param("Database"),
            db_user=self._get_param("DbUser"),
            parameters=None,
            secret_arn=self._get_param("SecretArn"),
            sql=";\n".join(sqls),
        )
        statement.status = state["status"]
        return (
            200,
            {},
            json.dumps(
                {"Id": statement.id, "CreatedAt": statement.created_at, "Database": statement.database}
            ),
        )

    def get_statement_result(self: RedshiftDataAPIServiceBackend, statement_id: str) -> StatementResult:
        if state["records"] is None:
            return original_result(self, statement_id)
        original_result(self, statement_id)  # same validation and not-found errors as moto
        return StatementResult([], state["records"], len(state["records"]))

    monkeypatch.setattr(RedshiftDataAPIServiceResponse, "execute_statement", execute_statement)
    monkeypatch.setattr(
        RedshiftDataAPIServiceResponse, "batch_execute_statement", batch_execute_statement, raising=False
    )
    monkeypatch.setattr(RedshiftDataAPIServiceBackend, "get_statement_result", get_statement_result)
    state["backend"] = lambda: redshiftdata_backends[DEFAULT_ACCOUNT_ID][region]
    return state


def count_records(counts: dict[str, int]) -> list[list[dict[str, Any]]]:
    """Data API records for the staging count query: (dataset, rows) per table."""
    return [[{"stringValue": name}, {"longValue": rows}] for name, rows in counts.items()]
