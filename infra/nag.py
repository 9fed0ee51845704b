"""cdk-nag (AwsSolutions) suppressions, each with its reason. Anything else fails `make synth`.

Every suppression is an IAM5 ("wildcard") finding of one role, matched by a pattern as narrow
as the resource. On the project's roles the wildcards left are key or id suffixes that only exist
at run time, under a prefix or a parent this stack owns, and no action has a wildcard. The MWAA
stack's service policy is AWS's documented MWAA execution-role policy as written, wildcards
included (it serves MWAA's own processes, not the project's code).
"""

from __future__ import annotations

from aws_cdk import Stack
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo

from infra.airflow_stack import ImdbEltAirflowStack
from infra.stack import ImdbEltStack

#: Objects under one prefix of this stack's buckets (the prefixes are imdb_elt.layout's).
OBJECTS_UNDER_A_PREFIX = RegexAppliesTo(
    regex=r"/^Resource::<(Raw|Lake|Code|Logs)Bucket[0-9A-F]{8}\.Arn>\/([a-z-]+\/)*\*$/g"
)
OBJECTS_REASON = (
    "S3 object ARNs under one prefix of this stack's own bucket: the keys (snapshot ids, run ids, "
    "bundle versions, delivered file names) are made at run time. Each prefix is the narrowest "
    "the code uses (imdb_elt.layout), and tests/infra/test_permissions.py checks each grant "
    "against the calls the code makes."
)
GLUE_TABLES = RegexAppliesTo(
    regex=r"/^Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table\/[a-z0-9_]+\/\*$/g"
)
GLUE_REASON = (
    "The tables of the one Glue database this stack owns: Spectrum's DDL creates one per dataset at run time."
)
JOB_RUNS = RegexAppliesTo(regex=r"/^Resource::<SparkApplication\.Arn>\/jobruns\/\*$/g")
JOB_RUNS_REASON = "Job runs of this stack's one EMR Serverless application: a run's id exists once it starts."
NO_RESOURCE_TYPE_REASON = (
    "redshift-data:DescribeStatement and CancelStatement have no resource type, so AWS requires "
    "'*'; the statement's condition limits them to statements this role started "
    "(redshift-data:statement-owner-iam-userid = ${aws:userid})."
)


def _iam5(reason: str, applies_to: list) -> NagPackSuppression:
    return NagPackSuppression(id="AwsSolutions-IAM5", reason=reason, applies_to=applies_to)


def suppress(stack: Stack) -> None:
    if isinstance(stack, ImdbEltStack):
        objects = _iam5(OBJECTS_REASON, [OBJECTS_UNDER_A_PREFIX])
        glue = _iam5(GLUE_REASON, [GLUE_TABLES])
        NagSuppressions.add_resource_suppressions(stack.job_role, [objects], apply_to_children=True)
        NagSuppressions.add_resource_suppressions(stack.code_deploy_role, [objects], apply_to_children=True)
        NagSuppressions.add_resource_suppressions(
            stack.redshift_role, [objects, glue], apply_to_children=True
        )
        NagSuppressions.add_resource_suppressions(
            stack.airflow_role,
            [
                objects,
                glue,
                _iam5(JOB_RUNS_REASON, [JOB_RUNS]),
                _iam5(NO_RESOURCE_TYPE_REASON, ["Resource::*"]),
            ],
            apply_to_children=True,
        )
    if isinstance(stack, ImdbEltAirflowStack):
        NagSuppressions.add_resource_suppressions(
            stack.mwaa_policy,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason=(
                        "AWS's documented MWAA execution-role policy (Amazon MWAA User Guide, 'Amazon MWAA "
                        "execution role'), as written: MWAA's scheduler, workers and web server read the "
                        "Airflow bucket, write their CloudWatch logs and metrics and use the Celery SQS "
                        "queue in MWAA's own account, through its KMS key. Several of these actions have "
                        "no resource type ('*'); the rest are limited to this environment's names."
                    ),
                    applies_to=[
                        "Action::s3:GetObject*",
                        "Action::s3:GetBucket*",
                        "Action::s3:List*",
                        "Action::kms:GenerateDataKey*",
                        "Resource::*",
                        RegexAppliesTo(regex=r"/^Resource::<AirflowBucket[0-9A-F]{8}\.Arn>\/\*$/g"),
                        RegexAppliesTo(
                            regex=r"/^Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
                            r"<AWS::AccountId>:log-group:airflow-[a-z0-9-]+-\*$/g"
                        ),
                        "Resource::arn:<AWS::Partition>:sqs:<AWS::Region>:*:airflow-celery-*",
                    ],
                )
            ],
            apply_to_children=True,
        )
