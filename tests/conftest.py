"""Shared test set-up: quiet, offline tools, and the fixtures every suite may use."""

from __future__ import annotations

import os

import pytest

# Offline and quiet: no telemetry calls out of this machine during tests.
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

pytest_plugins = [
    "tests.fixtures.postgres",
    "tests.fixtures.airflow_server",
    "tests.fixtures.aws",
    "tests.fixtures.sample_site",
    "tests.fixtures.spark",
    "tests.fixtures.alert_receivers",
]

# ---- the figures some suites print (timings, counts); `make test` shows them all at the end ----

#: Suites whose passing tests print figures worth reading in the summary.
FIGURE_SUITES = ("tests/reliability/", "tests/airflow/test_scheduler_", "tests/browser/")
_FIGURES: list[tuple[str, str]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Keep what such a test printed in this phase when it passed (dbt's echo aside)."""
    if not (report.nodeid.startswith(FIGURE_SUITES) and report.passed):
        return
    for section, text in report.sections:
        if section != f"Captured stdout {report.when}":
            continue
        lines = [line for line in text.splitlines() if line.strip() and " dbt | " not in line]
        if lines:
            _FIGURES.append((f"{report.nodeid} ({report.when})", "\n".join(lines)))


def pytest_terminal_summary(terminalreporter) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("figures printed by the reliability, scheduler and browser tests")
    for where, text in sorted(_FIGURES):
        terminalreporter.write_line(where)
        for line in text.splitlines():
            terminalreporter.write_line(f"    {line}")
