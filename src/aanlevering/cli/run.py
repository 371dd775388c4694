"""``aanlevering run``: one delivery on embedded defaults, without Airflow.

Exit codes: 0 delivered (or already delivered, or handed over to an outbox), 1 blocked by validation
(also: too many patients without a pseudonym type, or nothing left to
deliver from a non-empty extract), 2 unusable input or config (also: not
delivered, e.g. the receiver down, or holding a version the event log does
not know, decision 0460), 3 no delivery obligation or nothing in the period,
4 internal error.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from aanlevering.catalogue.loader import load_registration
from aanlevering.cli.catalogue_option import add_catalogue_option, settings_for
from aanlevering.periods import Period

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``run`` command."""
    parser = subparsers.add_parser("run", help="deliver one registration's period end to end")
    parser.add_argument("--registration", required=True, metavar="ID")
    parser.add_argument("--input", required=True, type=Path, help="EHR extract (folder or file)")
    parser.add_argument("--period", required=True, help="2026, 2026-Q1 or 2026-01")
    parser.add_argument("--outbox", type=Path, default=None, help="deliver into this folder")
    parser.add_argument(
        "--allow-open-period",
        action="store_true",
        help="deliver a period that has not closed yet (a year-to-date delivery)",
    )
    add_catalogue_option(parser)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from aanlevering.events.factory import open_event_store
    from aanlevering.pipeline.run import RunRequest, run_delivery
    from aanlevering.runs.ports import default_ports

    settings = settings_for(args)
    _ = settings.provider_id  # unset outside the demo: exit 2 before the log is opened (0711)
    config = load_registration(settings.catalogue_dir, args.registration)
    request = RunRequest(
        registration_id=config.id,
        input_path=args.input,
        period=Period.parse(args.period),
        outbox=args.outbox,
        allow_open_period=args.allow_open_period,
    )

    with open_event_store(settings.event_store_url) as store:
        ports = default_ports(settings, store)
        result = run_delivery(config, settings, request, ports)
    print(
        f"{result.status}: {result.registration} {result.period} v{result.version} "
        f"({result.idempotency_key}); records {dict(result.record_counts)}; "
        f"excluded by opt-out {result.excluded_optouts}"
    )
    if result.config_changed:
        print(
            f"note: the registration config of {result.registration} or its dictionary changed "
            f"since the previous version of {result.period}"
            + (
                "; the data did not, so the registry holder keeps what it has"
                if result.status == "already-delivered"
                else ""
            )
        )
    if result.accounting:
        from aanlevering.deliver.accounting import Accounting

        print(f"accounting: {Accounting.from_summary(result.accounting).describe()}")
    if result.receipt is not None:
        print(f"receipt {result.receipt.receipt_id} from {result.receipt.receiver}")
    if result.status in ("handed-over", "already-handed-over"):
        from aanlevering.deliver.ledger import abandon_hint

        print(
            "not delivered yet: the files lie in the outbox until the registry holder has "
            f"them; upload them, then `aanlevering confirm-upload --registration "
            f"{result.registration} --period {result.period} --version {result.version}`. "
            + abandon_hint(result.registration, result.period, result.version)
        )
    if result.validation_reports:
        print(f"validation report: {result.validation_reports.get('html', '-')}")
    return 0
