"""A pytest plugin that records every AWS call made through botocore, and who made it.

``python -m pytest -p tests.infra.aws_calls ...`` with IMDB_RECORD_AWS_CALLS=<file> appends one
JSON line per call: the service (its IAM prefix), the operation, the parameters that name a
resource, the region, the test, and the role that makes the call in production, read from the
Python stack of the caller:

- ``code-deploy``: inside ``imdb_elt.spark_bundle.upload`` (``make deploy-code``);
- ``airflow``: any other call from the product (``imdb_elt``, ``spark_jobs``) or from the Amazon
  provider's operators, hooks and sensors, which run in the DAG's tasks;
- ``test``: the test's own set-up and checks (bucket creation, reading back what was written).

boto3's managed transfers (``upload_file``) make their calls from worker threads: those are
attributed to whoever called ``upload_file``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any

RECORD_ENV = "IMDB_RECORD_AWS_CALLS"
#: Parameters that name what a call acts on (kept); everything else (bodies, SQL) is dropped.
RESOURCE_PARAMS = (
    "Bucket",
    "Key",
    "Prefix",
    "Delimiter",
    "Delete",
    "UploadId",
    "applicationId",
    "jobRunId",
    "executionRoleArn",
    "ClusterIdentifier",
    "WorkgroupName",
    "DbUser",
    "SecretArn",
    "Database",
    "Id",
    "DatabaseName",
    "Name",
    "JobFlowId",
    "ClusterId",
    "StepId",
    "StepIds",
    "StackName",
    "TopicArn",
    "TargetArn",
    "QueueUrl",
)
_lock = threading.Lock()
_transfer_role: str | None = None


def caller_role(frame: Any) -> str:
    product = False
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module == "imdb_elt.spark_bundle" and frame.f_code.co_name == "upload":
            return "code-deploy"
        if module.startswith(("imdb_elt.", "spark_jobs.", "airflow.providers.amazon.")):
            product = True
        if module.startswith("s3transfer.") and _transfer_role is not None:
            return _transfer_role
        frame = frame.f_back
    return "airflow" if product else "test"


def _params(params: dict[str, Any]) -> dict[str, Any]:
    kept = {k: params[k] for k in RESOURCE_PARAMS if k in params}
    if "Delete" in kept:
        kept["Delete"] = [o["Key"] for o in kept["Delete"].get("Objects", [])]
    return kept


def install(path: str) -> None:
    import boto3.s3.inject
    from botocore.client import BaseClient

    make_api_call = BaseClient._make_api_call

    def recording(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        model = self.meta.service_model
        entry = {
            "role": caller_role(sys._getframe(1)),
            "service": model.signing_name or model.endpoint_prefix,
            "operation": operation_name,
            "params": _params(api_params),
            "region": self.meta.region_name,
            "test": os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0],
        }
        with _lock, open(path, "a") as fh:
            fh.write(json.dumps(entry, default=str) + "\n")
        return make_api_call(self, operation_name, api_params)

    upload_file = boto3.s3.inject.upload_file

    def attributed_upload_file(self: Any, *args: Any, **kwargs: Any) -> Any:
        global _transfer_role
        _transfer_role = caller_role(sys._getframe(1))
        try:
            return upload_file(self, *args, **kwargs)
        finally:
            _transfer_role = None

    BaseClient._make_api_call = recording  # type: ignore[method-assign]
    boto3.s3.inject.upload_file = attributed_upload_file


def pytest_configure(config: Any) -> None:
    path = os.environ.get(RECORD_ENV)
    if path:
        install(path)
