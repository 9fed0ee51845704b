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
