"""The stack created by moto's CloudFormation, and the project's S3 tests run against the buckets
it made, with the settings taken from its outputs: `make deploy-code`, acquiring raw files, and
the lake's bookkeeping (deliveries, ledger, CURRENT, pruning, the run lease, reports), run history
read back from the lake, and the alerts published to the stack's topic.

moto builds the buckets, roles and network; it skips EMR Serverless, Redshift Serverless, the
Glue database, MWAA, bucket and topic policies (tests/infra/moto_stack.py), whose outputs are stand-ins.
"""

from __future__ import annotations

import boto3

from infra.outputs import SETTINGS, settings_from_outputs
from tests.fixtures.aws import REGION
from tests.infra.conftest import STACK_TESTS, RecordedRun, Synth
from tests.infra.iam_requests import bucket_identity
from tests.infra.moto_stack import ACCOUNT, deploy, unsupported


def test_moto_creates_the_stack_and_its_outputs_are_the_settings(synth: Synth, mocked_aws: None) -> None:
    settings = settings_from_outputs(deploy(synth.template, "imdb-elt", REGION))
    assert list(settings) == list(SETTINGS)
    buckets = {b["Name"] for b in boto3.client("s3", region_name=REGION).list_buckets()["Buckets"]}
    for name in ("IMDB_RAW_DIR", "IMDB_LAKE_DIR", "IMDB_SPARK_CODE_URI", "IMDB_EMR_LOG_URI"):
        assert settings[name].removeprefix("s3://").split("/")[0] in buckets, name
    roles = {r["Arn"] for r in boto3.client("iam", region_name=REGION).list_roles()["Roles"]}
    assert {settings["IMDB_EMR_EXECUTION_ROLE_ARN"], settings["REDSHIFT_IAM_ROLE_ARN"]} <= roles
    # What moto does not build, so what this check does not cover.
    assert sorted({r["Type"] for r in unsupported(synth.template).values()}) == [
        "AWS::EC2::FlowLog",
        "AWS::EMRServerless::Application",
        "AWS::Glue::Database",
        "AWS::RedshiftServerless::Namespace",
        "AWS::RedshiftServerless::Workgroup",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::TopicPolicy",
    ]
    # The alert topic, as the output names it, with its key.
    sns = boto3.client("sns", region_name=REGION)
    topic = settings["IMDB_ALERT_SNS_TOPIC_ARN"]
    assert topic in {t["TopicArn"] for t in sns.list_topics()["Topics"]}
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["KmsMasterKeyId"].endswith(":alias/aws/sns")


def test_the_s3_tests_pass_against_the_stack_buckets(recorded_run: RecordedRun) -> None:
    assert recorded_run.returncode == 0, recorded_run.output[-6000:]
    passed = recorded_run.passed()
    for test in STACK_TESTS:
        assert passed.get(test.split("::")[0], 0) >= 1, (test, passed)
    # Their product calls went to the stack's buckets (named by CloudFormation after the stack).
    calls = [
        c
        for c in recorded_run.calls
        if c["service"] == "s3"
        and c["role"] != "test"
        and c["test"].split("::")[0] in {t.split("::")[0] for t in STACK_TESTS}
    ]
    assert calls and {bucket_identity(c["params"]["Bucket"]).rsplit("-", 1)[0] for c in calls} == {"imdb-elt"}
    # The alerts went to the stack's topic (its ARN from the outputs), and the tests' queue
    # subscribed to it received them (tests/test_alerts.py reads each message back).
    published = [c for c in recorded_run.calls if c["service"] == "sns" and c["operation"] == "Publish"]
    assert published and {c["role"] for c in published} == {"airflow"}
    assert {c["params"]["TargetArn"] for c in published} == {
        f"arn:aws:sns:{REGION}:{ACCOUNT}:imdb-elt-alerts"
    }
