"""The infrastructure tests' shared, once-per-session work.

- ``synth``: the CDK app synthesised once (jsii's start-up costs seconds): the default stack, and
  the app with the MWAA stack and e-mail alert subscriptions (context ``mwaa=true``,
  ``alert_emails``).
- ``recorded_run``: one pytest run, in a subprocess, of the project's moto-backed AWS tests with
  every boto3 call recorded (tests/infra/aws_calls.py), the S3 and SNS ones against the buckets
  and the alert topic moto's CloudFormation builds from the synthesised template, with the
  settings from its outputs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from imdb_elt.config import REPO_ROOT
from tests.fixtures.aws import STACK_TEMPLATE
from tests.infra.aws_calls import RECORD_ENV

#: The moto-backed tests whose calls are recorded. The S3 ones run against the stack's buckets.
RECORDED_TESTS = [
    "tests/test_lake_s3.py",
    *(
        f"tests/test_locking.py::{name}[s3]"
        for name in (
            "test_a_second_run_is_refused_while_the_first_holds_the_lease",
            "test_renewal_belongs_to_the_holder_only",
            "test_a_holder_that_stopped_renewing_is_taken_over",
        )
    ),
    "tests/airflow/test_acquire_s3.py",
    "tests/deploy/test_spark_bundle.py::test_deploy_code_uploads_the_packaged_bundle_under_its_version",
    "tests/deploy/test_spark_bundle.py::test_a_missing_or_changed_bundle_fails_fast_and_says_what_to_run",
    # The report task's run history and alerts: reports read back, state/ files, the alert topic.
    "tests/test_run_history.py::test_on_an_s3_lake_a_missed_run_and_the_backfill_read_the_reports_back",
    "tests/test_alerts.py::test_an_s3_lake_keeps_the_alert_memory_the_cli_and_the_dag_share",
    "tests/test_alerts.py::test_every_channel_receives_the_alert_offline",
    # The DAG's AWS tasks as the DAG builds them (EMR step, EMR Serverless, COPY, Spectrum),
    # which covers what tests/airflow/test_aws_paths.py calls too.
    "tests/airflow/test_dag_aws_variants.py",
    "tests/airflow/test_aws_task_lifecycle.py",
    # Run history on Redshift: one Data API batch.
    "tests/test_run_history.py::test_a_redshift_append_is_one_data_api_batch",
]
#: The tests that run against the stack's buckets and alert topic.
STACK_TESTS = RECORDED_TESTS[:10]
ALERT_EMAILS = "oncall@example.com, data-team@example.com"
SETTING_PREFIXES = ("IMDB_", "DBT_", "REDSHIFT_", "AIRFLOW_", "AWS_", "PG", "DUCKDB_", "SPARK_")


@dataclass(frozen=True)
class Synth:
    directory: Path
    template: dict[str, Any]  # the default stack
    mwaa_directory: Path
    mwaa_base: dict[str, Any]  # the base stack when the MWAA stack is on
    mwaa: dict[str, Any]  # the MWAA stack
    findings: list[str]  # cdk-nag findings left unsuppressed, both apps
    seconds: float


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    # Node 20 (the machine's) runs jsii; its end-of-life banner is silenced per major version.
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from infra.app import build, unsuppressed_findings

    started = time.perf_counter()
    default_dir, mwaa_dir = tmp_path_factory.mktemp("cdk.out"), tmp_path_factory.mktemp("cdk.out.mwaa")
    default = build(outdir=default_dir)[0].synth()
    # The second app also subscribes e-mail addresses to the alert topic (one synth for both).
    mwaa = build(context={"mwaa": "true", "alert_emails": ALERT_EMAILS}, outdir=mwaa_dir)[0].synth()

    def load(directory: Path, name: str) -> dict[str, Any]:
        return json.loads((directory / f"{name}.template.json").read_text())

    return Synth(
        default_dir,
        load(default_dir, "ImdbElt"),
        mwaa_dir,
        load(mwaa_dir, "ImdbElt"),
        load(mwaa_dir, "ImdbEltAirflow"),
        unsuppressed_findings(default) + unsuppressed_findings(mwaa),
        time.perf_counter() - started,
    )


@dataclass(frozen=True)
class RecordedRun:
    returncode: int
    output: str
    calls: list[dict[str, Any]]
    template_path: Path
    seconds: float

    def passed(self) -> dict[str, int]:
        """Tests passed per file (from pytest's verbose lines)."""
        counts: dict[str, int] = {}
        for m in re.finditer(r"^(tests/\S+?\.py)::\S+ PASSED", self.output, re.MULTILINE):
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
        return counts


@pytest.fixture(scope="session")
def recorded_run(synth: Synth, tmp_path_factory: pytest.TempPathFactory) -> RecordedRun:
    work = tmp_path_factory.mktemp("recorded")
    calls_file = work / "calls.jsonl"
    template_path = synth.directory / "ImdbElt.template.json"
    # The project's settings come from each test and the stack, never from this process's
    # environment (an earlier test's leftovers).
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}
    env = {**inherited, STACK_TEMPLATE: str(template_path), RECORD_ENV: str(calls_file)}
    started = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.infra.aws_calls",
            *RECORDED_TESTS,
            "-v",
            "-rA",
            "-p",
            "no:cacheprovider",
            f"--basetemp={work / 'pytest'}",
            "--durations=0",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    calls = [json.loads(line) for line in calls_file.read_text().splitlines()] if calls_file.exists() else []
    return RecordedRun(
        proc.returncode, proc.stdout + proc.stderr, calls, template_path, time.perf_counter() - started
    )
