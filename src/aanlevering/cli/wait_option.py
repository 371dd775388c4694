"""``--wait SECONDS`` for the hand-over commands: how long to wait for a run of the period.

Why: ``confirm-upload`` and ``abandon-handover`` take the period's run lock
(decision 0901) and wait ``AANLEVERING_RUN_LOCK_WAIT`` (30 s) for a run that
holds it; an Airflow run holds its period between its tasks, for hours. An
operator who wants the command to record as soon as that run ends says so
for this one call, without changing how long runs wait for each other
(decision 0961).
"""

from __future__ import annotations

import argparse
import math

HELP = (
    "seconds to wait for a run of the period that holds it (default: "
    "$AANLEVERING_RUN_LOCK_WAIT, 30); an Airflow run holds its period between its tasks, "
    "for hours: e.g. --wait 7200 records as soon as it ends, within two hours"
)


def add_wait_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--wait SECONDS`` (None when not given: the setting applies)."""
    parser.add_argument("--wait", type=_seconds, default=None, metavar="SECONDS", help=HELP)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number of seconds, 0 or more") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError("expected a number of seconds, 0 or more")
    return value
