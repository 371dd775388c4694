"""``aanlevering status``: the delivery ledger and what is due, per registration.

``--format html`` writes the calendar at a glance (the Deliveries page's own
renderer, :mod:`aanlevering.obligation.calendar_html`) as one self-contained
HTML file: to stdout, or to ``--output``. A registration file that does not
load is named on stderr (exit 2) after the others are shown (decision 0474).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from aanlevering.cli.catalogue_option import add_catalogue_option, settings_for
from aanlevering.cli.loadable_catalogue import load_loadable, report_broken
from aanlevering.periods import run_day

_MARK = {
    "overdue": "!!",
    "due": "! ",
    "delivered": "ok",
    "open": "..",
    "not-owed": "--",
    "blocked": "xx",
    "lapsed": "-!",
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``status`` command."""
    parser = subparsers.add_parser("status", help="deliveries, due and overdue periods")
    parser.add_argument("--on", type=date.fromisoformat, default=None, help="as of this day")
    parser.add_argument("--registration", default=None, metavar="ID")
    parser.add_argument(
        "--format",
        choices=("text", "html"),
        default="text",
        help="text (default) or html: the delivery calendar at a glance",
    )
    parser.add_argument(
        "--output", type=Path, default=None, metavar="FILE", help="write here instead of stdout"
    )
    add_catalogue_option(parser)
    parser.set_defaults(handler=_status)


def _status(args: argparse.Namespace) -> int:
    from aanlevering.events.factory import open_event_store
    from aanlevering.projections import build_projections

    settings = settings_for(args)
    catalogue, broken = load_loadable(settings.catalogue_dir)  # decision 0474
    with open_event_store(settings.event_store_url) as store:
        document = build_projections(store, catalogue, args.on or run_day())
    if args.format == "html":
        return _html(document, args) or report_broken(broken)
    from aanlevering.obligation.calendar_view import calendars

    for calendar in calendars(document, args.registration):
        view = document["registrations"][calendar.registration]
        allowed = "may deliver" if view["may_deliver"] else "may NOT deliver"
        print(f"{calendar.registration}  [{view['register_state']}, {allowed}] {view['name']}")
        print(f"  {calendar.legal_minimum.describe()}")
        for cell in calendar.cells:
            mark = _MARK.get(cell.state.value, "  ")
            due = f" (due by {cell.due_by})" if cell.due_by else ""
            print(f"  {mark} {cell.period:<8} {cell.state.value}{due}")
    deliveries = [
        d
        for d in document["deliveries"]
        if not args.registration or d["registration"] == args.registration
    ]
    print("\ndeliveries:")
    fates, versions = _fates(deliveries)
    for entry in deliveries:
        counts = ", ".join(f"{k} {v}" for k, v in entry["record_counts"].items())
        receipt = entry["receipt_id"] or "-"
        if entry.get("kind") == "retraction":  # it carries no records: say what it withdraws
            target = versions.get(str(entry.get("supersedes")), str(entry.get("supersedes")))
            what = f"retraction of {target}"
        elif entry.get("taken"):  # its counts are unknown, never blank or 0 (decision 0972)
            from aanlevering.projections import TAKEN_RECORDS

            what = f"records {TAKEN_RECORDS}"
        else:
            what = f"{counts}; opt-out excluded {entry['excluded_optouts']}"
        fate = fates.get(entry["idempotency_key"])
        print(
            f"  {entry['registration']} {entry['period']} v{entry['version']} {entry['status']} "
            f"via {entry['channel']} ({what}) receipt {receipt}" + (f"; {fate}" if fate else "")
        )
        if entry.get("accounting"):
            from aanlevering.deliver.accounting import Accounting

            print(f"      {Accounting.from_summary(entry['accounting']).describe()}")
        for note in _notes(entry):
            print(f"      {note}")
    if not deliveries:
        print("  none yet")
    return report_broken(broken)


def _notes(entry: dict[str, Any]) -> list[str]:
    """What the engineer must know or do about one version, beyond its status line.

    Received without a legal basis (0644), held with other content (0841), a
    receipt that did not match (0842), an outbox hand-over not confirmed (0794)
    or abandoned (0843), sent without a receipt and stopped (0752).
    """
    from aanlevering.projections import may_have_arrived

    notes = []
    if entry.get("without_legal_basis"):
        notes.append(
            f"!! {entry['without_legal_basis']}; the registry holder holds it: withdraw it "
            f"with `aanlevering retract --registration {entry['registration']} --period "
            f"{entry['period']} --reason ...`"
        )
    if entry.get("other_content"):
        notes.append(str(entry["other_content"]))
    notes += [
        f"!! {entry[key]}"
        for key in ("receipt_mismatch", "not_confirmed", "abandoned")
        if entry.get(key)
    ]
    if entry.get("sent_without_receipt"):
        notes.append(f"!! {may_have_arrived(entry)}")
    return notes


def _fates(deliveries: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, str]]:
    """Per idempotency key, the receipted later version that replaced it; and keys as ``vN``.

    Why: a version the registry holder no longer holds (a retraction withdrew it,
    a new version superseded it) was listed as receipted with its record counts
    and nothing else, read as records the holder keeps (decision 0694).
    """
    versions = {str(e["idempotency_key"]): f"v{e['version']}" for e in deliveries}
    fates: dict[str, str] = {}
    for entry in deliveries:
        target = entry.get("supersedes")
        if not target or entry.get("status") != "receipted":
            continue
        fates[str(target)] = (
            f"withdrawn by the retraction v{entry['version']}"
            if entry.get("kind") == "retraction"
            else f"superseded by v{entry['version']}"
        )
    return fates, versions


def _html(document: dict[str, object], args: argparse.Namespace) -> int:
    """Write the calendar page to ``--output`` (created privately) or stdout."""
    from aanlevering.obligation.calendar_html import calendar_page

    page = calendar_page(document, args.registration)
    if args.output is None:
        sys.stdout.write(page)
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(page, encoding="utf-8")
    print(f"calendar written to {args.output}", file=sys.stderr)
    return 0
