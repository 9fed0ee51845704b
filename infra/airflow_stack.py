"""The optional MWAA environment (context ``mwaa=true``): a second stack, ``<stack>-airflow``.

A stack of its own because MWAA checks at creation that the DAG folder, ``requirements.txt``
and ``startup.sh`` exist in the Airflow bucket, which the first stack creates: deploy the first
stack, upload them (docs/deployment.md), then deploy this one.

It adds MWAA's own needs (``infra.permissions.mwaa_service``) to the Airflow role of the first
stack, which trusts MWAA's service principals when ``mwaa=true``.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_mwaa as mwaa
from constructs import Construct

from infra import permissions
from infra.stack import ImdbEltStack

#: Where the Airflow files go in the Airflow bucket (docs/deployment.md, step 3).
DAGS_PATH = "dags"
REQUIREMENTS_PATH = "requirements.txt"
STARTUP_SCRIPT_PATH = "startup.sh"


class ImdbEltAirflowStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, base: ImdbEltStack, **kwargs) -> None:
        o = base.options
        super().__init__(
            scope,
            construct_id,
            stack_name=f"{o.stack_name}-airflow",
            description="imdb-elt: the MWAA environment that runs the DAG",
            **kwargs,
        )
        name = o.stack_name
        self.mwaa_policy = iam.Policy(
            self,
            "MwaaServicePolicy",
            roles=[base.airflow_role],
            statements=permissions.mwaa_service(name, base.airflow_bucket),
        )
        subnets = base.vpc.private_subnets or base.vpc.isolated_subnets
        log = mwaa.CfnEnvironment.ModuleLoggingConfigurationProperty(enabled=True, log_level="INFO")
        self.mwaa_environment = mwaa.CfnEnvironment(
            self,
            "Environment",
            name=name,
            airflow_version=o.mwaa_airflow_version,
            environment_class=o.mwaa_environment_class,
            execution_role_arn=base.airflow_role.role_arn,
            source_bucket_arn=base.airflow_bucket.bucket_arn,
            dag_s3_path=DAGS_PATH,
            requirements_s3_path=REQUIREMENTS_PATH,
            startup_script_s3_path=STARTUP_SCRIPT_PATH,
            network_configuration=mwaa.CfnEnvironment.NetworkConfigurationProperty(
                security_group_ids=[base.airflow_security_group.security_group_id],
                subnet_ids=[s.subnet_id for s in subnets[:2]],
            ),  # MWAA takes exactly two
            webserver_access_mode="PRIVATE_ONLY",
            max_workers=2,
            airflow_configuration_options={"core.load_examples": "False"},
            logging_configuration=mwaa.CfnEnvironment.LoggingConfigurationProperty(
                dag_processing_logs=log,
                scheduler_logs=log,
                task_logs=log,
                webserver_logs=log,
                worker_logs=log,
            ),
        )
