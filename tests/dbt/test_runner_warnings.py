"""The run report carries the count of every warn-severity test (plausibility checks, dangling
references), read by the runner from dbt's run_results.json. A stand-in `dbt` writes the file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

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

FAKE_DBT = """#!{python}
import json, pathlib, sys
target = pathlib.Path(sys.argv[sys.argv.index("--target-path") + 1])
target.mkdir(parents=True, exist_ok=True)
(target / "run_results.json").write_text({results!r})
"""


def test_run_report_counts_rows_per_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "dbt"
    fake.write_text(FAKE_DBT.format(python=sys.executable, results=json.dumps(RESULTS)))
    fake.chmod(0o755)
    monkeypatch.setattr(dbt_runner, "dbt_executable", lambda: str(fake))
    settings = Settings(dbt_target="duckdb", dbt_target_path=str(tmp_path / "target"))

    outcome = dbt_runner.run_dbt(settings, ["build"], echo=False)

    summary = report.dbt_summary(outcome)
    assert summary["tests_warned"] == 2
    assert summary["warnings"] == {
        "expression_is_true_dim_people_death_year_birth_year": 1,
        "not_after_current_year_dim_titles_start_year": 3,
    }
    rep = {**report.new_report("r1", settings), "status": "success", "dbt": summary}
    assert "not_after_current_year_dim_titles_start_year=3" in report.format_summary(rep)
