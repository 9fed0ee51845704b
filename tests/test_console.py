"""The console of `make run`: one line per finished dbt node, in dbt's order, with a count."""

from __future__ import annotations

import random
import re
from types import SimpleNamespace as NS

import pytest

from imdb_elt.dbt_runner import _Progress

LINE = re.compile(r"^  dbt \| \[ *(\d+)/(\d+)\] (\S+) +(\S+) +(.+?)(?: +([\d.]+) s)?$")


def _event(name: str, level: str = "info", **data) -> NS:
    return NS(info=NS(name=name, level=level, msg=""), data=NS(**data))


def _node(uid: str, kind: str) -> NS:
    return NS(unique_id=uid, resource_type=kind, node_name=uid.split(".")[-1])


def test_nodes_finishing_out_of_order_print_in_dbts_order():
    """Four threads: nodes start in dbt's order and finish in any order; the lines come out in
    dbt's order, each once, with its count, status and time."""
    nodes = [(f"model.p.m{i}", "model") for i in range(1, 7)] + [("test.p.t7", "test"), ("test.p.t8", "test")]
    printed: list[str] = []
    progress = _Progress(printed.append, [])
    finished = list(enumerate(nodes, start=1))
    random.Random(3).shuffle(finished)
    for index, (uid, kind) in enumerate(nodes, start=1):
        progress(_event("LogStartLine", index=index, total=len(nodes), node_info=_node(uid, kind)))
    for index, (uid, kind) in finished:
        status, failures = ("fail", 3) if uid.endswith("t8") else ("pass" if kind == "test" else "success", 0)
        progress(_event("NodeFinished", node_info=_node(uid, kind), run_result=NS(
            status=status, execution_time=index / 10, num_failures=failures, message="")))
    progress.flush()
    parsed = [LINE.match(line).groups() for line in printed]
    assert [int(p[0]) for p in parsed] == list(range(1, 9)) and {p[1] for p in parsed} == {"8"}
    assert parsed[0][2:4] == ("model", "m1") and parsed[0][4].strip() == "ok" and parsed[0][5] == "0.1"
    assert parsed[7][2:5] == ("test", "t8", "FAIL 3")


def test_a_skipped_node_keeps_its_place_and_a_source_prints_nothing():
    printed: list[str] = []
    progress = _Progress(printed.append, [])
    progress(_event("LogStartLine", index=1, total=2, node_info=_node("model.p.a", "model")))
    progress(_event("SkippingDetails", resource_type="model", node_name="b", index=2, total=2))
    progress(_event("NodeFinished", node_info=_node("source.p.s.x", "source"),
                    run_result=NS(status="pass", execution_time=0.1, num_failures=0, message="")))
    assert printed == []  # node 1 has not finished: node 2 waits
    progress(_event("NodeFinished", node_info=_node("model.p.a", "model"), run_result=NS(
        status="error", execution_time=0.2, num_failures=None, message="Binder Error: no column x\nmore")))
    assert len(printed) == 2
    assert LINE.match(printed[0]).group(1, 3, 4) == ("1", "model", "a")
    assert re.search(r" ERROR +0\.2 s  Binder Error: no column x$", printed[0]), printed[0]
    assert LINE.match(printed[1]).group(1, 3, 4, 5) == ("2", "model", "b", "skipped")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_first_sample_run_prints_every_node_once_in_order(sample_site):
    lines = [line for line in sample_site.first.out.splitlines() if line.startswith("  dbt | [")]
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), [line for line, p in zip(lines, parsed, strict=True) if not p]
    # A production build on DuckDB leaves the unit tests to CI (docs/warehouse.md, Quality gate).
    assert not [n for n in sample_site.first_report["dbt"]["nodes"] if n["resource_type"] == "unit_test"]
    assert not [p for p in parsed if p.group(3) == "unit_test"]
    # dbt's own "i of N" (on Redshift, where unit tests run, its build counts each twice in N).
    total = int(parsed[0].group(2))
    indices = [int(p.group(1)) for p in parsed]
    assert indices == list(range(1, len(parsed) + 1)), "not one line per node, in order"
    assert len(parsed) == len(sample_site.first_report["dbt"]["nodes"]) <= total
    assert sum(p.group(3) == "model" for p in parsed) == sample_site.first_report["dbt"]["models_ok"]
    assert "START" not in sample_site.first.out  # dbt's own start lines stay in the log file
