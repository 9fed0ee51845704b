"""Permissions match the code: every AWS call the code makes (recorded under moto) is allowed by
the role that makes it in production, and every action the roles grant is one the code calls.

The roles' policies are read from IAM after moto's CloudFormation created the synthesised stack
(so every reference is resolved as CloudFormation resolves it), and evaluated with
tests/infra/iam_eval.py. The calls come from one run of the project's moto-backed tests with a
recorder (tests/infra/conftest.py ``recorded_run``); each is turned into what AWS authorises
(tests/infra/iam_requests.py). Made by AWS services rather than boto3, and not exercised here:
the Spark job's reads and writes through EMRFS, Redshift's COPY and Spectrum reads, Spectrum's
Glue calls; their statements are asserted in test_template.py.
"""

from __future__ import annotations

import ast
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any
from unittest import mock

import boto3
import pytest
from moto import mock_aws

from infra.outputs import settings_from_outputs
from infra.permissions import NOT_PROVOKED
from tests.fixtures.aws import REGION
from tests.infra.conftest import STACK_TESTS, RecordedRun, Synth
from tests.infra.iam_eval import ALLOW, Request, evaluate, statement_applies
from tests.infra.iam_requests import OutsideTheStack, StackResources, bucket_identity, to_requests
from tests.infra.moto_stack import ACCOUNT, APPLICATION_ID, WORKGROUP_ID, deploy

#: The recorder's roles and the stack's roles they are (IAM role names, without the region).
ROLES = {"airflow": "airflow", "code-deploy": "code-deploy"}


def _policy(document: Any) -> dict[str, Any]:
    # moto keeps a CloudFormation inline policy as the repr of a dict.
    return ast.literal_eval(document) if isinstance(document, str) else document


@pytest.fixture(scope="module")
def deployed(synth: Synth) -> Iterator[tuple[dict[str, list[dict]], StackResources]]:
    """The stack in moto (once for the module): each role's policies, and the resources the
    calls address."""
    fake = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
    with mock.patch.dict(os.environ, fake), mock_aws():
        yield _deployed(synth)


def _deployed(synth: Synth) -> tuple[dict[str, list[dict]], StackResources]:
    settings = settings_from_outputs(deploy(synth.template, "imdb-elt", REGION))
    iam = boto3.client("iam", region_name=REGION)
    s3 = boto3.client("s3", region_name=REGION)
    policies = {}
    for role in ROLES.values():
        name = f"imdb-elt-{role}-{REGION}"
        policies[role] = [
            _policy(iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"])
            for p in iam.list_role_policies(RoleName=name)["PolicyNames"]
        ]
    stack = StackResources(
        region=REGION,
        account=ACCOUNT,
        buckets=frozenset(b["Name"] for b in s3.list_buckets()["Buckets"]),
        application_id=settings["IMDB_EMR_SERVERLESS_APP_ID"],
        job_role_arn=settings["IMDB_EMR_EXECUTION_ROLE_ARN"],
        workgroup_arn=f"arn:aws:redshift-serverless:{REGION}:{ACCOUNT}:workgroup/{WORKGROUP_ID}",
        glue_database=settings["REDSHIFT_GLUE_DATABASE"],
        alert_topic_arn=settings["IMDB_ALERT_SNS_TOPIC_ARN"],
    )
    assert stack.application_id == APPLICATION_ID
    return policies, stack


def _product_calls(run: RecordedRun) -> list[dict[str, Any]]:
    assert run.returncode == 0, f"the recorded tests failed:\n{run.output[-6000:]}"
    return [c for c in run.calls if c["role"] in ROLES]


def _requests(
    calls: list[dict], stack: StackResources
) -> tuple[list[tuple[dict, Request]], list[dict], list[dict]]:
    """(call, request) pairs; calls outside the stack (EMR on EC2); S3 and SNS calls to a test's
    own bucket or topic."""
    pairs, outside, own_bucket = [], [], []
    for call in calls:
        try:
            pairs += [(call, r) for r in to_requests(call, stack)]
        except OutsideTheStack:
            outside.append(call)
        except LookupError:
            own_bucket.append(call)
    return pairs, outside, own_bucket


def test_every_call_the_code_makes_is_allowed_by_its_role(recorded_run: RecordedRun, deployed) -> None:
    policies, stack = deployed
    pairs, outside, own_bucket = _requests(_product_calls(recorded_run), stack)
    denied = [
        (call["role"], call["operation"], r.action, r.resource, call["test"])
        for call, r in pairs
        if evaluate(policies[ROLES[call["role"]]], r) != ALLOW
    ]
    assert denied == []
    # S3 and SNS calls to a bucket or topic the stack did not make come only from tests that
    # bring their own; the S3 and alert tests proper ran against the stack's.
    assert not [c for c in own_bucket if c["test"].split("::")[0] in {t.split("::")[0] for t in STACK_TESTS}]
    # SQS is the alert tests' own receiver (a queue subscribed to the topic, standing in for an
    # operator's e-mail or chat): the test's calls, never the product's, so no role grants SQS.
    sqs = [c for c in recorded_run.calls if c["service"] == "sqs"]
    assert sqs and {c["role"] for c in sqs} == {"test"}
    # EMR on EC2 (IMDB_SPARK_MODE=emr) is not provisioned by the stack: its role grants none of it.
    assert outside and all(c["service"] == "elasticmapreduce" for c in outside)
    for call in outside:
        cluster = f"arn:aws:elasticmapreduce:{REGION}:{ACCOUNT}:cluster/j-ANY"
        assert (
            evaluate(policies["airflow"], Request(f"elasticmapreduce:{call['operation']}", cluster)) != ALLOW
        )


def test_every_action_granted_is_one_the_code_calls(recorded_run: RecordedRun, deployed) -> None:
    """Each (action, resource) of each statement matches at least one recorded request, unless it
    is listed in infra.permissions.NOT_PROVOKED with the reason no test can provoke it."""
    policies, stack = deployed
    pairs, _, _ = _requests(_product_calls(recorded_run), stack)
    unused, granted = [], set()
    for role, documents in policies.items():
        requests = [r for call, r in pairs if ROLES[call["role"]] == role]
        for statement in (s for d in documents for s in d["Statement"]):
            assert statement["Effect"] == "Allow" and "Action" in statement and "Resource" in statement
            for action in _list(statement["Action"]):
                granted.add((role, action))
                for resource in _list(statement["Resource"]):
                    single = {**statement, "Action": action, "Resource": resource}
                    if (
                        not any(statement_applies(single, r) for r in requests)
                        and (role, action) not in NOT_PROVOKED
                    ):
                        unused.append((role, statement.get("Sid"), action, resource))
    assert unused == [], "\n".join(map(str, unused))
    assert set(NOT_PROVOKED) <= granted  # no stale exception
    provoked = {(ROLES[call["role"]], r.action) for call, r in pairs}
    assert not set(NOT_PROVOKED) & provoked  # an exception the tests do provoke is no exception


def test_the_recording_covers_every_path_of_the_code(recorded_run: RecordedRun, deployed) -> None:
    """A guard on the evidence: the run reached acquisition, the lake's books, the code check and
    deploy, the Spark job, both staging paths, a killed task, run history and alerts."""
    _, stack = deployed
    calls = _product_calls(recorded_run)
    seen = Counter((c["role"], c["service"], c["operation"]) for c in calls)
    expected = {
        ("code-deploy", "s3", "PutObject"),
        ("airflow", "s3", "PutObject"),
        ("airflow", "s3", "DeleteObjects"),
        ("airflow", "s3", "ListObjectsV2"),
        ("airflow", "s3", "HeadObject"),
        ("airflow", "s3", "GetObject"),
        ("airflow", "emr-serverless", "StartJobRun"),
        ("airflow", "emr-serverless", "GetJobRun"),
        ("airflow", "emr-serverless", "CancelJobRun"),
        ("airflow", "redshift-data", "BatchExecuteStatement"),
        ("airflow", "redshift-data", "ExecuteStatement"),
        ("airflow", "redshift-data", "DescribeStatement"),
        ("airflow", "redshift-data", "CancelStatement"),
        ("airflow", "glue", "GetTables"),
        ("airflow", "sns", "Publish"),
    }
    assert expected <= set(seen), sorted(expected - set(seen))
    ours = {bucket_identity(b) for b in stack.buckets}
    s3_buckets = {bucket_identity(c["params"]["Bucket"]) for c in calls if c["service"] == "s3"} & ours
    assert len(s3_buckets) == 3  # raw, lake, code


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


#: Controls: a statement taken out, and the recorded requests it alone allows.
CONTROLS = {
    "CheckCode": lambda r: r.action == "s3:GetObject" and "/spark/" in r.resource,
    "RunReports": lambda r: r.action == "s3:GetObject" and "/reports/" in r.resource,
    "PublishAlerts": lambda r: r.action == "sns:Publish",
}


@pytest.mark.parametrize("sid", sorted(CONTROLS))
def test_a_missing_grant_would_be_caught(recorded_run: RecordedRun, deployed, sid: str) -> None:
    """The control: without one statement, the Airflow role refuses the calls of the recording
    that need it (the code check's reads, run history's report reads, the alerts' publish), so
    the first test would fail."""
    policies, stack = deployed
    pairs, _, _ = _requests(_product_calls(recorded_run), stack)
    without = [
        {**d, "Statement": [s for s in d["Statement"] if s["Sid"] != sid]} for d in policies["airflow"]
    ]
    needing = [r for c, r in pairs if c["role"] == "airflow" and CONTROLS[sid](r)]
    assert needing and all(evaluate(policies["airflow"], r) == ALLOW for r in needing)
    assert all(evaluate(without, r) != ALLOW for r in needing)
