"""``aanlevering confirm-upload``: the registry holder received a version placed in an outbox.

An outbox (``run --outbox DIR``, ``AANLEVERING_OUTBOX__<ID>``, channel
``outbox``) receipts a version itself once its files lie whole in the folder;
the registry holder has nothing until someone uploads them (a portal). Until
the hospital confirms that upload here, the version does not count as
delivered in the calendar, the legal minimum or the yearly check (decision 0794).
"""

from __future__ import annotations

import argparse
from datetime import date

from aanlevering.cli.catalogue_option import add_catalogue_option
from aanlevering.cli.handover_step import record_handover_step
from aanlevering.cli.wait_option import add_wait_option
from aanlevering.periods import run_day


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``confirm-upload`` command."""
    parser = subparsers.add_parser(
        "confirm-upload", help="record that the registry holder received an outbox version"
    )
    parser.add_argument("--registration", required=True, metavar="ID")
    parser.add_argument("--period", required=True)
    parser.add_argument("--version", required=True, type=int, metavar="N")
    parser.add_argument(
        "--received-on",
        type=date.fromisoformat,
        default=None,
        metavar="DATE",
        help="the day the registry holder received it (default: today)",
    )
    add_wait_option(parser)
    add_catalogue_option(parser)
    parser.set_defaults(handler=_confirm)


def _confirm(args: argparse.Namespace) -> int:
    from aanlevering.deliver.handoff import confirm_upload

    entry, report = record_handover_step(
        args,
        "confirm-upload",
        lambda store, provider, registration, label: confirm_upload(
            store,
            provider,
            registration,
            label,
            args.version,
            received_on=args.received_on or run_day(),
        ),
    )
    print(
        f"confirmed: {entry.idempotency_key} received by the registry holder on "
        f"{entry.confirmed_on}; "
        + (
            f"the retraction withdrew {entry.supersedes or 'the version before it'}"
            if entry.kind == "retraction"  # it delivers nothing (decision 0900)
            else "it now counts as delivered"
        )
    )
    if report is not None:
        print(f"hospital report updated: {report}")
    return 0
