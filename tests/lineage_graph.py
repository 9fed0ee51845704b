"""Reading a run's OpenLineage events (the file transport) as a graph, for the lineage tests."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from imdb_elt.catalog import BY_DATASET

Dataset = tuple[str, str]  # (namespace, name)


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def lineage_graph(events: list[dict]) -> dict[Dataset, set[Dataset]]:
    """dataset -> the datasets it feeds, through the job of every COMPLETE event."""
    feeds: dict[Dataset, set[Dataset]] = defaultdict(set)
    for event in events:
        if event["eventType"] == "COMPLETE":
            for i in event["inputs"]:
                feeds[i["namespace"], i["name"]].update((o["namespace"], o["name"]) for o in event["outputs"])
    return feeds


def reaches(feeds: dict[Dataset, set[Dataset]], start: Dataset) -> set[Dataset]:
    seen, todo = set(), [start]
    while todo:
        for nxt in feeds.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def raw_files_behind(manifest: dict, unique_id: str) -> set[str]:
    """The raw files a dbt node is built from, by dbt's own dependencies and the catalogue."""
    if unique_id.startswith("source."):
        return {BY_DATASET[manifest["sources"][unique_id]["name"]].file_name}
    node = manifest["nodes"][unique_id]
    return set().union(*(raw_files_behind(manifest, p) for p in node["depends_on"]["nodes"]))


def raw_files_reaching(events: list[dict], raw_files: dict[Dataset, str],
                       marts: dict[str, Dataset]) -> dict[str, set[str]]:
    """Per mart, the raw files (by file name) from which the events' graph reaches it."""
    feeds = lineage_graph(events)
    downstream = {name: reaches(feeds, key) for key, name in raw_files.items()}
    return {mart: {f for f, seen in downstream.items() if ds in seen} for mart, ds in marts.items()}
