"""Airflow local settings for imdb-elt under the LocalExecutor (`make airflow` installs them).

The LocalExecutor forks its worker processes from the scheduler when it starts, and each task is
a fork of a worker that parses the DAG file and runs. Whatever the scheduler imported before
that, every task inherits instead of importing it again:

- dbt and the target's adapter: the stage, producer, tests and publish tasks run dbt in-process;
- boto3, which the Amazon provider's Asset URI handlers load at every parse of the DAG file;
- FastAPI, which Cosmos' UI plugin loads when a task first reads the dbt manifest;
- with an OpenLineage transport configured, the OpenLineage client and the provider's listener,
  which its plugin imports in every task otherwise (about 0.8 s each).

Only modules that import cleanly while Airflow itself is still being set up: third-party ones,
and the OpenLineage provider's listener (run under the scheduler by the tests/airflow suites). Other Airflow
components (API server, DAG processor, triggerer) fork no tasks and skip it.
"""

from __future__ import annotations

import importlib
import sys

from imdb_elt.config import load
from imdb_elt.lineage import configured

#: Imported once in the scheduler; the adapter's module is added for the configured target.
PRELOAD = ("boto3", "fastapi", "dbt.cli.main")
#: Added when OpenLineage is on (imdb_elt.lineage.configured).
LINEAGE_PRELOAD = ("openlineage.client", "airflow.providers.openlineage.plugins.listener")

__all__: list[str] = []  # overrides none of Airflow's settings


def preload_for_tasks(argv: list[str]) -> list[str]:
    """Import PRELOAD (and the dbt adapter) in the scheduler; the modules it loaded."""
    if argv[1:2] != ["scheduler"]:
        return []
    loaded = []
    lineage_modules = LINEAGE_PRELOAD if configured() else ()
    for name in (*PRELOAD, f"dbt.adapters.{load().dbt_target}", *lineage_modules):
        try:
            importlib.import_module(name)
        except ImportError:  # an optional extra not installed: the task imports what it needs
            continue
        loaded.append(name)
    return loaded


preload_for_tasks(sys.argv)
