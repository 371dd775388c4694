"""A time zone whose date differs from Amsterdam's right now, for run-day tests (0394)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def zone_on_another_day(now: datetime) -> str:
    """A fixed-offset zone (POSIX sign: Etc/GMT-14 is UTC+14) whose date is not Amsterdam's."""
    here = now.astimezone(AMSTERDAM).date()
    for zone in ("Etc/GMT-14", "Etc/GMT+12"):
        if now.astimezone(ZoneInfo(zone)).date() != here:
            return zone
    raise AssertionError("one of UTC+14 and UTC-12 is always on another day")
