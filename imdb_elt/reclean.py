"""Clean again the published files whose valid last line an earlier version refused.

Up to this version the cleaning job refused the last line of a file without a final newline as
``partial_line``, whatever it held: a complete, valid row was lost with every such delivery. The
ledger holds those files as processed, so no later run cleans them again, and the row stays
missing until the source delivers new content.

``python -m imdb_elt reclean`` finds them from the lake alone: the datasets of the current
manifest whose snapshot's stats count ``partial_line`` refusals (the quarantine of that snapshot,
counted). For each, it appends a *re-clean request* to the ledger: an entry with no fingerprint,
which no delivery matches, so the next run cleans the file in the raw zone again under today's
rules and its publish records it as usual. ``--dry-run`` lists them and changes nothing.

Idempotent: a dataset whose newest ledger entry is already a request gets no second one, and
once the next run has published, its snapshot has no ``partial_line`` left to find.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from imdb_elt import lake, locking, storage
from imdb_elt.config import Settings

#: The reason code the cleaning job no longer gives (see docs/cleaning.md, rows already lost).
RETIRED_PARTIAL_LINE = "partial_line"
REQUEST_KEY = "reclean_requested"


@dataclass(frozen=True)
class Candidate:
    """A published dataset whose last line was refused as partial_line."""

    dataset: str
    source_file: str
    snapshot_id: str
    refused: int  # its partial_line rows (one per delivery)
    in_raw_zone: str | None  # the file the next run would clean: the published one, a newer one, or None
    requested: bool  # the newest ledger entry is already a re-clean request

    def describe(self) -> str:
        where = {
            "published": f"{self.source_file} is still in the raw zone: the next run cleans it again",
            "newer": "a newer delivery is in the raw zone: the next run cleans it anyway",
            None: f"{self.source_file} is not in the raw zone: deliver it again to recover the row",
        }[self.in_raw_zone]
        done = " (already requested)" if self.requested else ""
        return (f"{self.dataset}: snapshot {self.snapshot_id} refused {self.refused} last line(s) of "
                f"{self.source_file} as {RETIRED_PARTIAL_LINE}{done}; {where}")


def find(settings: Settings) -> list[Candidate]:
    """The current manifest's datasets whose snapshot refused a last line as partial_line."""
    manifest = lake.current_manifest(settings)
    if manifest is None:
        return []
    ledger = lake.read_ledger(settings)
    newest = {entry["dataset"]: entry for entry in ledger}  # a request, or the published delivery
    published = {entry["dataset"]: entry for entry in ledger if not entry.get(REQUEST_KEY)}
    zone = {d.dataset: d for d in lake.list_deliveries(settings).deliveries}
    stats_of: dict[str, dict] = {}
    found = []
    for dataset, entry in manifest["datasets"].items():
        snapshot_id = entry["snapshot_id"]
        if snapshot_id not in stats_of:
            stats_file = f"{settings.snapshot_dir(snapshot_id)}/{lake.SPARK_STATS_FILE}"
            stats_of[snapshot_id] = (lake.read_spark_stats(settings, snapshot_id).get("datasets", {})
                                     if storage.exists(stats_file) else {})
        stats = stats_of[snapshot_id].get(dataset, {})
        refused = (stats.get("quarantined_by_reason") or {}).get(RETIRED_PARTIAL_LINE, 0)
        if not refused:
            continue
        delivery, last = zone.get(dataset), published.get(dataset, {})
        in_raw_zone = None
        if delivery is not None:
            same = (delivery.fingerprint, delivery.size) == (last.get("fingerprint"), last.get("size"))
            in_raw_zone = "published" if same else "newer"
        requested = bool(newest.get(dataset, {}).get(REQUEST_KEY))
        found.append(Candidate(dataset, stats.get("source_file", entry.get("source_file", "?")),
                               snapshot_id, refused, in_raw_zone, requested))
    return found


def request_entries(candidates: list[Candidate]) -> list[dict]:
    """Ledger entries asking the next run to clean these datasets again (none twice)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return [
        {"dataset": c.dataset, "file_name": c.source_file, "uri": None, "size": None, "fingerprint": None,
         "snapshot_id": c.snapshot_id, "processed_at": now,
         REQUEST_KEY: f"last line refused as {RETIRED_PARTIAL_LINE} in snapshot {c.snapshot_id}"}
        for c in candidates if not c.requested
    ]  # fmt: skip


def reclean(settings: Settings, *, dry_run: bool = False) -> tuple[list[Candidate], list[dict]]:
    """Find the candidates and (unless ``dry_run``) request their re-cleaning, under the run lease
    (a run publishing at the same moment rewrites the ledger too)."""
    if dry_run:
        return find(settings), []
    owner = "reclean-" + lake.new_snapshot_id()
    locking.acquire(settings, owner, holder="process")
    try:
        candidates = find(settings)
        entries = request_entries(candidates)
        if entries:
            lake.append_ledger(settings, entries)
        return candidates, entries
    finally:
        locking.release(settings, owner)


def main(settings: Settings, dry_run: bool) -> int:
    try:
        candidates, entries = reclean(settings, dry_run=dry_run)
    except locking.RunLockedError as exc:
        print(f"reclean: {exc}")
        return 1
    if not candidates:
        print(f"reclean: no published file had its last line refused as {RETIRED_PARTIAL_LINE}")
        return 0
    for c in candidates:
        print("  " + c.describe())
    if dry_run:
        todo = sum(not c.requested for c in candidates)
        print(f"reclean: dry run, nothing changed; without --dry-run, {todo} request(s) would be "
              "written to the ledger")
    else:
        print(f"reclean: {len(entries)} re-clean request(s) written to the ledger; run the pipeline "
              "(python -m imdb_elt run, or the next DAG run) to clean them")
    return 0
