"""The synthesised templates, resource by resource (aws_cdk.assertions and the template's JSON).

Every IAM statement is listed here exactly (actions and resources), with intrinsic functions
shown as ``<Logical.Attr>`` (the logical id's hash dropped) and ``${AWS::Region}``-style
pseudo parameters. No statement has a ``*`` action; a ``*`` resource only where AWS requires
one, listed in STAR_RESOURCES with the reason.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from imdb_elt import config, lake, layout
from infra.outputs import SETTINGS, output_key
from infra.stack import REPORT_HISTORY_PREFIX
from tests.infra.conftest import ALERT_EMAILS, Synth
from tests.infra.iam_eval import EXPLICIT_DENY, Request, evaluate

SETTINGS_NOW = config.load()


def render(node: Any) -> Any:
    """CloudFormation intrinsics as readable text: <LakeBucket.Arn>, ${AWS::Region}, joins."""
    if isinstance(node, dict):
        if "Fn::GetAtt" in node:
            logical, attr = node["Fn::GetAtt"]
            return f"<{re.sub(r'[0-9A-F]{8}$', '', logical)}.{attr}>"
        if "Ref" in node:
            ref = node["Ref"]
            return "${" + ref + "}" if ref.startswith("AWS::") else f"<{re.sub(r'[0-9A-F]{8}$', '', ref)}>"
        if "Fn::Join" in node:
            sep, parts = node["Fn::Join"]
            return sep.join(str(render(p)) for p in parts)
        return {k: render(v) for k, v in node.items()}
    if isinstance(node, list):
        return [render(v) for v in node]
    return node


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def resources(template: dict, kind: str) -> dict[str, dict]:
    return {re.sub(r"[0-9A-F]{8}$", "", k): v for k, v in template["Resources"].items() if v["Type"] == kind}


def role_statements(template: dict, role: str) -> dict[str, tuple[list[str], list[str]]]:
    [document] = [
        p["PolicyDocument"] for p in resources(template, "AWS::IAM::Role")[role]["Properties"]["Policies"]
    ]
    return {
        s["Sid"]: (_list(s["Action"]), [render(r) for r in _list(s["Resource"])])
        for s in document["Statement"]
    }


GLUE = "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}"
DB = SETTINGS_NOW.redshift_glue_database
GLUE_ARNS = [f"{GLUE}:catalog", f"{GLUE}:database/{DB}", f"{GLUE}:table/{DB}/*"]

EXPECTED = {
    "SparkJobRole": {
        "ListRawAndLake": (["s3:ListBucket"], ["<RawBucket.Arn>", "<LakeBucket.Arn>"]),
        "ReadRaw": (["s3:GetObject"], ["<RawBucket.Arn>/*"]),
        "WriteSnapshotAndQuarantine": (
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            ["<LakeBucket.Arn>/processed/snapshots/*", "<LakeBucket.Arn>/quarantine/*"],
        ),
        "ReadCode": (["s3:GetObject"], ["<CodeBucket.Arn>/spark/*"]),
        "WriteJobLogs": (["s3:PutObject"], ["<LogsBucket.Arn>/emr-serverless/*"]),
    },
    "RedshiftRole": {
        "ListProcessed": (["s3:ListBucket"], ["<LakeBucket.Arn>"]),
        "ReadProcessed": (["s3:GetObject"], ["<LakeBucket.Arn>/processed/*"]),
        "SpectrumCatalog": (
            [
                "glue:GetDatabase",
                "glue:CreateDatabase",
                "glue:GetTable",
                "glue:GetTables",
                "glue:CreateTable",
                "glue:UpdateTable",
                "glue:DeleteTable",
                "glue:GetPartitions",
            ],
            GLUE_ARNS,
        ),
    },
    "CodeDeployRole": {
        "DeployBundle": (["s3:GetObject", "s3:PutObject"], ["<CodeBucket.Arn>/spark/*"]),
    },
    "AirflowRole": {
        "ListRawAndLake": (["s3:ListBucket"], ["<RawBucket.Arn>", "<LakeBucket.Arn>"]),
        "AcquireRaw": (["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], ["<RawBucket.Arn>/*"]),
        "LakeBooks": (
            ["s3:GetObject", "s3:PutObject"],
            ["<LakeBucket.Arn>/processed/*", "<LakeBucket.Arn>/state/*"],
        ),
        "RunReports": (["s3:GetObject", "s3:PutObject"], ["<LakeBucket.Arn>/reports/*"]),
        "LakePrune": (
            ["s3:GetObject", "s3:DeleteObject"],
            ["<LakeBucket.Arn>/processed/snapshots/*", "<LakeBucket.Arn>/quarantine/*"],
        ),
        "ReleaseLease": (["s3:DeleteObject"], ["<LakeBucket.Arn>/state/*"]),
        "CheckCode": (["s3:GetObject"], ["<CodeBucket.Arn>/spark/*"]),
        "StartSparkJob": (
            [
                "emr-serverless:GetApplication",
                "emr-serverless:StartApplication",
                "emr-serverless:StartJobRun",
            ],
            ["<SparkApplication.Arn>"],
        ),
        "WatchSparkJob": (
            ["emr-serverless:GetJobRun", "emr-serverless:CancelJobRun"],
            ["<SparkApplication.Arn>/jobruns/*"],
        ),
        "PassJobRole": (["iam:PassRole"], ["<SparkJobRole.Arn>"]),
        "RunSqlOnWorkgroup": (
            [
                "redshift-data:BatchExecuteStatement",
                "redshift-data:ExecuteStatement",
                "redshift-serverless:GetCredentials",
            ],
            ["<RedshiftServerlessWorkgroup.Workgroup.WorkgroupArn>"],
        ),
        "WatchOwnStatements": (["redshift-data:DescribeStatement", "redshift-data:CancelStatement"], ["*"]),
        "ReadSpectrumCatalog": (["glue:GetTables"], GLUE_ARNS),
        "PublishAlerts": (["sns:Publish"], ["<AlertTopic>"]),
    },
}
#: (role, sid) -> why AWS requires "*" there.
STAR_RESOURCES = {
    ("AirflowRole", "WatchOwnStatements"): "the Data API's statement actions have no resource type",
    ("MwaaServicePolicy", "MwaaPublicAccessCheck"): "s3:GetAccountPublicAccessBlock has no resource type",
    (
        "MwaaServicePolicy",
        "MwaaLogGroupsAndMetrics",
    ): "logs:DescribeLogGroups, cloudwatch:PutMetricData: none",
}


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_every_statement_of_every_role_exactly(synth: Synth, role: str) -> None:
    assert role_statements(synth.template, role) == EXPECTED[role]


def test_conditions_and_trust(synth: Synth) -> None:
    roles = resources(synth.template, "AWS::IAM::Role")
    statements = {
        (r, s["Sid"]): s
        for r, v in roles.items()
        for s in v["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    }
    assert statements[("RedshiftRole", "ListProcessed")]["Condition"] == {
        "StringLike": {"s3:prefix": ["processed/*"]}
    }
    assert statements[("AirflowRole", "PassJobRole")]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}
    }
    assert statements[("AirflowRole", "WatchOwnStatements")]["Condition"] == {
        "StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}
    }
    assert [
        s
        for s in statements.values()
        if "Condition" in s and s["Sid"] not in ("ListProcessed", "PassJobRole", "WatchOwnStatements")
    ] == []

    def trusted(roles: dict, role: str) -> list[Any]:
        statements = roles[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert {s["Action"] for s in statements} == {"sts:AssumeRole"} and "Condition" not in str(statements)
        return [render(s["Principal"]) for s in statements]

    account = {"AWS": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    assert trusted(roles, "SparkJobRole") == [{"Service": "emr-serverless.amazonaws.com"}]
    assert trusted(roles, "RedshiftRole") == [
        {"Service": "redshift.amazonaws.com"},
        {"Service": "redshift-serverless.amazonaws.com"},
    ]
    assert trusted(roles, "AirflowRole") == [account]  # a self-hosted Airflow, through its connection
    assert trusted(roles, "CodeDeployRole") == [account]
    mwaa_roles = resources(synth.mwaa_base, "AWS::IAM::Role")
    assert trusted(mwaa_roles, "AirflowRole") == [
        {"Service": "airflow.amazonaws.com"},
        {"Service": "airflow-env.amazonaws.com"},
    ]
    assert {k: v for k, v in mwaa_roles.items() if k != "AirflowRole"} == {
        k: v for k, v in roles.items() if k != "AirflowRole"
    }  # MWAA changes nothing else


def test_no_action_wildcard_and_star_resources_only_where_aws_requires(synth: Synth) -> None:
    found = {}
    for template in (synth.template, synth.mwaa):
        for name, role in resources(template, "AWS::IAM::Role").items():
            for s in (
                role["Properties"].get("Policies", [{}])[0].get("PolicyDocument", {}).get("Statement", [])
            ):
                found[(name, s["Sid"])] = s
        for name, policy in resources(template, "AWS::IAM::Policy").items():
            for s in policy["Properties"]["PolicyDocument"]["Statement"]:
                found[(name, s["Sid"])] = s
    assert found
    for key, s in found.items():
        actions = _list(s.get("Action", []))
        assert "*" not in actions and not any(a.endswith(":*") for a in actions), key
        if not key[0].startswith("Mwaa"):
            assert not any("*" in a for a in actions), key  # the project's roles: exact actions only
        if "*" in _list(s.get("Resource", [])):
            assert key in STAR_RESOURCES, key
    assert set(STAR_RESOURCES) <= set(found)


def test_buckets_are_private_encrypted_tls_only_and_kept(synth: Synth) -> None:
    template = Template.from_json(synth.template)
    buckets = resources(synth.template, "AWS::S3::Bucket")
    assert set(buckets) == {"RawBucket", "LakeBucket", "CodeBucket", "AirflowBucket", "LogsBucket"}
    template.all_resources_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        },
    )
    assert {b["DeletionPolicy"] for b in buckets.values()} == {"Retain"}
    versioned = {
        n
        for n, b in buckets.items()
        if b["Properties"].get("VersioningConfiguration") == {"Status": "Enabled"}
    }
    assert versioned == {"CodeBucket", "AirflowBucket"}  # rollback of the code and the DAGs
    logged = {n for n, b in buckets.items() if "LoggingConfiguration" in b["Properties"]}
    assert logged == set(buckets) - {"LogsBucket"}
    assert render(buckets["AirflowBucket"]["Properties"]["BucketName"]).startswith("airflow-")  # MWAA's rule
    policies = {
        render(p["Properties"]["Bucket"]).strip("<>"): p["Properties"]["PolicyDocument"]
        for p in resources(synth.template, "AWS::S3::BucketPolicy").values()
    }
    assert set(policies) == set(buckets)
    for name, document in policies.items():
        plain = Request("s3:GetObject", f"<{name}.Arn>/key", {"aws:SecureTransport": "false"})
        deny = {
            **document,
            "Statement": [
                {**s, "Resource": [render(r) for r in _list(s["Resource"])]}
                for s in document["Statement"]
                if s["Effect"] == "Deny"
            ],
        }
        assert evaluate([deny], plain) == EXPLICIT_DENY, name  # TLS only
        tls = Request("s3:GetObject", f"<{name}.Arn>/key", {"aws:SecureTransport": "true"})
        assert evaluate([deny], tls) != EXPLICIT_DENY, name


def test_lifecycle_never_expires_snapshots_or_the_latest_report(synth: Synth) -> None:
    rules = {
        n: b["Properties"]["LifecycleConfiguration"]["Rules"]
        for n, b in resources(synth.template, "AWS::S3::Bucket").items()
    }
    expiring = {(n, r.get("Prefix", "")) for n, rs in rules.items() for r in rs if "ExpirationInDays" in r}
    assert expiring == {
        ("LakeBucket", "quarantine/"),
        ("LakeBucket", REPORT_HISTORY_PREFIX),
        ("LogsBucket", ""),
    }
    lake_keys = [
        layout.snapshots_dir("s3://b")[len("s3://b/") :] + "/S1/title_basics/part-0.parquet",
        layout.current_pointer("s3://b")[len("s3://b/") :],
        "reports/latest.json",
        "state/ledger.jsonl",
    ]
    for key in lake_keys:  # live data: no age-based rule may reach it
        assert not any(key.startswith(prefix) for bucket, prefix in expiring if bucket == "LakeBucket"), key
    run_report = f"{layout.reports_dir('s3://b')[len('s3://b/') :]}/{lake.new_snapshot_id()}.json"
    assert run_report.startswith(REPORT_HISTORY_PREFIX)  # every run report does expire
    noncurrent = {n for n, rs in rules.items() for r in rs if "NoncurrentVersionExpiration" in r}
    assert noncurrent == {"CodeBucket", "AirflowBucket"}
    assert all(any("AbortIncompleteMultipartUpload" in r for r in rs) for rs in rules.values())


def test_emr_serverless_runs_the_release_the_project_names(synth: Synth) -> None:
    [app] = resources(synth.template, "AWS::EMRServerless::Application").values()
    props = app["Properties"]
    assert props["ReleaseLabel"] == SETTINGS_NOW.emr_release_label == config.DEFAULT_EMR_RELEASE_LABEL
    assert props["Type"] == "SPARK"
    assert props["AutoStopConfiguration"] == {"Enabled": True, "IdleTimeoutMinutes": 15}
    assert props["MaximumCapacity"] == {"Cpu": "16 vCPU", "Memory": "64 GB"}


def test_redshift_serverless_private_with_the_role(synth: Synth) -> None:
    template = Template.from_json(synth.template)
    [namespace] = resources(synth.template, "AWS::RedshiftServerless::Namespace").values()
    assert render(namespace["Properties"]["IamRoles"]) == ["<RedshiftRole.Arn>"]
    assert (
        namespace["Properties"]["ManageAdminPassword"] is True
        and "AdminUserPassword" not in namespace["Properties"]
    )
    assert namespace["Properties"]["DbName"] == SETTINGS_NOW.redshift_database
    template.has_resource_properties(
        "AWS::RedshiftServerless::Workgroup",
        {
            "PubliclyAccessible": False,
            "EnhancedVpcRouting": True,
            "BaseCapacity": 8,
            "MaxCapacity": 32,
            "SubnetIds": Match.any_value(),
            "SecurityGroupIds": Match.any_value(),
        },
    )
    [workgroup] = resources(synth.template, "AWS::RedshiftServerless::Workgroup").values()
    assert len(workgroup["Properties"]["SubnetIds"]) == 3
    [ingress] = [s for s in resources(synth.template, "AWS::EC2::SecurityGroupIngress").values()]
    assert (ingress["Properties"]["FromPort"], render(ingress["Properties"]["SourceSecurityGroupId"])) == (
        5439,
        "<AirflowSecurityGroup.GroupId>",
    )


def test_network_glue_and_nothing_that_needs_lambda_or_bootstrap(synth: Synth) -> None:
    template = Template.from_json(synth.template)
    [endpoint] = resources(synth.template, "AWS::EC2::VPCEndpoint").values()
    assert endpoint["Properties"]["VpcEndpointType"] == "Gateway"
    assert render(endpoint["Properties"]["ServiceName"]) == "com.amazonaws.${AWS::Region}.s3"
    template.resource_count_is("AWS::EC2::NatGateway", 0)  # no MWAA: nothing needs the internet
    template.has_resource_properties(
        "AWS::Glue::Database",
        {"DatabaseInput": {"Name": SETTINGS_NOW.redshift_glue_database, "Description": Match.any_value()}},
    )
    for tpl in (synth.template, synth.mwaa_base, synth.mwaa):
        kinds = {r["Type"] for r in tpl["Resources"].values()}
        assert not [k for k in kinds if k.startswith("Custom::") or k.startswith("AWS::Lambda::")], kinds
        assert "Parameters" not in tpl and "Rules" not in tpl  # no BootstrapVersion
    assert "AWS::EC2::NatGateway" in {r["Type"] for r in synth.mwaa_base["Resources"].values()}


def test_the_outputs_are_exactly_the_settings(synth: Synth) -> None:
    outputs = synth.template["Outputs"]
    assert list(outputs) == [output_key(name) for name in SETTINGS]
    assert [o["Description"] for o in outputs.values()] == list(SETTINGS)
    values = {o["Description"]: render(o["Value"]) for o in outputs.values()}
    assert values["IMDB_LAKE_DIR"] == "s3://<LakeBucket>" and values["IMDB_RAW_DIR"] == "s3://<RawBucket>"
    assert values["IMDB_SPARK_CODE_URI"] == "s3://<CodeBucket>/spark"
    assert values["IMDB_EMR_SERVERLESS_APP_ID"] == "<SparkApplication.ApplicationId>"
    assert values["IMDB_EMR_EXECUTION_ROLE_ARN"] == "<SparkJobRole.Arn>"
    assert values["REDSHIFT_IAM_ROLE_ARN"] == "<RedshiftRole.Arn>"
    assert values["IMDB_EMR_RELEASE_LABEL"] == SETTINGS_NOW.emr_release_label
    assert values["REDSHIFT_HOST"] == "<RedshiftServerlessWorkgroup.Workgroup.Endpoint.Address>"
    assert values["IMDB_ALERT_SNS_TOPIC_ARN"] == "<AlertTopic>"  # a topic's Ref is its ARN


def test_the_alert_topic_is_encrypted_tls_only_and_subscribed_on_request(synth: Synth) -> None:
    [topic] = resources(synth.template, "AWS::SNS::Topic").values()
    assert render(topic["Properties"]) == {
        "TopicName": "imdb-elt-alerts",
        "DisplayName": "imdb-elt alerts",
        # SNS's AWS managed key (infra.stack.SNS_MANAGED_KEY): the publisher needs no KMS grant.
        "KmsMasterKeyId": "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:alias/aws/sns",
    }
    [policy] = resources(synth.template, "AWS::SNS::TopicPolicy").values()
    assert render(policy["Properties"]["Topics"]) == ["<AlertTopic>"]
    document = policy["Properties"]["PolicyDocument"]
    assert [render(s) for s in document["Statement"]] == [
        {
            "Sid": "AllowPublishThroughSSLOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:Publish",
            "Resource": "<AlertTopic>",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    deny = {**document, "Statement": [render(s) for s in document["Statement"]]}
    assert evaluate([deny], Request("sns:Publish", "<AlertTopic>", {"aws:SecureTransport": "false"})) == (
        EXPLICIT_DENY
    )
    assert evaluate([deny], Request("sns:Publish", "<AlertTopic>", {"aws:SecureTransport": "true"})) != (
        EXPLICIT_DENY
    )
    # Subscriptions only from the alert_emails context value (the MWAA app of the fixture sets it).
    assert resources(synth.template, "AWS::SNS::Subscription") == {}
    subscribed = [
        render(s["Properties"]) for s in resources(synth.mwaa_base, "AWS::SNS::Subscription").values()
    ]
    assert sorted(subscribed, key=lambda s: s["Endpoint"]) == [
        {"Protocol": "email", "Endpoint": address.strip(), "TopicArn": "<AlertTopic>"}
        for address in sorted(ALERT_EMAILS.split(","), key=str.strip)
    ]


def test_mwaa_environment(synth: Synth) -> None:
    [env] = resources(synth.mwaa, "AWS::MWAA::Environment").values()
    props = render(env["Properties"])
    assert props["AirflowVersion"] == "3.0.6"
    assert props["WebserverAccessMode"] == "PRIVATE_ONLY"
    assert (props["DagS3Path"], props["RequirementsS3Path"], props["StartupScriptS3Path"]) == (
        "dags",
        "requirements.txt",
        "startup.sh",
    )
    assert len(props["NetworkConfiguration"]["SubnetIds"]) == 2
    assert "AirflowRole" in str(props["ExecutionRoleArn"]) and "AirflowBucket" in str(
        props["SourceBucketArn"]
    )
    ingress = {
        (
            render(r["Properties"]["GroupId"]),
            render(r["Properties"]["SourceSecurityGroupId"]),
            r["Properties"]["IpProtocol"],
        )
        for r in resources(synth.mwaa_base, "AWS::EC2::SecurityGroupIngress").values()
    }
    assert ingress == {
        ("<RedshiftSecurityGroup.GroupId>", "<AirflowSecurityGroup.GroupId>", "tcp"),
        ("<AirflowSecurityGroup.GroupId>", "<AirflowSecurityGroup.GroupId>", "-1"),  # MWAA's own rule
    }
