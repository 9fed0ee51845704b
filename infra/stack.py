"""The production path on AWS, as one CloudFormation stack (``imdb-elt``).

Buckets (raw, lake, code, Airflow, logs), the roles of ``infra.permissions``, the EMR Serverless
application on the project's EMR release, a VPC (or an imported one) with Redshift Serverless in
its private subnets, the Glue database of the Spectrum path, the operators' alert topic (SNS),
and outputs that are exactly the settings the DAG reads (``infra.outputs``). Names come from the
package: the release label and the Glue and Redshift database names from ``imdb_elt.config``,
the lake's prefixes from ``imdb_elt.layout``. No custom resource (they need Lambda): buckets are
kept when the stack is deleted, and nothing is uploaded by the stack.

Retention is decided once per kind of data (docs/deployment.md, "Retention"): snapshots by
count in imdb_elt.lake.prune_snapshots (IMDB_SNAPSHOT_RETENTION) and never by age here, since an
S3 expiry could delete a snapshot CURRENT still points to; only old quarantine, old run reports,
replaced object versions and logs expire by age, by this stack's lifecycle rules.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_emrserverless as emrs
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_redshiftserverless as rss
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from imdb_elt import config, lake
from infra import permissions
from infra.options import InfraOptions
from infra.outputs import output_key

REDSHIFT_PORT = 5439
#: Run report keys are reports/<run id>.json, and run ids are UTC timestamps (lake.new_snapshot_id:
#: "20261125T..."). So "reports/2" holds every run report of this millennium and never
#: reports/latest.json, which dashboards read and must not expire.
REPORT_HISTORY_PREFIX = f"{permissions.REPORTS}/{lake.new_snapshot_id()[0]}"
#: SNS's AWS managed key: free, and its key policy lets any principal of the account that may
#: publish to the topic use it through SNS, so the publisher needs no KMS grant of its own.
SNS_MANAGED_KEY = "alias/aws/sns"


class ImdbEltStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: config.Settings,
        options: InfraOptions,
        **kwargs,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=options.stack_name,
            description="imdb-elt: IMDb dumps -> Spark (EMR Serverless) -> S3 lake -> "
            "Redshift Serverless -> dbt, orchestrated by Airflow",
            **kwargs,
        )
        self.settings = settings
        self.options = options
        settings.emr_release  # noqa: B018 - refuses, at synth time, a release the job cannot run on
        self.buckets = self._buckets()
        self.vpc = self._vpc()
        self.airflow_security_group = ec2.SecurityGroup(
            self,
            "AirflowSecurityGroup",
            vpc=self.vpc,
            allow_all_outbound=True,
            description="Airflow workers (MWAA, or attach it to your own): reach Redshift",
        )
        if options.mwaa:
            # MWAA requires its security group to admit itself: web server, schedulers and
            # workers talk to each other through it.
            self.airflow_security_group.add_ingress_rule(
                self.airflow_security_group, ec2.Port.all_traffic(), "MWAA's own components"
            )
        self.job_role = self._role(
            "SparkJobRole",
            "spark-job",
            iam.ServicePrincipal("emr-serverless.amazonaws.com"),
            permissions.spark_job(self.buckets),
            "EMR Serverless job runtime role of the Spark job",
        )
        self.application = self._emr_application()
        self.glue_database = glue.CfnDatabase(
            self,
            "GlueDatabase",
            catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=settings.redshift_glue_database,
                description="imdb-elt raw layer for Redshift Spectrum (REDSHIFT_STAGING=spectrum)",
            ),
        )
        self.redshift_role = self._role(
            "RedshiftRole",
            "redshift",
            # Redshift Serverless assumes namespace roles through both service principals.
            iam.CompositePrincipal(
                iam.ServicePrincipal("redshift.amazonaws.com"),
                iam.ServicePrincipal("redshift-serverless.amazonaws.com"),
            ),
            permissions.redshift(self.buckets, settings.redshift_glue_database),
            "Redshift COPY and Spectrum: read the processed zone, keep the external tables in Glue",
        )
        self.namespace, self.workgroup = self._redshift()
        self.alert_topic = self._alert_topic()
        self.airflow_role = self._role(
            "AirflowRole",
            "airflow",
            self._airflow_principal(),
            permissions.airflow(
                self.buckets,
                application_arn=self.application.attr_arn,
                job_role_arn=self.job_role.role_arn,
                workgroup_arn=self.workgroup.attr_workgroup_workgroup_arn,
                glue_database=settings.redshift_glue_database,
                alert_topic_arn=self.alert_topic.topic_arn,
            ),
            "The DAG's tasks: lake bookkeeping, EMR Serverless job, Redshift Data API, alerts",
        )
        self.code_deploy_role = self._role(
            "CodeDeployRole",
            "code-deploy",
            iam.AccountRootPrincipal(),
            permissions.code_deploy(self.buckets),
            "make deploy-code: upload the Spark bundle (assume it with the account's credentials)",
        )
        self._outputs()

    # ---- buckets ------------------------------------------------------------------------------

    def _bucket(
        self,
        construct_id: str,
        *,
        versioned: bool = False,
        rules: list[s3.LifecycleRule] | None = None,
        logs_prefix: str | None = None,
        **kwargs,
    ) -> s3.Bucket:
        """Private, encrypted, TLS only, kept when the stack is deleted (no custom resource empties
        a bucket, and a data bucket must outlive the stack anyway)."""
        rules = [
            *(rules or []),
            s3.LifecycleRule(
                id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=Duration.days(7)
            ),
        ]
        if versioned:
            rules.append(
                s3.LifecycleRule(
                    id="expire-replaced-versions",
                    noncurrent_version_expiration=Duration.days(self.options.noncurrent_days),
                    noncurrent_versions_to_retain=3,
                )
            )
        return s3.Bucket(
            self,
            construct_id,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=versioned,
            lifecycle_rules=rules,
            removal_policy=RemovalPolicy.RETAIN,
            server_access_logs_bucket=self.logs_bucket if logs_prefix else None,
            server_access_logs_prefix=f"s3-access/{logs_prefix}/" if logs_prefix else None,
            **kwargs,
        )

    def _buckets(self) -> permissions.Buckets:
        o = self.options
        self.logs_bucket = self._bucket(
            "LogsBucket", rules=[s3.LifecycleRule(id="expire-logs", expiration=Duration.days(o.log_days))]
        )
        raw = self._bucket("RawBucket", logs_prefix="raw")
        lake_bucket = self._bucket(
            "LakeBucket",
            logs_prefix="lake",
            rules=[
                s3.LifecycleRule(
                    id="expire-old-quarantine",
                    prefix=f"{permissions.QUARANTINE}/",
                    expiration=Duration.days(o.quarantine_days),
                ),
                s3.LifecycleRule(
                    id="expire-old-run-reports",
                    prefix=REPORT_HISTORY_PREFIX,
                    expiration=Duration.days(o.report_days),
                ),
            ],
        )
        code = self._bucket("CodeBucket", versioned=True, logs_prefix="code")
        # MWAA requires versioning and a name that starts with "airflow-".
        self.airflow_bucket = self._bucket(
            "AirflowBucket",
            versioned=True,
            logs_prefix="airflow",
            bucket_name=Fn.join("-", ["airflow", o.stack_name, Aws.ACCOUNT_ID, Aws.REGION]),
        )
        return permissions.Buckets(raw=raw, lake=lake_bucket, code=code, logs=self.logs_bucket)

    # ---- network ------------------------------------------------------------------------------

    def _vpc(self) -> ec2.IVpc:
        o = self.options
        if o.vpc_id:
            # Imported as given (no lookup, so synth stays offline). It must route to S3 (a
            # gateway endpoint or NAT), and to PyPI for MWAA: see docs/deployment.md.
            return ec2.Vpc.from_vpc_attributes(
                self,
                "Vpc",
                vpc_id=o.vpc_id,
                availability_zones=list(o.availability_zones),
                private_subnet_ids=list(o.private_subnet_ids),
            )
        private = ec2.SubnetType.PRIVATE_WITH_EGRESS if o.nat else ec2.SubnetType.PRIVATE_ISOLATED
        subnets = [ec2.SubnetConfiguration(name="private", subnet_type=private, cidr_mask=20)]
        if o.nat:
            subnets.append(
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24)
            )
        vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr("10.40.0.0/16"),
            # Redshift Serverless needs subnets in three availability zones.
            availability_zones=[Fn.select(i, Fn.get_azs()) for i in range(3)],
            nat_gateways=o.nat,
            subnet_configuration=subnets,
            restrict_default_security_group=False,
        )
        # COPY and Spectrum reach S3 through the VPC (enhanced VPC routing): a gateway endpoint,
        # free of charge, for S3 and for MWAA's workers.
        vpc.add_gateway_endpoint("S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3)
        if o.redshift_staging == "spectrum":
            # Spectrum reaches the Glue Data Catalog from the VPC too.
            vpc.add_interface_endpoint("GlueEndpoint", service=ec2.InterfaceVpcEndpointAwsService.GLUE)
        vpc.add_flow_log(
            "FlowLogs", destination=ec2.FlowLogDestination.to_s3(self.logs_bucket, "vpc-flow-logs/")
        )
        return vpc

    # ---- compute ------------------------------------------------------------------------------

    def _role(
        self,
        construct_id: str,
        name: str,
        principal: iam.IPrincipal,
        statements: list[iam.PolicyStatement],
        description: str,
    ) -> iam.Role:
        return iam.Role(
            self,
            construct_id,
            assumed_by=principal,
            description=description,
            role_name=Fn.join("-", [self.options.stack_name, name, Aws.REGION]),
            inline_policies={"imdb-elt": iam.PolicyDocument(statements=statements)},
        )

    def _airflow_principal(self) -> iam.IPrincipal:
        if self.options.mwaa:
            return iam.CompositePrincipal(
                iam.ServicePrincipal("airflow.amazonaws.com"),
                iam.ServicePrincipal("airflow-env.amazonaws.com"),
            )
        # A self-hosted Airflow assumes it through its AWS connection (extra "role_arn"), with
        # credentials of this account that are allowed sts:AssumeRole on it.
        return iam.AccountRootPrincipal()

    def _emr_application(self) -> emrs.CfnApplication:
        o = self.options
        return emrs.CfnApplication(
            self,
            "SparkApplication",
            name=self.options.stack_name,
            type="SPARK",
            release_label=self.settings.emr_release_label,  # written as the literal, e.g. emr-spark-8.0.0
            architecture="ARM64",  # Graviton: about 20% cheaper per vCPU-hour; the job is pure Python/JVM
            auto_start_configuration=emrs.CfnApplication.AutoStartConfigurationProperty(enabled=True),
            auto_stop_configuration=emrs.CfnApplication.AutoStopConfigurationProperty(
                enabled=True, idle_timeout_minutes=o.emr_idle_minutes
            ),
            maximum_capacity=emrs.CfnApplication.MaximumAllowedResourcesProperty(
                cpu=f"{o.emr_max_vcpu} vCPU", memory=f"{o.emr_max_memory_gb} GB"
            ),
        )

    def _redshift(self) -> tuple[rss.CfnNamespace, rss.CfnWorkgroup]:
        o = self.options
        security_group = ec2.SecurityGroup(
            self,
            "RedshiftSecurityGroup",
            vpc=self.vpc,
            allow_all_outbound=False,
            description="Redshift Serverless: reached by the Airflow workers only",
        )
        security_group.add_ingress_rule(
            self.airflow_security_group, ec2.Port.tcp(REDSHIFT_PORT), "dbt and the connector from Airflow"
        )
        namespace = rss.CfnNamespace(
            self,
            "RedshiftServerlessNamespace",
            namespace_name=o.stack_name,
            db_name=self.settings.redshift_database,
            admin_username="imdb_admin",
            manage_admin_password=True,  # the password lives in Secrets Manager
            iam_roles=[self.redshift_role.role_arn],
            default_iam_role_arn=self.redshift_role.role_arn,
            log_exports=["userlog", "connectionlog", "useractivitylog"],
        )
        subnets = self.vpc.private_subnets or self.vpc.isolated_subnets
        workgroup = rss.CfnWorkgroup(
            self,
            "RedshiftServerlessWorkgroup",
            workgroup_name=o.stack_name,
            namespace_name=o.stack_name,
            base_capacity=o.redshift_base_rpu,
            max_capacity=o.redshift_max_rpu,
            publicly_accessible=False,
            enhanced_vpc_routing=True,
            port=REDSHIFT_PORT,
            subnet_ids=[s.subnet_id for s in subnets],
            security_group_ids=[security_group.security_group_id],
        )
        workgroup.add_resource_dependency(namespace)
        return namespace, workgroup

    # ---- alerts -------------------------------------------------------------------------------

    def _alert_topic(self) -> sns.Topic:
        """The topic imdb_elt.alerts publishes to (IMDB_ALERT_SNS_TOPIC_ARN): encrypted, TLS only,
        with an e-mail subscription per address of the ``alert_emails`` context value (each
        address confirms it from the message AWS sends). Chat channels subscribe through AWS
        Chatbot (docs/deployment.md)."""
        topic = sns.Topic(
            self,
            "AlertTopic",
            topic_name=f"{self.options.stack_name}-alerts",
            display_name="imdb-elt alerts",
            master_key=kms.Alias.from_alias_name(self, "SnsManagedKey", SNS_MANAGED_KEY),
            enforce_ssl=True,  # a topic policy that denies publishing without TLS
        )
        for address in self.options.alert_emails:
            topic.add_subscription(subscriptions.EmailSubscription(address))
        return topic

    # ---- outputs ------------------------------------------------------------------------------

    def _outputs(self) -> None:
        b = self.buckets
        values = {
            "AWS_DEFAULT_REGION": Aws.REGION,
            "IMDB_RAW_DIR": f"s3://{b.raw.bucket_name}",
            "IMDB_LAKE_DIR": f"s3://{b.lake.bucket_name}",
            "IMDB_SPARK_MODE": "emr-serverless",
            "IMDB_SPARK_CODE_URI": f"s3://{b.code.bucket_name}/{permissions.CODE_PREFIX}",
            "IMDB_EMR_RELEASE_LABEL": self.settings.emr_release_label,
            "IMDB_EMR_SERVERLESS_APP_ID": self.application.attr_application_id,
            "IMDB_EMR_EXECUTION_ROLE_ARN": self.job_role.role_arn,
            "IMDB_EMR_LOG_URI": f"s3://{b.logs.bucket_name}/{permissions.EMR_LOG_PREFIX}",
            "DBT_TARGET": "redshift",
            "REDSHIFT_STAGING": self.options.redshift_staging,
            "REDSHIFT_METHOD": "data_api",
            "REDSHIFT_WORKGROUP": self.workgroup.workgroup_name,
            "REDSHIFT_HOST": self.workgroup.attr_workgroup_endpoint_address,
            "REDSHIFT_PORT": str(REDSHIFT_PORT),
            "REDSHIFT_DATABASE": self.settings.redshift_database,
            "REDSHIFT_AUTH_METHOD": "iam",
            "REDSHIFT_IAM_ROLE_ARN": self.redshift_role.role_arn,
            "REDSHIFT_GLUE_DATABASE": self.settings.redshift_glue_database,
            "IMDB_ALERT_SNS_TOPIC_ARN": self.alert_topic.topic_arn,
        }
        for name, value in values.items():
            CfnOutput(self, output_key(name), value=value, description=name)
