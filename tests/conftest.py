"""Shared test set-up: quiet, offline tools, and the fixtures every suite may use."""

from __future__ import annotations

import os

# Offline and quiet: no telemetry calls out of this machine during tests.
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

pytest_plugins = ["tests.fixtures.postgres", "tests.fixtures.airflow_server", "tests.fixtures.aws"]
