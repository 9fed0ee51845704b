"""Shared test set-up: quiet, offline tools, and the fixtures every suite may use."""

from __future__ import annotations

import os

import pytest

# Offline and quiet: no telemetry calls out of this machine during tests.
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

pytest_plugins = ["tests.fixtures.postgres", "tests.fixtures.airflow_server", "tests.fixtures.aws"]

#: Tests that share one expensive session fixture stay on one xdist worker, or each worker would
#: build its own: the Airflow server (scheduler and browser tests), the reliability baseline run.
XDIST_GROUPS = {
    "tests/airflow/test_scheduler_": "airflow-server",
    "tests/browser/": "airflow-server",
    "tests/reliability/": "reliability-baseline",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for prefix, group in XDIST_GROUPS.items():
            if item.nodeid.startswith(prefix):
                item.add_marker(pytest.mark.xdist_group(group))
