"""The run report carries the count of every warn-severity test (plausibility checks, dangling
references), read by the runner from dbt's run_results.json. A stand-in dbt writes the file."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from imdb_elt import dbt_runner, report
from imdb_elt.config import Settings

RESULTS = {
    "elapsed_time": 1.5,
    "results": [
        {"unique_id": "model.imdb_elt.dim_people", "status": "success", "failures": None},
        {"unique_id": "test.imdb_elt.not_after_current_year_dim_titles_start_year.1a", "status": "warn",
         "failures": 3},
        {"unique_id": "test.imdb_elt.expression_is_true_dim_people_death_year_birth_year.2b",
         "status": "warn", "failures": 1},
        {"unique_id": "test.imdb_elt.unique_dim_titles_tconst.3c", "status": "pass", "failures": 0},
    ],
}  # fmt: skip


class StandInRunner:
    """dbt's dbtRunner as the runner calls it: writes run_results.json where it is told to."""

    def __init__(self, callbacks=None) -> None:
        self.callbacks = callbacks

    def invoke(self, args: list[str]) -> SimpleNamespace:
        target = Path(args[args.index("--target-path") + 1])
        target.mkdir(parents=True, exist_ok=True)
        (target / "run_results.json").write_text(json.dumps(RESULTS))
        return SimpleNamespace(success=True, exception=None, result=None)


def test_run_report_counts_rows_per_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dbt.cli.main

    monkeypatch.setattr(dbt.cli.main, "dbtRunner", StandInRunner)
    settings = Settings(dbt_target="duckdb", dbt_target_path=str(tmp_path / "target"))

    outcome = dbt_runner.run_dbt(settings, ["build"], log_path=str(tmp_path / "logs"), echo=lambda _: None)

    summary = report.dbt_summary(outcome.results, outcome.seconds, None)
    assert summary["tests_warned"] == 2
    assert summary["warnings"] == {
        "expression_is_true_dim_people_death_year_birth_year": 1,
        "not_after_current_year_dim_titles_start_year": 3,
    }
    rep = {"run_id": "r1", "status": "success", "dbt_target": "duckdb", "dbt": summary}
    assert "warn not_after_current_year_dim_titles_start_year: 3 row(s)" in report.format_summary(rep)
