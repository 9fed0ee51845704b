"""The baseline every reliability check starts from: tiny generated inputs, one successful run.

Built once per test session (a run costs a JVM start, Spark and a dbt build) and cloned by
each destructive check with ``helpers.clone``; never modified in place.
"""

from __future__ import annotations

import pytest

from devtools import sample
from tests import fake_credentials
from tests.reliability.helpers import Site, excerpt, run_cli, table_checksums

#: ~600 titles, 5k principals: every file non-empty, dangling references present, seconds to clean.
SCALE = 0.00005
SEED = 7


@pytest.fixture(scope="session")
def baseline(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("reliability-baseline")
    site = Site(root / "raw", root / "lake", root / "wh" / "imdb.duckdb")
    rows = sample.generate(site.raw, scale=SCALE, seed=SEED)
    # Fake secrets in the run's environment, as a deployment hands them over: the secret scan
    # (test_secrets.py) looks for exactly these values in everything the run wrote.
    secrets = fake_credentials.environment()
    run = run_cli(site, timeout=1500, **secrets)
    print(f"\nbaseline run: exit {run.code} in {run.seconds:.1f} s; generated rows {rows}")
    if run.code != 0:
        pytest.fail(f"the baseline run failed; no reliability check can run:\n{excerpt(run.out)}")
    return {
        "site": site,
        "out": run.out,
        "seconds": run.seconds,
        "generated": rows,
        "secrets": secrets,
        "report": site.latest_report(),
        "marts": table_checksums(site.db),
        "audit": table_checksums(site.db, "marts_audit"),
    }


# ---- each check prints its figure; `make test` shows them all at the end ----------------------

_FIGURES: list[tuple[str, str]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Keep what a reliability check printed in this phase when it passed (dbt's echo aside)."""
    if not (report.nodeid.startswith("tests/reliability/") and report.passed):
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
    terminalreporter.section("reliability checks: figures")
    for where, text in _FIGURES:
        terminalreporter.write_line(where)
        for line in text.splitlines():
            terminalreporter.write_line(f"    {line}")
