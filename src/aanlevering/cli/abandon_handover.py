"""``aanlevering abandon-handover``: give up an outbox version whose upload was never confirmed.

A version placed in an outbox is not delivered until ``confirm-upload``
(decision 0794), and a rerun of the same content stops at
``already-handed-over``. When the files will not be uploaded (the
registration now delivers over HTTPS, or its outbox was removed), this
records that the hand-over is abandoned: the version never counts as
delivered and the next run delivers the same content as the next version
over the registration's channel (decision 0843).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from aanlevering.cli.catalogue_option import add_catalogue_option
from aanlevering.cli.handover_step import record_handover_step
from aanlevering.cli.wait_option import add_wait_option
from aanlevering.operator_text import REASON_HELP, checked_operator_text
from aanlevering.periods import Period

if TYPE_CHECKING:
    from aanlevering.deliver.ledger import LedgerEntry


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``abandon-handover`` command."""
    parser = subparsers.add_parser(
        "abandon-handover",
        help="give up an outbox version never uploaded; the next run delivers it anew",
    )
    parser.add_argument("--registration", required=True, metavar="ID")
    parser.add_argument("--period", required=True)
    parser.add_argument("--version", required=True, type=int, metavar="N")
    parser.add_argument(
        "--reason",
        required=True,
        help=REASON_HELP,
    )
    add_wait_option(parser)
    add_catalogue_option(parser)
    parser.set_defaults(handler=_abandon)


def _abandon(args: argparse.Namespace) -> int:
    from aanlevering.deliver.handoff import abandon_handover

    checked_operator_text(args.reason, "--reason")  # before anything, the lock too (0882)
    period = Period.parse(args.period)
    entry, report = record_handover_step(
        args,
        "abandon-handover",
        lambda store, provider, registration, label: abandon_handover(
            store, provider, registration, label, args.version, reason=args.reason
        ),
    )
    print(_outcome(entry, args.registration, period.label))
    if report is not None:
        print(f"hospital report updated: {report}")
    return 0


def _outcome(entry: LedgerEntry, registration: str, period: str) -> str:
    """What abandoning ``entry`` means, and what to do next.

    A retraction placed in an outbox and abandoned withdrew nothing: the version
    it withdraws is still at the registry holder. "Run the period" would deliver
    the data the hospital meant to withdraw again; ``retract`` is what withdraws
    it (decision 0884).
    """
    if entry.kind == "retraction":
        from aanlevering.deliver.ledger import abandoned_retraction_advice

        advice = abandoned_retraction_advice(registration, period, entry.supersedes)
        return f"abandoned: {entry.idempotency_key}: {advice}"
    return (
        f"abandoned: {entry.idempotency_key} is not delivered and will not be confirmed; "
        f"`aanlevering run --registration {registration} --period {period} ...` "
        f"delivers the period as v{entry.version + 1}. If its files were uploaded after all, "
        "the registry holder may hold them until that version replaces them"
    )
