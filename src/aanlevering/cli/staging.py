"""``aanlevering staging purge``: remove leftover staging folders past their retention."""

from __future__ import annotations

import argparse

from aanlevering.settings import finite_number_at_least, load_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``staging`` command group."""
    parser = subparsers.add_parser("staging", help="staging folders of runs in progress")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    purge = actions.add_parser("purge", help="remove folders older than the retention")
    purge.add_argument(
        "--older-than-days",
        type=_days,
        default=None,
        help="default: $AANLEVERING_STAGING_RETENTION_DAYS (7)",
    )
    purge.set_defaults(handler=_purge)


def _days(text: str) -> float:
    """A finite number of days of at least 0 (decision 0670): ``-1`` would purge every
    failed run's folder kept for inspection, ``nan`` silently nothing."""
    value = finite_number_at_least(text, 0)
    if value is None:
        raise argparse.ArgumentTypeError(f"a number of days of at least 0, not {text!r}")
    return value


def _purge(args: argparse.Namespace) -> int:
    from aanlevering.deliver.staging import purge_staging, retention_days
    from aanlevering.events.factory import open_event_store
    from aanlevering.pipeline.lock import run_folder_is_live

    settings = load_settings()
    days = retention_days() if args.older_than_days is None else args.older_than_days
    with open_event_store(settings.event_store_url) as store:
        purged = purge_staging(
            settings,
            store,
            older_than_days=days,
            still_running=lambda folder: run_folder_is_live(store, folder),
        )
    for item in purged:
        print(
            f"purged {item.registration} {item.period} {item.version} ({item.files_removed} files)"
        )
    print(f"{len(purged)} staging folder(s) older than {days:g} days removed")
    return 0
