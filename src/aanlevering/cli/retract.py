"""``aanlevering retract``: withdraw a delivered period at the registry holder."""

from __future__ import annotations

import argparse

from aanlevering.catalogue.loader import load_registration
from aanlevering.cli.catalogue_option import add_catalogue_option, settings_for
from aanlevering.operator_text import REASON_HELP, checked_operator_text
from aanlevering.periods import Period, run_day


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``retract`` command."""
    parser = subparsers.add_parser("retract", help="send a retraction of a delivered period")
    parser.add_argument("--registration", required=True, metavar="ID")
    parser.add_argument("--period", required=True)
    parser.add_argument(
        "--reason",
        required=True,
        help=REASON_HELP,
    )
    add_catalogue_option(parser)
    parser.set_defaults(handler=_retract)


def _retract(args: argparse.Namespace) -> int:
    from aanlevering.events.factory import open_event_store
    from aanlevering.pseudonym.key_continuity import check_one_provider
    from aanlevering.retract import retract_period
    from aanlevering.runs.ports import default_ports

    checked_operator_text(args.reason, "--reason")  # before anything else (decision 0882)
    settings = settings_for(args)
    # Its own registration only: another's broken file must not hold up a retraction (0679).
    config = load_registration(settings.catalogue_dir, args.registration)
    with open_event_store(settings.event_store_url) as store:
        check_one_provider(store, settings.provider_id)  # decision 0452
        receipt = retract_period(
            config,
            settings,
            Period.parse(args.period),
            default_ports(settings, store),
            reason=args.reason,
            today=run_day(),
        )
    if receipt.channel == "outbox" or receipt.receiver.startswith("outbox:"):
        print(_placed(receipt.idempotency_key, receipt.receiver, args.registration, args.period))
    else:
        print(f"retracted: {receipt.idempotency_key} receipted as {receipt.receipt_id}")
    return 0


def _placed(key: str, receiver: str, registration: str, period: str) -> str:
    """What a retraction placed in an outbox means: nothing withdrawn until it is uploaded.

    Why: "retracted" was printed when the outbox's own receipt came back, while
    the registry holder still held the version until someone uploads the folder
    (decisions 0794, 0900).
    """
    version = key.rsplit(".v", 1)[-1]
    where = f"--registration {registration} --period {period} --version {version}"
    return (
        f"placed, not withdrawn yet: the retraction {key} lies in {receiver}; the registry "
        "holder keeps the version it withdraws until it has the retraction: upload it, then "
        f"`aanlevering confirm-upload {where}`. If it will not be uploaded, "
        f"`aanlevering abandon-handover {where} --reason ...` and retract again"
    )
