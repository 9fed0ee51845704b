"""Selective builds: a delivery of one file rebuilds and publishes only the models it reaches,
and the marts then equal a full rebuild of the same snapshot.

The hourly run's main cost is dbt; a new title.ratings must not rebuild and re-test the
credits, people and akas marts. Correctness is what matters here: the selective result is
compared, checksum by checksum and lineage columns included, with `run --rebuild`.
"""

from __future__ import annotations

import pytest

from devtools import sample
from tests.reliability.conftest import SCALE, SEED
from tests.reliability.helpers import clone, excerpt, run_cli, table_checksums

pytestmark = [pytest.mark.slow]

RATINGS = "title.ratings.tsv.gz"
#: Marts that do not read title.ratings (dbt ls --select source:imdb.title_ratings+ lists the others).
NOT_REACHED_BY_RATINGS = (
    "bridge_title_genres", "dim_people", "dim_title_akas",
    "dim_titles", "fct_episodes", "fct_title_principals",
)  # fmt: skip


@pytest.fixture(scope="module")
def selective(baseline, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("selective")
    site = clone(baseline["site"], root / "site")
    snapshot1 = root / "snapshot1"
    sample.generate(snapshot1, scale=SCALE, seed=SEED, snapshot=1, changed_fraction=0.5, inputs=[RATINGS])
    (site.raw / RATINGS).write_bytes((snapshot1 / RATINGS).read_bytes())
    steps: dict = {"site": site}
    steps["run"], steps["report"] = run_cli(site), site.latest_report()
    steps["marts"], steps["audit"] = table_checksums(site.db), table_checksums(site.db, "marts_audit")
    steps["rebuild"], steps["rebuild_report"] = run_cli(site, "--rebuild"), site.latest_report()
    steps["rebuilt_marts"] = table_checksums(site.db)
    for name in ("report", "rebuild_report"):
        dbt = steps[name]["dbt"]
        print(f"\n{name}: {dbt['models_ok']} models, {dbt['tests_passed']} tests, dbt {dbt['seconds']} s, "
              f"run {steps[name]['seconds']} s, selected {dbt['selected']}")  # fmt: skip
    return steps


@pytest.mark.timeout(3600)
def test_a_ratings_delivery_rebuilds_only_what_reads_ratings(baseline, selective):
    run, rep = selective["run"], selective["report"]
    assert run.code == 0, excerpt(run.out)
    assert rep["status"] == "success" and rep["new_deliveries"] == [RATINGS]
    assert rep["selection"]["selectors"] == ["source:imdb.title_ratings+", "state:modified+"]
    assert rep["dbt"]["selected"] == rep["selection"]["models"]
    assert "fct_title_ratings" in rep["dbt"]["selected"]
    assert 0 < rep["dbt"]["models_ok"] < selective["rebuild_report"]["dbt"]["models_ok"]
    assert "selective build" in run.out
    # dbt ls picked the selection while the Spark job ran, not in detect, and printed nothing.
    assert rep["step_seconds"]["detect"] < rep["selection"]["seconds"]
    assert not set(run.out.splitlines()) & set(rep["selection"]["models"]), excerpt(run.out)
    marts = selective["marts"]
    for name in NOT_REACHED_BY_RATINGS:
        assert marts[name] == baseline["marts"][name], f"{name} changed without a delivery that feeds it"
    assert marts["fct_title_ratings"] != baseline["marts"]["fct_title_ratings"]
    # Write-audit-publish still holds: what was published is what was tested. (On DuckDB the
    # audit schema also holds the tables behind both schemas' views, <mart>__published.)
    assert marts == {name: selective["audit"][name] for name in marts}


@pytest.mark.timeout(3600)
def test_selective_marts_equal_a_full_rebuild_of_the_same_snapshot(selective):
    rebuild, rep = selective["rebuild"], selective["rebuild_report"]
    assert rebuild.code == 0, excerpt(rebuild.out)
    assert rep["dbt"]["selected"] == "all"
    assert selective["rebuilt_marts"] == selective["marts"]
    print(f"full rebuild equals the selective build: {len(selective['marts'])} marts, "
          "lineage columns included")
