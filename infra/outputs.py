"""The stack's outputs are the project's settings; one command turns them into what the DAG reads.

Every output carries one setting read by ``imdb_elt/config.py``: its key is the setting's name
without underscores, camel-cased (CloudFormation output keys are alphanumeric), its description
the setting's exact name. Nothing else is an output.

    python -m infra.outputs [--stack imdb-elt] [--region R] [--format env|shell] [--outputs-file F]

reads the deployed stack's outputs (CloudFormation ``DescribeStacks``, or the JSON the CDK CLI
wrote with ``--outputs-file``) and prints:

- ``env``: ``NAME=value`` lines, an environment file for a self-hosted Airflow
  (``docker --env-file``, systemd ``EnvironmentFile=``, ``.env``);
- ``shell``: ``export NAME='value'`` lines, MWAA's startup script (``startup.sh`` in the
  Airflow bucket), which is how MWAA sets environment variables on its scheduler and workers.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: The settings the stack outputs, in the order they are printed.
SETTINGS: tuple[str, ...] = (
    "AWS_DEFAULT_REGION",
    "IMDB_RAW_DIR",
    "IMDB_LAKE_DIR",
    "IMDB_SPARK_MODE",
    "IMDB_SPARK_CODE_URI",
    "IMDB_EMR_RELEASE_LABEL",
    "IMDB_EMR_SERVERLESS_APP_ID",
    "IMDB_EMR_EXECUTION_ROLE_ARN",
    "IMDB_EMR_LOG_URI",
    "DBT_TARGET",
    "REDSHIFT_STAGING",
    "REDSHIFT_METHOD",
    "REDSHIFT_WORKGROUP",
    "REDSHIFT_HOST",
    "REDSHIFT_PORT",
    "REDSHIFT_DATABASE",
    "REDSHIFT_AUTH_METHOD",
    "REDSHIFT_IAM_ROLE_ARN",
    "REDSHIFT_GLUE_DATABASE",
    "IMDB_ALERT_SNS_TOPIC_ARN",
)


def output_key(setting: str) -> str:
    """``IMDB_RAW_DIR`` -> ``ImdbRawDir``."""
    return "".join(part.capitalize() for part in setting.split("_"))


KEY_TO_SETTING = {output_key(name): name for name in SETTINGS}


def settings_from_outputs(outputs: Mapping[str, str]) -> dict[str, str]:
    """{output key: value} -> {setting: value}, in SETTINGS order; a stack missing one fails."""
    missing = [name for name in SETTINGS if output_key(name) not in outputs]
    if missing:
        raise SystemExit(f"the stack has no output for {', '.join(missing)}: deploy the current infra/ first")
    return {name: outputs[output_key(name)] for name in SETTINGS}


def stack_outputs(stack: str, region: str | None = None, client: Any = None) -> dict[str, str]:
    """The deployed stack's outputs (CloudFormation DescribeStacks)."""
    if client is None:
        import boto3

        client = boto3.client("cloudformation", **({"region_name": region} if region else {}))
    [described] = client.describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def file_outputs(path: Path, stack: str) -> dict[str, str]:
    """The outputs the CDK CLI wrote (``cdk deploy --outputs-file``)."""
    return dict(json.loads(Path(path).read_text())[stack])


def render(settings: Mapping[str, str], fmt: str) -> str:
    lines: Iterable[str]
    if fmt == "env":
        lines = (f"{name}={value}" for name, value in settings.items())
    elif fmt == "shell":
        lines = [
            "#!/bin/sh",
            "# MWAA startup script: the imdb-elt settings from the stack's outputs",
            *(f"export {name}={shlex.quote(value)}" for name, value in settings.items()),
        ]
    else:
        raise ValueError(f"unknown format {fmt!r}: env | shell")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.outputs", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="imdb-elt")
    parser.add_argument("--region")
    parser.add_argument("--format", choices=["env", "shell"], default="env")
    parser.add_argument("--outputs-file", type=Path, help="JSON written by `cdk deploy --outputs-file`")
    args = parser.parse_args(argv)
    outputs = (
        file_outputs(args.outputs_file, args.stack)
        if args.outputs_file
        else stack_outputs(args.stack, args.region)
    )
    sys.stdout.write(render(settings_from_outputs(outputs), args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
