"""`make check-mwaa`: does the DAG import and render under MWAA's Airflow, offline?

Builds a virtual environment of its own (``.venv-mwaa/``) with MWAA's Python and the
``apache-airflow`` version the MWAA stack names (infra.options: 3.0.6, Python 3.12 on MWAA),
installs requirements-airflow.txt beside it from PyPI (MWAA's constraints file cannot be
fetched from here, so pip resolves freely), then parses dags/ with the production settings
(IMDB_SPARK_MODE=emr-serverless, DBT_TARGET=redshift) the way MWAA's DAG processor would: a
DagBag of the DAG folder, with the project's packages importable as they are from MWAA's dags/.

Prints what it checked and what it could not. Not part of `make test`: installing Airflow takes
minutes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from infra.options import InfraOptions

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv-mwaa"
MWAA_PYTHON = "3.12"
#: What the check runs inside the MWAA-like environment.
PARSE = r"""
import json, os, sys
import airflow
try:
    from airflow.dag_processing.dagbag import DagBag  # Airflow 3.1+
except ImportError:
    from airflow.models.dagbag import DagBag  # Airflow 3.0
from imdb_elt.orchestration.dbt_manifest import ensure_manifest
# The manifest is built before the DAG is deployed (make parse), as it must be on MWAA: a
# `dbt parse` inside the DAG processor would pass MWAA's 30 s import timeout.
ensure_manifest(os.environ["IMDB_DBT_MANIFEST_DIR"])
bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags.get("imdb_elt_hourly")
print(json.dumps({
    "airflow": airflow.__version__, "python": sys.version.split()[0],
    "import_errors": {k: v.splitlines()[-1] for k, v in bag.import_errors.items()},
    "tasks": sorted(t.task_id for t in dag.tasks if not t.task_id.startswith("dbt.")) if dag else None,
    "dbt_tasks": len([t for t in dag.tasks if t.task_id.startswith("dbt.")]) if dag else None,
}, indent=1))
"""


def _python() -> str:
    found = shutil.which(f"python{MWAA_PYTHON}")
    if not found:
        raise SystemExit(f"python{MWAA_PYTHON} (MWAA's Python) is not on PATH: install it to run this check")
    return found


def main() -> int:
    version = InfraOptions().mwaa_airflow_version
    uv = REPO / ".venv" / "bin" / "uv"
    if not (VENV / "bin" / "python").exists():
        subprocess.run([str(uv), "venv", "-q", "--python", _python(), str(VENV)], check=True)
    subprocess.run(
        [
            str(uv),
            "pip",
            "install",
            "-q",
            "--python",
            str(VENV / "bin" / "python"),
            f"apache-airflow=={version}",
            "-r",
            str(REPO / "requirements-airflow.txt"),
        ],
        check=True,
    )
    with tempfile.TemporaryDirectory(prefix="imdb-elt-mwaa-") as home:
        env = {
            "PATH": f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": home,
            "AIRFLOW_HOME": home,
            "PYTHONPATH": str(REPO),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            "AIRFLOW__COSMOS__CACHE_DIR": f"{home}/cosmos",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            "IMDB_DBT_MANIFEST_DIR": f"{home}/manifest",
            # The production path, as the stack's outputs set it (infra.outputs).
            "IMDB_SPARK_MODE": "emr-serverless",
            "DBT_TARGET": "redshift",
            "IMDB_RAW_DIR": "s3://raw",
            "IMDB_LAKE_DIR": "s3://lake",
            "IMDB_SPARK_CODE_URI": "s3://code/spark",
            "IMDB_EMR_SERVERLESS_APP_ID": "00check",
            "IMDB_EMR_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/job",
            "REDSHIFT_IAM_ROLE_ARN": "arn:aws:iam::123456789012:role/redshift",
            "REDSHIFT_WORKGROUP": "imdb-elt",
            "REDSHIFT_HOST": "imdb-elt.123456789012.eu-west-1.redshift-serverless.amazonaws.com",
        }
        result = subprocess.run(
            [str(VENV / "bin" / "python"), "-c", PARSE, str(REPO / "dags")],
            env=env,
            capture_output=True,
            text=True,
        )
    print(result.stdout or result.stderr[-4000:])
    print(
        "Checked: the DAG file imports and renders (tasks, dbt task group) under the Airflow and Python "
        "MWAA runs, with the providers, Cosmos and dbt from requirements-airflow.txt.\n"
        "Not checked: MWAA's constraints file (not reachable; pip resolved without it), MWAA's own "
        "image and plugins, the tasks running (scheduler, workers, triggerer), the startup script, "
        "network paths to S3, EMR Serverless and Redshift."
    )
    ok = result.returncode == 0 and '"import_errors": {}' in result.stdout
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
