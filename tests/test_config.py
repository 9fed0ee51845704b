"""Settings have one reader (imdb_elt/config.py), and every other place that names a default for
the same variable (profiles.yml, the dbt project, the scripts) names the same one."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from imdb_elt import config
from imdb_elt.config import DBT_PROJECT_DIR, REPO_ROOT

ENV_NAME = re.compile(r"env_var\(\s*'([A-Z0-9_]+)'")
ENV_VAR = re.compile(r"env_var\(\s*'([A-Z0-9_]+)'\s*(?:,\s*'([^']*)')?\s*\)")
#: profiles.yml placeholders for settings that have no default (the target fails clearly if used
#: without them); config leaves them empty.
PLACEHOLDERS = {"REDSHIFT_HOST": "redshift.invalid", "REDSHIFT_USER": "dbt"}


def _dbt_defaults() -> dict[str, set[str]]:
    """Every default given to env_var() in profiles.yml and the dbt project's sources."""
    found: dict[str, set[str]] = {}
    files = [REPO_ROOT / "profiles.yml", *DBT_PROJECT_DIR.glob("**/*.yml"), *DBT_PROJECT_DIR.glob("**/*.sql")]
    for path in files:
        if "target" in path.relative_to(DBT_PROJECT_DIR if path.is_relative_to(DBT_PROJECT_DIR)
                                        else REPO_ROOT).parts:
            continue
        for name, default in ENV_VAR.findall(path.read_text()):
            found.setdefault(name, set()).add(default)
    return found


@pytest.fixture
def defaults(monkeypatch: pytest.MonkeyPatch) -> config.Settings:
    for name in [*config.DBT_VARIABLES, *_dbt_defaults()]:
        monkeypatch.delenv(name, raising=False)
    return config.load()


def test_dbt_sees_the_defaults_config_has(defaults: config.Settings) -> None:
    dbt = _dbt_defaults()
    checked = []
    for name, attr in config.DBT_VARIABLES.items():
        if name not in dbt:
            continue
        ours = str(getattr(defaults, attr))
        if name == "DUCKDB_PATH":  # config resolves it from the repository root
            ours = str(Path(ours).relative_to(REPO_ROOT))
        expected = {PLACEHOLDERS.get(name, ours)} if ours == "" else {ours}
        assert dbt[name] == expected, f"{name}: dbt defaults {dbt[name]} but config.py {ours!r}"
        checked.append(name)
    assert {"DBT_TARGET", "IMDB_RAW_SCHEMA", "IMDB_AUDIT_SCHEMA", "IMDB_MARTS_SCHEMA", "REDSHIFT_DATABASE",
            "AWS_DEFAULT_REGION"} <= set(checked)


def test_every_project_setting_dbt_reads_comes_from_config() -> None:
    """A variable the dbt project reads is either a setting in config.DBT_VARIABLES or
    config.DEV_VARIABLES, a secret or connection detail of the profile (PG*, REDSHIFT_PASSWORD,
    AWS_PROFILE, DBT_THREADS), the person's login (USER, HOME: development defaults), or a
    hand-over of the run (IMDB_EXPECTED_ROWS, IMDB_ENV)."""
    outside = {"PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "REDSHIFT_PASSWORD", "AWS_PROFILE",
               "DBT_THREADS", "IMDB_EXPECTED_ROWS", "IMDB_ENV", "USER", "HOME"}
    read = set(_dbt_defaults()) | set(ENV_NAME.findall((REPO_ROOT / "profiles.yml").read_text()))
    unknown = read - set(config.DBT_VARIABLES) - set(config.DEV_VARIABLES) - outside
    assert not unknown, f"dbt reads {sorted(unknown)} that imdb_elt/config.py does not hand over"


def _render_profile(monkeypatch: pytest.MonkeyPatch, env: dict[str, str | None]) -> dict[str, dict]:
    """profiles.yml's outputs as dbt renders them under ``env`` (None: unset)."""
    import os

    import yaml
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    set_invocation_context(dict(os.environ))
    raw = yaml.safe_load((REPO_ROOT / "profiles.yml").read_text())
    return ProfileRenderer(cli_vars={}).render_data(raw["imdb_elt"]["outputs"])


def test_a_duckdb_that_has_spilled_still_opens_new_dbt_cursors(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    """dbt-duckdb runs ``SET`` for each of the profile's ``settings`` on every new cursor. DuckDB
    refuses to set ``temp_directory`` again once it has spilled there, which failed every model
    of the first SF=1 build; set once when the database opens, it cannot."""
    import duckdb

    env = {"IMDB_ENV": "prod", "DUCKDB_PATH": str(tmp_path / "w.duckdb"), "DUCKDB_MEMORY_LIMIT": "40MB",
           "DUCKDB_TEMP_DIRECTORY": None}
    duck = _render_profile(monkeypatch, env)["duckdb"]
    con = duckdb.connect(duck["path"], config=duck.get("config_options") or {})

    def new_cursor() -> duckdb.DuckDBPyConnection:  # as dbt-duckdb's initialize_cursor does
        cursor = con.cursor()
        for key, value in duck["settings"].items():
            cursor.execute(f"SET {key} = '{value}'")
        return cursor

    first = new_cursor()
    first.execute("CREATE TABLE t AS SELECT md5(i::VARCHAR) AS v FROM range(1500000) r(i)")
    assert first.execute("SELECT count(*) FROM (SELECT v FROM t ORDER BY v)").fetchone() == (1500000,)
    spilled = Path(duck["path"] + ".tmp")
    assert spilled.is_dir() and any(spilled.iterdir())  # the sort did spill
    assert new_cursor().execute("SELECT current_setting('temp_directory')").fetchone() == (str(spilled),)


@pytest.mark.parametrize("person", [
    {"USER": "Jane.Doe-2", "IMDB_DEV_SCHEMA": None, "HOME": "/home/jane", "IMDB_DEV_DUCKDB_PATH": None},
    {"USER": None, "IMDB_DEV_SCHEMA": None, "HOME": "/tmp/h", "IMDB_DEV_DUCKDB_PATH": None},
    {"USER": "jane", "IMDB_DEV_SCHEMA": "Sandbox", "HOME": "/h", "IMDB_DEV_DUCKDB_PATH": "/data/mine.duckdb"},
])
def test_development_builds_use_the_persons_schema_and_file(
    monkeypatch: pytest.MonkeyPatch, person: dict[str, str | None]
) -> None:
    """Without IMDB_ENV=prod the profile renders the person's own schema and DuckDB file, the
    same config.py computes; with it, the pipeline's file. Schemas then follow dbt's convention."""
    monkeypatch.setenv("DUCKDB_PATH", "/srv/imdb.duckdb")
    outputs = _render_profile(monkeypatch, {**person, "IMDB_ENV": None})
    settings = config.load()
    assert re.fullmatch(r"[a-z0-9_]+", settings.dev_schema)
    assert {o["schema"] for o in outputs.values()} == {settings.dev_schema}
    assert outputs["duckdb"]["path"] == settings.dev_duckdb_path != settings.duckdb_path
    assert outputs["duckdb"]["config_options"]["temp_directory"] == settings.dev_duckdb_path + ".tmp"
    if person["USER"] == "Jane.Doe-2":
        assert settings.dev_schema == "dbt_jane_doe_2"
        assert settings.dev_duckdb_path == "/home/jane/.imdb_elt/imdb_dev.duckdb"
    if person["IMDB_DEV_SCHEMA"]:
        assert settings.dev_schema == "sandbox" and settings.dev_duckdb_path == "/data/mine.duckdb"

    production = _render_profile(monkeypatch, {**person, "IMDB_ENV": "prod"})
    assert production["duckdb"]["path"] == "/srv/imdb.duckdb" == config.load().duckdb_path


def test_the_environment_dbt_gets_is_built_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMDB_MARTS_SCHEMA", "published")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.setenv("PGPASSWORD", "not-a-setting")
    env = config.dbt_environment(config.load())
    assert env["IMDB_MARTS_SCHEMA"] == "published" and env["AWS_DEFAULT_REGION"] == "eu-central-1"
    assert env["IMDB_ENV"] == "prod"
    assert "PGPASSWORD" not in env  # secrets stay in the process environment


def test_only_redshift_production_builds_run_the_unit_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI runs every unit test on DuckDB and PostgreSQL (tests/dbt), never on Redshift."""
    for target in ("duckdb", "postgres"):
        monkeypatch.setenv("DBT_TARGET", target)
        assert config.dbt_environment(config.load())["DBT_EXCLUDE_RESOURCE_TYPES"] == "unit_test"
    monkeypatch.setenv("DBT_TARGET", "redshift")
    assert "DBT_EXCLUDE_RESOURCE_TYPES" not in config.dbt_environment(config.load())


def test_the_lake_layout_has_one_home(defaults: config.Settings) -> None:
    """The pipeline's and the Spark job's paths come from imdb_elt/layout.py."""
    from imdb_elt import layout

    lake = defaults.lake_dir
    assert defaults.snapshot_dir("S") == layout.snapshot_dir(lake, "S") == f"{lake}/processed/snapshots/S"
    assert defaults.current_pointer == f"{lake}/processed/CURRENT"
    sources = "\n".join(p.read_text() for p in (REPO_ROOT / "spark_jobs").glob("*.py"))
    assert '"processed", "snapshots"' not in sources and "'processed', 'snapshots'" not in sources


def _pinned(package: str) -> str:
    for line in (REPO_ROOT / "requirements.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        if name.strip().lower() == package:
            return version.strip()
    raise AssertionError(f"{package} is not pinned in requirements.txt")


def test_the_pinned_pyspark_is_the_spark_of_the_emr_release(defaults: config.Settings) -> None:
    """Every test runs the Spark that production runs: the pin is the default release's Spark
    (AWS builds it as <version>-amzn), so nothing newer than that line can slip into the job."""
    import pyspark

    release = defaults.emr_release
    assert defaults.emr_release_label == config.DEFAULT_EMR_RELEASE_LABEL
    assert _pinned("pyspark") == release.spark
    assert pyspark.__version__ == release.spark, "the environment is stale: run `make setup`"
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in release.pythons


def test_a_release_that_cannot_run_the_job_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMDB_EMR_RELEASE_LABEL", "emr-7.5.0")  # Spark 3.5
    with pytest.raises(ValueError, match=r"emr-7\.5\.0.*needs Spark 4.*emr-spark-8\.0\.0"):
        _ = config.load().emr_release
