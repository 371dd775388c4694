"""``aanlevering status``: the delivery ledger and what is due, per registration."""

from __future__ import annotations

import argparse
from datetime import date

from aanlevering.catalogue import load_catalogue
from aanlevering.cli.catalogue_option import add_catalogue_option, settings_for

_MARK = {"overdue": "!!", "due": "! ", "delivered": "ok", "open": "..", "not-owed": "--"}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``status`` command."""
    parser = subparsers.add_parser("status", help="deliveries, due and overdue periods")
    parser.add_argument("--on", type=date.fromisoformat, default=None, help="as of this day")
    parser.add_argument("--registration", default=None, metavar="ID")
    add_catalogue_option(parser)
    parser.set_defaults(handler=_status)


def _status(args: argparse.Namespace) -> int:
    from aanlevering.events.factory import open_event_store
    from aanlevering.projections import build_projections

    settings = settings_for(args)
    catalogue = load_catalogue(settings.catalogue_dir)
    with open_event_store(settings.event_store_url) as store:
        document = build_projections(store, catalogue, args.on or date.today())
    for registration, view in document["registrations"].items():
        if args.registration and registration != args.registration:
            continue
        allowed = "may deliver" if view["may_deliver"] else "may NOT deliver"
        print(f"{registration}  [{view['register_state']}, {allowed}] {view['name']}")
        if view["yearly_check"]["flagged"]:
            print(f"  !! {view['yearly_check']['reason']}")
        for period in view["periods"]:
            mark = _MARK.get(period["state"], "  ")
            due = f" (due by {period['due_by']})" if period["due_by"] else ""
            print(f"  {mark} {period['period']:<8} {period['state']}{due}")
    deliveries = [
        d
        for d in document["deliveries"]
        if not args.registration or d["registration"] == args.registration
    ]
    print("\ndeliveries:")
    for entry in deliveries:
        counts = ", ".join(f"{k} {v}" for k, v in entry["record_counts"].items())
        receipt = entry["receipt_id"] or "-"
        print(
            f"  {entry['registration']} {entry['period']} v{entry['version']} {entry['status']} "
            f"via {entry['channel']} ({counts}; opt-out excluded {entry['excluded_optouts']}) "
            f"receipt {receipt}"
        )
        if entry.get("accounting"):
            from aanlevering.deliver.accounting import Accounting

            print(f"      {Accounting.from_summary(entry['accounting']).describe()}")
    if not deliveries:
        print("  none yet")
    return 0
