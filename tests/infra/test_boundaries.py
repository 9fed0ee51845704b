"""infra/ stays out of the product: nothing in it imports infra/, the Spark bundle holds none of
it, and the Airflow environment's requirements name only what the DAG needs at run time."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from imdb_elt import spark_bundle
from imdb_elt.config import REPO_ROOT

#: Packages that must never reach the Airflow environment (infra, tests, local Spark and warehouses).
NOT_IN_AIRFLOW = {
    "aws-cdk-lib",
    "constructs",
    "cdk-nag",
    "cfn-lint",
    "moto",
    "pytest",
    "pytest-timeout",
    "pyspark",
    "duckdb",
    "dbt-duckdb",
    "dbt-postgres",
    "playwright",
    "ruff",
    "imdb-sqlite",
    "matplotlib",
    "apache-airflow",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    return names | {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}


def test_nothing_in_the_product_imports_infra() -> None:
    files = [p for folder in ("imdb_elt", "spark_jobs", "dags") for p in (REPO_ROOT / folder).rglob("*.py")]
    assert len(files) > 30
    offenders = {
        str(p.relative_to(REPO_ROOT))
        for p in files
        if any(m == "infra" or m.startswith("infra.") for m in _imports(p))
    }
    assert offenders == set()


def test_the_spark_bundle_holds_no_infra_module() -> None:
    modules = spark_bundle.imported_modules()
    assert modules and not [m for m in modules if m.split(".")[0] not in spark_bundle.FIRST_PARTY]
    assert not [m for m in modules if m.startswith("infra")]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)(\[[^]]*\])?==(\S+)", line.strip())
        if m:
            pins[m.group(1).lower()] = m.group(3)
    return pins


def test_the_airflow_requirements_are_the_dags_run_time_only_with_the_projects_pins() -> None:
    airflow = _pins(REPO_ROOT / "requirements-airflow.txt")
    project = _pins(REPO_ROOT / "requirements.txt")
    assert {"apache-airflow-providers-amazon", "astronomer-cosmos", "dbt-core", "dbt-redshift"} <= set(
        airflow
    )
    assert not set(airflow) & NOT_IN_AIRFLOW
    assert {name: project.get(name) for name in airflow} == airflow  # one version of each, requirements.txt's
