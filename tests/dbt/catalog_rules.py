"""Which dbt tests could fail on a row the cleaning rules accept: read from dbt's manifest.

The cleaning rules live in the Spark layer (``spark_jobs.rules.column_rules`` over
``imdb_elt.catalog``). A dbt test that gates publication (severity error) may only assert what
those rules guarantee, or the marts' own logic; anything else must warn. For every
error-severity test, this module traces the tested columns back to the raw columns they are
computed from (sqlglot's column lineage over the compiled SQL of the model and everything
upstream) and checks the test against the rules of those raw columns:

- ``value_between`` must state exactly the rule's range (same minimum and maximum);
- ``not_null`` (test or contract constraint) only on columns whose raw columns are required;
- ``unique``/``unique_combination`` only on columns that carry a dataset's natural key;
- ``relationships`` only towards a column computed from the same raw columns or more;
- anything else (``accepted_values``, plausibility checks) only on columns computed from no raw
  column at all.

A column computed from no raw column (a rank, a count, a literal) is the model's own logic and
is not checked. Model logic that lineage cannot see (a filter) is listed in ``EXEMPTIONS`` with
the SQL that provides the guarantee; the check requires that SQL to be in the compiled model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import sqlglot
from sqlglot import exp
from sqlglot.lineage import lineage

from imdb_elt import catalog
from spark_jobs.rules import ColumnRule, column_rules

RawColumn = tuple[str, str]  # (dataset, catalogue column)

#: (model, test or constraint, columns) -> the SQL in the compiled model that guarantees it.
EXEMPTIONS: dict[tuple[str, str, tuple[str, ...]], str] = {
    ("top_ten_movies_by_year", "not_null", ("year",)): "year is not null",
    (
        "director_profit_by_rating",
        "unique_combination",
        ("director_name", "content_rating"),
    ): "group by director_name, content_rating",
}

#: Singular tests that compare figures, not row values.
SINGULAR_TESTS = {"reconcile_staged_rows": "compares staged row counts with the Spark report"}

_SQL_TYPES = {
    "string": "varchar",
    "int": "int",
    "bigint": "bigint",
    "boolean": "boolean",
    "timestamp": "timestamp",
}


def rules() -> dict[RawColumn, ColumnRule]:
    return {(raw.dataset, rule.name): rule for raw in catalog.INPUTS for rule in column_rules(raw)}


def _schema(database: str, raw_schema: str) -> dict:
    tables = {}
    for raw in catalog.INPUTS:
        columns = [(c.name, c.type) for c in raw.columns] + list(catalog.LINEAGE_COLUMNS)
        tables[raw.dataset] = {name: _SQL_TYPES.get(t, "varchar") for name, t in columns}
    return {database: {raw_schema: tables}}


@dataclass(frozen=True)
class Finding:
    test: str
    problem: str

    def __str__(self) -> str:
        return f"{self.test}: {self.problem}"


class Lineage:
    """Raw columns behind a model column, from the compiled SQL in a manifest."""

    def __init__(self, manifest: dict) -> None:
        self.manifest = manifest
        self.models = {
            uid: node
            for uid, node in manifest["nodes"].items()
            if node["resource_type"] == "model" and node.get("compiled_code")
        }
        self.sources = {node["relation_name"]: self._parse(node) for node in self.models.values()}
        self.raw_tables = {raw.dataset for raw in catalog.INPUTS}
        # A raw source (not the run history's): where the raw tables are.
        some = next(s for s in manifest["sources"].values() if s["name"] in self.raw_tables)
        self.schema = _schema(some["database"], some["schema"])
        self.catalog_columns = {
            raw.dataset: {
                name.lower(): name for name in [*raw.column_names, *(n for n, _ in catalog.LINEAGE_COLUMNS)]
            }
            for raw in catalog.INPUTS
        }
        self.leaves = self._leaves

    @staticmethod
    def _parse(node: dict) -> exp.Query:
        """The compiled SQL; an incremental model's reads of itself become an opaque table."""
        own = exp.to_table(node["relation_name"].replace('"', ""), dialect="duckdb")

        def opaque(table: exp.Expr) -> exp.Expr:
            same = isinstance(table, exp.Table) and (table.catalog, table.db, table.name) == (
                own.catalog,
                own.db,
                own.name,
            )
            return exp.to_table("previous_build", dialect="duckdb") if same else table

        return sqlglot.parse_one(node["compiled_code"], dialect="duckdb").transform(opaque)

    def _leaves(self, uid: str, column: str) -> frozenset[RawColumn]:
        if uid.startswith("source."):
            source = self.manifest["sources"][uid]
            return frozenset({(source["name"], self._catalog_name(source["name"], column))})
        return self._model_leaves(uid).get(column.lower(), frozenset())

    @cache  # noqa: B019 - one Lineage per manifest, kept for the whole check
    def _model_leaves(self, uid: str) -> dict[str, frozenset[RawColumn]]:
        """Raw columns behind every column of a model (one lineage pass per model)."""
        query = self.sources[self.models[uid]["relation_name"]]
        roots = lineage(None, query, schema=self.schema, sources=self.sources, dialect="duckdb")
        return {name.lower(): self._raw_columns(root) for name, root in roots.items()}

    def _raw_columns(self, root) -> frozenset[RawColumn]:
        found = set()
        for node in root.walk():
            if isinstance(node.expression, exp.Expr) and _ranks(node.expression):
                return frozenset()  # a row number or rank: never null, unique by construction
            if node.downstream or not isinstance(node.expression, exp.Table):
                continue
            table = node.expression.name
            if table in self.raw_tables:
                found.add((table, self._catalog_name(table, node.name.rsplit(".", 1)[-1])))
        return frozenset(found)

    def _catalog_name(self, dataset: str, column: str) -> str:
        return self.catalog_columns[dataset][column.strip('"').lower()]


def _ranks(expression: exp.Expr) -> bool:
    """A window ranking function computes the column (row_number() over ..., rank() ...)."""
    return any(
        isinstance(window.this, exp.RowNumber | exp.Rank | exp.DenseRank)
        for window in expression.find_all(exp.Window)
    )


def _required(column: RawColumn) -> bool:
    """Never null in a processed row: a catalogue column declared not nullable (the keys), or a
    lineage column the job writes on every row."""
    dataset, name = column
    if name in {n for n, _ in catalog.LINEAGE_COLUMNS}:
        return True
    return not next(c for c in catalog.BY_DATASET[dataset].columns if c.name == name).nullable


def _bound(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def _has_key(columns: Iterable[RawColumn]) -> bool:
    present = set(columns)
    return any(all((raw.dataset, key) in present for key in raw.key) for raw in catalog.INPUTS)


def check_manifest(manifest: dict, trace: Lineage | None = None) -> list[Finding]:
    """Every way an error-severity test (or not_null constraint) could fail on an accepted row.

    ``trace`` may be a Lineage of the same models (it caches; planted tests need no new one)."""
    rule_of = rules()
    trace = trace or Lineage(manifest)
    findings: list[Finding] = []

    def exempt(model: str, test: str, columns: tuple[str, ...]) -> bool:
        fragment = EXEMPTIONS.get((model, test, columns))
        if fragment is None:
            return False
        code = " ".join(next(n for n in trace.models.values() if n["name"] == model)["compiled_code"].split())
        return fragment in code

    for uid, node in manifest["nodes"].items():
        if node["resource_type"] != "test" or node["package_name"] != "imdb_elt":
            continue
        if str(node["config"].get("severity", "error")).lower() != "error":
            continue
        meta = node.get("test_metadata")
        if not meta:
            if node["name"] not in SINGULAR_TESTS:
                findings.append(Finding(uid, "singular error-severity test not reviewed against the catalog"))
            continue
        name, kwargs = meta["name"], meta.get("kwargs", {})
        attached = node.get("attached_node") or next(
            (d for d in node["depends_on"]["nodes"] if d.startswith(("model.", "source."))), None
        )
        if attached is None:
            continue
        columns = tuple(kwargs["columns"]) if "columns" in kwargs else (kwargs.get("column_name"),)
        columns = tuple(c for c in columns if c)
        model = attached.rsplit(".", 1)[-1]
        leaves = frozenset().union(*(trace.leaves(attached, c) for c in columns)) if columns else frozenset()
        if not leaves or exempt(model, name, columns):
            continue  # computed by the model alone (a rank, a count), or its logic guarantees it
        where = f"{name} on {model}.{'/'.join(columns)} (from {sorted(leaves)})"
        if name == "value_between":
            wanted = (_bound(kwargs.get("min_value")), _bound(kwargs.get("max_value")))
            for column in sorted(leaves):
                rule = rule_of[column]
                if wanted != (_bound(rule.minimum), _bound(rule.maximum)):
                    findings.append(
                        Finding(
                            uid,
                            f"{where}: range {wanted} but the catalogue's rule "
                            f"for {column} is {(rule.minimum, rule.maximum)}",
                        )
                    )
        elif name == "not_null":
            loose = sorted(c for c in leaves if not _required(c))
            if loose:
                findings.append(Finding(uid, f"{where}: {loose} may be null in accepted rows"))
        elif name in ("unique", "unique_combination"):
            if not all(trace.leaves(attached, c) for c in columns):
                continue  # includes a rank or another column of the model's own making
            if not _has_key(leaves):
                findings.append(Finding(uid, f"{where}: no natural key among its raw columns"))
        elif name == "relationships":
            parent = next(d for d in node["depends_on"]["nodes"] if d != attached)
            parent_leaves = trace.leaves(parent, kwargs["field"])
            if not leaves <= parent_leaves:
                findings.append(
                    Finding(
                        uid,
                        f"{where}: references {sorted(parent_leaves)}, a different "
                        "set of rows (IMDb's references dangle)",
                    )
                )
        else:
            findings.append(Finding(uid, f"{where}: no cleaning rule guarantees it; make it severity warn"))

    for uid, node in trace.models.items():
        for column in node.get("columns", {}).values():
            if not any(c.get("type") == "not_null" for c in column.get("constraints", [])):
                continue
            leaves = trace.leaves(uid, column["name"])
            loose = sorted(c for c in leaves if not _required(c))
            if loose and not exempt(node["name"], "not_null", (column["name"],)):
                findings.append(
                    Finding(
                        uid, f"not_null constraint on {column['name']}: {loose} may be null in accepted rows"
                    )
                )
    return findings
