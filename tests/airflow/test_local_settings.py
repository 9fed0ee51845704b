"""The scheduler's warm start (imdb_elt/orchestration/local_settings.py): what it imports, where."""

from __future__ import annotations

import sys

from imdb_elt.orchestration import local_settings


def test_the_scheduler_imports_dbt_and_the_targets_adapter_before_it_forks(monkeypatch):
    monkeypatch.setenv("DBT_TARGET", "postgres")
    loaded = local_settings.preload_for_tasks(["/venv/bin/airflow", "scheduler"])
    assert loaded == [*local_settings.PRELOAD, "dbt.adapters.postgres"]
    assert all(name in sys.modules for name in loaded)


def test_components_that_fork_no_tasks_import_nothing():
    for component in ("api-server", "dag-processor", "triggerer", "standalone"):
        assert local_settings.preload_for_tasks(["airflow", component]) == []


def test_with_lineage_on_the_scheduler_also_imports_the_openlineage_listener(monkeypatch):
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "console")
    loaded = local_settings.preload_for_tasks(["/venv/bin/airflow", "scheduler"])
    assert loaded[-2:] == list(local_settings.LINEAGE_PRELOAD)
    assert all(name in sys.modules for name in local_settings.LINEAGE_PRELOAD)
