"""Command line: `python -m imdb_elt run | status | reclean | docs | history`."""

from __future__ import annotations

import argparse
import json
import sys

from imdb_elt import config, lake, pipeline


def _run(args: argparse.Namespace) -> int:
    settings = config.load()
    print(f"imdb-elt: raw zone {settings.raw_dir} -> lake {settings.lake_dir} -> {settings.dbt_target}")
    plan = pipeline.run_once(settings, rebuild=args.rebuild)
    return 0 if plan.status in (pipeline.SUCCESS, pipeline.NOTHING_NEW) else 1


def _status(_: argparse.Namespace) -> int:
    settings = config.load()
    print(json.dumps({"current_snapshot": lake.current_snapshot_id(settings),
                      "ledger_entries": len(lake.read_ledger(settings))}, indent=2))
    return 0


def _history(_: argparse.Namespace) -> int:
    from imdb_elt import run_history

    settings = config.load()
    appended = run_history.backfill(settings)
    print(f"appended {appended} run report(s) of {settings.reports_dir} to "
          f"{settings.dbt_target} {settings.ops_schema}.* (each run once)")
    return 0


def _reclean(args: argparse.Namespace) -> int:
    from imdb_elt import reclean

    return reclean.main(config.load(), args.dry_run)


def _docs(_: argparse.Namespace) -> int:
    from imdb_elt import docs

    return docs.main()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="imdb_elt", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the pipeline once (configuration from the environment)")
    run.add_argument("--rebuild", action="store_true",
                     help="with no new delivery, re-stage and rebuild the marts from the current snapshot")
    run.set_defaults(func=_run)
    status = sub.add_parser("status", help="show the current snapshot and the ledger size")
    status.set_defaults(func=_status)
    reclean = sub.add_parser(
        "reclean", help="have the next run clean again the published files whose valid last line an "
        "earlier version refused as partial_line (docs/cleaning.md)")
    reclean.add_argument("--dry-run", action="store_true", help="list them, change nothing")
    reclean.set_defaults(func=_reclean)
    docs = sub.add_parser("docs", help="the dbt docs site of the published marts (make docs)")
    docs.set_defaults(func=_docs)
    history = sub.add_parser("history", help="append every run report of the lake to the warehouse's "
                             "run history (a new warehouse, or one that missed appends)")
    history.set_defaults(func=_history)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
