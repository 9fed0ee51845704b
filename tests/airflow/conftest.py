"""Airflow test set-up: a throw-away AIRFLOW_HOME, set before anything imports Airflow.

Airflow reads its configuration once, at first import, so the environment is set here at
collection time (module level), not in a fixture. The metadata database is migrated once per
session, and only by the tests that need it (``airflow_db``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from imdb_elt.config import REPO_ROOT

AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="imdb-elt-airflow-test-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME}/airflow.db",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__COSMOS__CACHE_DIR": str(AIRFLOW_HOME / "cosmos"),
        "IMDB_DBT_MANIFEST_DIR": str(AIRFLOW_HOME / "dbt_manifest"),
        "IMDB_TASK_RETRIES": "0",  # a failing step fails the run now, not after backoff
        "IMDB_ACQUIRE": "false",
    }
)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the throw-away AIRFLOW_HOME (its logs help when something failed: then it stays)."""
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)
    else:
        print(f"\nAirflow's home, logs and metadata database kept in {AIRFLOW_HOME}")


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """`dbt parse` once per session, ahead of any DAG parse (as `make parse` does)."""
    from imdb_elt.orchestration.dbt_manifest import parse

    return parse()


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the test metadata database once per session."""
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run(
        [str(airflow), "db", "migrate"],
        check=True,
        timeout=300,
        capture_output=True,
        env={**os.environ, "PATH": f"{airflow.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    return AIRFLOW_HOME
