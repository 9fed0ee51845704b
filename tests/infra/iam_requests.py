"""What AWS authorises for each recorded call: the IAM action(s), the resource ARN and the
request context, per AWS's Service Authorization Reference, addressed to the deployed stack.

A call recorded against a test's own resource is translated to the stack's equivalent: the EMR
Serverless application and the job role become the stack's (the DAG reads them from the stack's
outputs), and a Data API call becomes a call on the stack's Serverless workgroup with the
caller's own identity (the outputs set REDSHIFT_WORKGROUP and no REDSHIFT_DB_USER or secret).
Calls a request also implies are added where AWS documents them: ``StartJobRun`` passes the job
role (``iam:PassRole`` to emr-serverless), and the Data API on a workgroup gets the caller's
temporary database credentials (``redshift-serverless:GetCredentials``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tests.infra.iam_eval import Request

#: The caller's aws:userid in the evaluation (a role session: "<role id>:<session name>").
USERID = "AROAIMDBELTAIRFLOW:airflow-task"
#: A table of the Glue database, for the table-level ARN GetTables needs.
SAMPLE_TABLE = "title_basics"


class OutsideTheStack(Exception):
    """The call belongs to a path the stack does not provision (EMR on EC2)."""


@dataclass(frozen=True)
class StackResources:
    region: str
    account: str
    buckets: frozenset[str]
    application_id: str
    job_role_arn: str
    workgroup_arn: str
    glue_database: str
    alert_topic_arn: str

    @property
    def application_arn(self) -> str:
        return f"arn:aws:emr-serverless:{self.region}:{self.account}:/applications/{self.application_id}"

    def glue(self, kind: str) -> str:
        base = f"arn:aws:glue:{self.region}:{self.account}"
        return {
            "catalog": f"{base}:catalog",
            "database": f"{base}:database/{self.glue_database}",
            "table": f"{base}:table/{self.glue_database}/{SAMPLE_TABLE}",
        }[kind]


S3_ACTIONS = {
    "ListObjectsV2": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "HeadObject": "s3:GetObject",
    "GetObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "DeleteObject": "s3:DeleteObject",
    "DeleteObjects": "s3:DeleteObject",
}


def bucket_identity(name: str) -> str:
    """A stack bucket's name without the random suffix CloudFormation (and moto) adds, so that
    the buckets of two deployments of one template can be matched."""
    return re.sub(r"-[a-z0-9]{12}$", "", name)


def _s3(call: dict[str, Any], stack: StackResources) -> list[Request]:
    params, op = call["params"], call["operation"]
    deployed = {bucket_identity(b): b for b in stack.buckets}
    bucket = deployed.get(bucket_identity(params["Bucket"]))
    if bucket is None:
        raise LookupError(params["Bucket"])
    tls = {"aws:SecureTransport": "true"}
    action = S3_ACTIONS[op]
    if action == "s3:ListBucket":
        return [
            Request(
                action,
                f"arn:aws:s3:::{bucket}",
                {**tls, "s3:prefix": params.get("Prefix", ""), "s3:delimiter": params.get("Delimiter", "")},
            )
        ]
    keys = params["Delete"] if op == "DeleteObjects" else [params["Key"]]
    return [Request(action, f"arn:aws:s3:::{bucket}/{key}", tls) for key in keys]


def to_requests(call: dict[str, Any], stack: StackResources) -> list[Request]:
    """The authorisation requests of one recorded call.

    Raises OutsideTheStack for EMR-on-EC2 calls, LookupError for an S3 bucket or an SNS topic
    that is not the stack's, and KeyError for a service or operation nobody mapped yet (a new call: map it).
    """
    service, op, params = call["service"], call["operation"], call["params"]
    if service == "s3":
        return _s3(call, stack)
    if service == "elasticmapreduce":
        raise OutsideTheStack(op)
    if service == "emr-serverless":
        if op in ("GetApplication", "StartApplication", "StartJobRun"):
            requests = [Request(f"emr-serverless:{op}", stack.application_arn)]
            if op == "StartJobRun":
                requests.append(
                    Request(
                        "iam:PassRole",
                        stack.job_role_arn,
                        {"iam:PassedToService": "emr-serverless.amazonaws.com"},
                    )
                )
            return requests
        if op in ("GetJobRun", "CancelJobRun"):
            return [Request(f"emr-serverless:{op}", f"{stack.application_arn}/jobruns/{params['jobRunId']}")]
        raise KeyError(f"emr-serverless:{op}")
    if service == "redshift-data":
        if op in ("ExecuteStatement", "BatchExecuteStatement"):
            return [
                Request(f"redshift-data:{op}", stack.workgroup_arn),
                Request("redshift-serverless:GetCredentials", stack.workgroup_arn),
            ]
        if op in ("DescribeStatement", "GetStatementResult", "CancelStatement"):
            owner = {"aws:userid": USERID, "redshift-data:statement-owner-iam-userid": USERID}
            return [Request(f"redshift-data:{op}", "*", owner)]
        raise KeyError(f"redshift-data:{op}")
    if service == "sns" and op == "Publish":
        topic = params.get("TopicArn") or params["TargetArn"]
        if topic != stack.alert_topic_arn:
            raise LookupError(topic)
        return [Request("sns:Publish", topic)]
    if service == "glue" and op == "GetTables":
        return [Request("glue:GetTables", stack.glue(kind)) for kind in ("catalog", "database", "table")]
    raise KeyError(f"{service}:{op}")
