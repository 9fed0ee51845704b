"""Redshift Spectrum staging (REDSHIFT_STAGING=spectrum): DDL text, catalogue types, Glue, Data API.

The expected types are literals (tests/warehouse/redshift_expected.py); the Glue Data Catalog and
the Redshift Data API are moto's. No statement is executed by a real Redshift here: what a
cluster would do with them is modelled by ``SpectrumCatalog`` (the external tables a reader can
see, changed one autocommitted statement at a time).
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
import sqlglot
from sqlglot import exp

from imdb_elt import config
from imdb_elt.warehouse.redshift_data import run_each_dbapi
from imdb_elt.warehouse.redshift_loader import RedshiftOptions, redshift_options, stage_redshift
from imdb_elt.warehouse.spectrum import (
    ExternalTable,
    SpectrumSchemaError,
    create_external_table_sql,
    external_schema_sql,
    read_external_tables,
    render_spectrum_statements,
)
from tests.moto_redshift import count_records, patch_redshift_data
from tests.warehouse.redshift_expected import COLUMNS, DATASETS

REGION = "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/imdb-spectrum"
LAKE = "s3://imdb-lake/lake/processed"
EMPTY = f"{LAKE}/empty"
SNAP_A = f"{LAKE}/snapshots/20260301T000000000000Z"
SNAP_B = f"{LAKE}/snapshots/20260302T000000000000Z"
SCHEMA_SQL = (
    "CREATE EXTERNAL SCHEMA IF NOT EXISTS \"raw_ext\" FROM DATA CATALOG DATABASE 'imdb_elt_raw' "
    f"IAM_ROLE '{ROLE}' CREATE EXTERNAL DATABASE IF NOT EXISTS"
)


def _snapshot(base: str, datasets: list[str] = DATASETS) -> dict[str, str]:
    return {d: f"{base}/{d}" for d in datasets}


# ---- rendering ----------------------------------------------------------------------------------


def test_external_schema_comes_from_the_glue_catalog_with_the_role() -> None:
    assert external_schema_sql("raw_ext", "imdb_elt_raw", ROLE) == SCHEMA_SQL
    # sqlglot has no grammar for CREATE EXTERNAL SCHEMA: it keeps the text as one command, so
    # the literal above (Redshift's documented syntax) is the check.
    assert isinstance(sqlglot.parse_one(SCHEMA_SQL, dialect="redshift"), exp.Command)
    with pytest.raises(ValueError, match="access keys are refused"):
        external_schema_sql("raw_ext", "imdb_elt_raw", "AKIA" + "A" * 16)
    with pytest.raises(ValueError, match="invalid SQL identifier"):
        external_schema_sql("raw_ext", "imdb'; drop", ROLE)


@pytest.mark.parametrize("dataset", DATASETS)
def test_external_table_ddl_parses_with_the_catalogue_types(dataset: str) -> None:
    sql = create_external_table_sql("raw_ext", dataset, f"{SNAP_A}/{dataset}")
    tree = sqlglot.parse_one(sql, dialect="redshift")
    assert isinstance(tree, exp.Create) and tree.kind == "TABLE"
    props = {type(p).__name__: p for p in tree.args["properties"].expressions}
    assert set(props) == {"ExternalProperty", "FileFormatProperty", "LocationProperty"}
    assert props["FileFormatProperty"].this.name == "PARQUET"
    assert props["LocationProperty"].this.name == f"{SNAP_A}/{dataset}/"
    assert (tree.this.this.db, tree.this.this.name) == ("raw_ext", dataset)
    columns = [(c.name, c.args["kind"]) for c in tree.this.expressions]
    expected = [
        (name, exp.DataType.build(spectrum, dialect="redshift")) for name, _, spectrum, _ in COLUMNS[dataset]
    ]
    assert columns == expected
    # arrays and decimals, spelled exactly as Redshift documents them
    for name, _, spectrum, _ in COLUMNS[dataset]:
        assert f'"{name}" {spectrum}' in sql


def test_external_table_ddl_text_exact() -> None:
    assert create_external_table_sql("raw_ext", "title_ratings", f"{SNAP_A}/title_ratings") == (
        'CREATE EXTERNAL TABLE "raw_ext"."title_ratings" ("tconst" VARCHAR(65535), '
        '"averageRating" DECIMAL(3,1), "numVotes" BIGINT, "_snapshot_id" VARCHAR(65535), '
        f"\"_loaded_at\" TIMESTAMP) STORED AS PARQUET LOCATION '{SNAP_A}/title_ratings/'"
    )


def test_missing_datasets_get_an_empty_table_and_hostile_locations_are_refused() -> None:
    plan = render_spectrum_statements(
        "raw_ext", "imdb_elt_raw", ROLE, _snapshot(SNAP_A, ["title_basics"]), {}, EMPTY
    )
    assert len(plan.tables) == 8
    assert plan.tables[0].endswith(f"LOCATION '{SNAP_A}/title_basics/'")
    assert plan.tables[-1].endswith(f"LOCATION '{EMPTY}/movie_metadata/'")
    with pytest.raises(ValueError, match="invalid S3 URI"):
        render_spectrum_statements(
            "raw_ext", "db", ROLE, {"title_basics": "s3://b/x' IAM_ROLE 'y"}, {}, EMPTY
        )
    with pytest.raises(ValueError, match="invalid S3 URI"):  # a local lake has no Spectrum path
        render_spectrum_statements("raw_ext", "db", ROLE, {}, {}, "/tmp/lake/processed/empty")
    with pytest.raises(ValueError, match="unknown datasets"):
        render_spectrum_statements("raw_ext", "db", ROLE, {"title_basic": SNAP_A}, {}, EMPTY)


# ---- no moment without a table --------------------------------------------------------------------


class SpectrumCatalog:
    """The external tables a reader can see, changed by one autocommitted statement at a time."""

    def __init__(self) -> None:
        self.schemas: set[str] = set()
        self.tables: dict[str, str] = {}  # "schema.table" -> location

    def apply(self, sql: str) -> None:
        tree = sqlglot.parse_one(sql, dialect="redshift")
        if isinstance(tree, exp.Command):
            text = str(tree.expression).strip()
            assert text.startswith("EXTERNAL SCHEMA IF NOT EXISTS"), sql
            self.schemas.add(text.split('"')[1])
        elif isinstance(tree, exp.Create):
            table = tree.this.this
            name = f"{table.db}.{table.name}"
            assert table.db in self.schemas, f"{name}: no external schema"
            assert name not in self.tables, f"{name} already exists"
            location = next(
                p for p in tree.args["properties"].expressions if isinstance(p, exp.LocationProperty)
            )
            self.tables[name] = location.this.name
        elif isinstance(tree, exp.Alter):
            name = f"{tree.this.db}.{tree.this.name}"
            assert name in self.tables, f"{name} does not exist"
            (action,) = tree.args["actions"]
            self.tables[name] = action.args["location"].name
        elif isinstance(tree, exp.Drop):
            for table in tree.args["tables"]:
                self.tables.pop(f"{table.db}.{table.name}", None)
        else:
            raise AssertionError(f"unexpected statement {sql}")


def _windows(
    catalog: SpectrumCatalog, statements: list[str], before: dict[str, str], after: dict[str, str]
) -> list[str]:
    """Apply statements one by one; after each, every table must exist at its old or new location."""
    problems = []
    for sql in statements:
        catalog.apply(sql)
        for name, old in before.items():
            seen = catalog.tables.get(name)
            if seen not in (old, after[name]):
                problems.append(f"after {sql[:60]!r}: {name} is {seen!r}")
    return problems


def _existing(catalog: SpectrumCatalog) -> dict[str, ExternalTable]:
    return {
        name.split(".")[1]: ExternalTable(
            name.split(".")[1], location, tuple(c[0].lower() for c in COLUMNS[name.split(".")[1]])
        )
        for name, location in catalog.tables.items()
    }


def test_moving_to_a_new_snapshot_never_leaves_a_window_without_a_table() -> None:
    catalog = SpectrumCatalog()
    first = render_spectrum_statements("raw_ext", "imdb_elt_raw", ROLE, _snapshot(SNAP_A), {}, EMPTY)
    for sql in first.statements:
        catalog.apply(sql)
    at_a = {f"raw_ext.{d}": f"{SNAP_A}/{d}/" for d in DATASETS}
    assert catalog.tables == at_a

    # Snapshot B re-delivers two datasets; the others carry forward (their location stays).
    moved = {
        **_snapshot(SNAP_A),
        "title_basics": f"{SNAP_B}/title_basics",
        "title_akas": f"{SNAP_B}/title_akas",
    }
    second = render_spectrum_statements("raw_ext", "imdb_elt_raw", ROLE, moved, _existing(catalog), EMPTY)
    assert [s.split()[0] for s in second.tables] == ["ALTER"] * 8  # never DROP, never CREATE again
    at_b = {f"raw_ext.{d}": f"{moved[d]}/" for d in DATASETS}
    assert _windows(catalog, second.statements, at_a, at_b) == []
    assert catalog.tables == at_b

    # A rerun of the same move (a retried task) changes nothing and still leaves no window.
    again = render_spectrum_statements("raw_ext", "imdb_elt_raw", ROLE, moved, _existing(catalog), EMPTY)
    assert _windows(catalog, again.statements, at_b, at_b) == []


def test_the_window_check_catches_drop_and_create() -> None:
    """The check above can fail: the DROP + CREATE a naive move would run leaves a gap."""
    catalog = SpectrumCatalog()
    for sql in render_spectrum_statements(
        "raw_ext", "imdb_elt_raw", ROLE, _snapshot(SNAP_A), {}, EMPTY
    ).statements:
        catalog.apply(sql)
    before = {"raw_ext.title_ratings": f"{SNAP_A}/title_ratings/"}
    after = {"raw_ext.title_ratings": f"{SNAP_B}/title_ratings/"}
    naive = [
        'DROP TABLE IF EXISTS "raw_ext"."title_ratings"',
        create_external_table_sql("raw_ext", "title_ratings", f"{SNAP_B}/title_ratings"),
    ]
    assert _windows(catalog, naive, before, after) == [
        'after \'DROP TABLE IF EXISTS "raw_ext"."title_ratings"\': raw_ext.title_ratings is None'
    ]


# ---- the Glue Data Catalog (moto) ------------------------------------------------------------------


@pytest.fixture
def aws(mocked_aws: None) -> Any:
    return boto3.client("glue", region_name=REGION)


def register(glue: Any, dataset: str, location: str, columns: list[str] | None = None) -> None:
    """What Redshift's CREATE EXTERNAL TABLE leaves in Glue: lower-cased column names."""
    names = columns or [c[0] for c in COLUMNS[dataset]]
    glue.create_table(
        DatabaseName="imdb_elt_raw",
        TableInput={
            "Name": dataset,
            "TableType": "EXTERNAL_TABLE",
            "StorageDescriptor": {
                "Location": location,
                "Columns": [{"Name": n.lower(), "Type": "string"} for n in names],
            },
        },
    )


def test_the_glue_catalog_decides_create_or_set_location(aws: Any) -> None:
    assert read_external_tables(aws, "imdb_elt_raw") == {}  # no database yet: first run
    aws.create_database(DatabaseInput={"Name": "imdb_elt_raw"})
    register(aws, "title_basics", f"{SNAP_A}/title_basics/")
    register(aws, "title_ratings", f"{SNAP_A}/title_ratings/")
    existing = read_external_tables(aws, "imdb_elt_raw")
    assert existing["title_ratings"] == ExternalTable(
        "title_ratings",
        f"{SNAP_A}/title_ratings/",
        ("tconst", "averagerating", "numvotes", "_snapshot_id", "_loaded_at"),
    )
    plan = render_spectrum_statements("raw_ext", "imdb_elt_raw", ROLE, _snapshot(SNAP_B), existing, EMPTY)
    assert plan.tables[:2] == (
        f'ALTER TABLE "raw_ext"."title_basics" SET LOCATION \'{SNAP_B}/title_basics/\'',
        f'ALTER TABLE "raw_ext"."title_ratings" SET LOCATION \'{SNAP_B}/title_ratings/\'',
    )
    assert all(s.startswith('CREATE EXTERNAL TABLE "raw_ext".') for s in plan.tables[2:])


def test_a_changed_column_list_is_refused_with_the_way_out(aws: Any) -> None:
    aws.create_database(DatabaseInput={"Name": "imdb_elt_raw"})
    register(aws, "title_ratings", f"{SNAP_A}/title_ratings/", ["tconst", "averageRating", "_snapshot_id"])
    existing = read_external_tables(aws, "imdb_elt_raw")
    with pytest.raises(SpectrumSchemaError, match=r'DROP TABLE "raw_ext"\."title_ratings"'):
        render_spectrum_statements("raw_ext", "imdb_elt_raw", ROLE, _snapshot(SNAP_B), existing, EMPTY)


# ---- execution: one Data API statement at a time -----------------------------------------------------


def _options(monkeypatch: pytest.MonkeyPatch) -> RedshiftOptions:
    for key, value in {
        "REDSHIFT_STAGING": "spectrum",
        "REDSHIFT_IAM_ROLE_ARN": ROLE,
        "REDSHIFT_CLUSTER_ID": "imdb",
        "REDSHIFT_DB_USER": "loader",
        "REDSHIFT_DATABASE": "dev",
        "IMDB_LAKE_DIR": "s3://imdb-lake/lake",
    }.items():
        monkeypatch.setenv(key, value)
    options = redshift_options(config.load())
    assert (options.staging, options.glue_database, options.empty_prefix) == (
        "spectrum",
        "imdb_elt_raw",
        EMPTY,
    )
    return RedshiftOptions(**{**options.__dict__, "poll_seconds": 0})


def test_spectrum_staging_runs_each_statement_alone_through_the_data_api(aws, monkeypatch) -> None:
    options = _options(monkeypatch)
    api = patch_redshift_data(monkeypatch, REGION)
    api["records"] = count_records(dict.fromkeys(DATASETS, 3))
    client = boto3.client("redshift-data", region_name=REGION)

    counts = stage_redshift("raw_ext", _snapshot(SNAP_A, DATASETS[:7]), options, client=client, glue=aws)
    assert counts == dict.fromkeys(DATASETS, 3)
    kinds = [kind for kind, _, _ in api["calls"]]
    assert kinds == ["execute"] * 10  # schema, 8 tables, count: never a batch (a transaction)
    sqls = [sql for _, sql, _ in api["calls"]]
    assert sqls[0] == SCHEMA_SQL
    assert [s.split('"')[3] for s in sqls[1:9]] == DATASETS
    assert all(s.startswith("CREATE EXTERNAL TABLE") for s in sqls[1:9])
    assert sqls[8].endswith(f"LOCATION '{EMPTY}/movie_metadata/'")
    assert sqls[9].startswith("SELECT 'title_basics' AS dataset, COUNT(*) AS row_count FROM \"raw_ext\".")
    assert {target["cluster"] for _, _, target in api["calls"]} == {"imdb"}

    # Redshift created the Glue database and registered the tables; the next snapshot moves them.
    aws.create_database(DatabaseInput={"Name": "imdb_elt_raw"})
    for sql in sqls[1:9]:
        dataset = sql.split('"')[3]
        register(aws, dataset, sql.rsplit("LOCATION ", 1)[1].strip("'"))
    api["calls"].clear()
    stage_redshift("raw_ext", {"title_ratings": f"{SNAP_B}/title_ratings"}, options, client=client, glue=aws)
    assert [sql for _, sql, _ in api["calls"]][:3] == [
        SCHEMA_SQL,
        f'ALTER TABLE "raw_ext"."title_basics" SET LOCATION \'{EMPTY}/title_basics/\'',
        f'ALTER TABLE "raw_ext"."title_ratings" SET LOCATION \'{SNAP_B}/title_ratings/\'',
    ]


def test_a_failed_statement_stops_the_spectrum_staging(aws, monkeypatch) -> None:
    options = _options(monkeypatch)
    api = patch_redshift_data(monkeypatch, REGION)
    api["status"] = "FAILED"
    client = boto3.client("redshift-data", region_name=REGION)
    with pytest.raises(RuntimeError, match="FAILED"):
        stage_redshift("raw_ext", _snapshot(SNAP_A), options, client=client, glue=aws)
    assert [sql for _, sql, _ in api["calls"]] == [SCHEMA_SQL]  # nothing after the failure


class AutocommitConnection:
    def __init__(self) -> None:
        self.autocommit = False
        self.executed: list[tuple[str, bool]] = []

    def cursor(self) -> AutocommitConnection:
        return self

    def execute(self, sql: str) -> None:
        self.executed.append((sql, self.autocommit))

    def close(self) -> None:
        pass


def test_the_connector_runs_external_ddl_in_autocommit() -> None:
    conn = AutocommitConnection()
    run_each_dbapi(conn, ["A", "B"])
    assert conn.executed == [("A", True), ("B", True)]  # no transaction block around external DDL
    assert conn.autocommit is False  # restored for the COPY path's single transaction


def test_the_loaders_share_their_data_api_helpers_without_importing_each_other() -> None:
    """One home for the Data API helpers (redshift_data); the COPY loader may dispatch to the
    Spectrum one, never the reverse, so neither module needs the other to be importable first."""
    import ast
    from pathlib import Path

    from imdb_elt.warehouse import redshift_data, spectrum

    def imported(module) -> set[str]:
        tree = ast.parse(Path(module.__file__).read_text())
        return {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}

    assert "imdb_elt.warehouse.redshift_loader" not in imported(spectrum)
    assert "imdb_elt.warehouse.redshift_data" in imported(spectrum)
    assert not {m for m in imported(redshift_data) if m.endswith(("redshift_loader", "spectrum"))}
