"""The Amsterdam date read straight from the text agrees with converting every dateTime.

``fhir_values._date`` skips the time-zone conversion for a dateTime in Dutch
time between 01:00 and 22:59 (decision 0390); this pins that shortcut to
``date_reference`` over every hour, Dutch and other offsets, both DST change
days, New Year, a leap day and malformed times.
"""

from __future__ import annotations

import itertools

from aanlevering.extract.fhir_values import _date, date_reference

DAYS = ("2026-03-29", "2026-10-25", "2026-12-31", "2028-02-29", "2026-02-30", "2026-07-15")
TIMES = [f"{hour:02d}:{minute}" for hour in range(25) for minute in ("00", "30", "59", "60")]
SECONDS = ("", ":00", ":59", ":60", ":07.5", ":07.123456", ":07.1234567")
OFFSETS = ("", "Z", "+01:00", "+02:00", "+00:00", "-04:00", "+05:30", "+14:00", "+1:00")


def test_the_shortcut_gives_what_the_conversion_gives() -> None:
    values = [
        f"{day}T{time}{seconds}{offset}"
        for day, time, seconds, offset in itertools.product(DAYS, TIMES, SECONDS, OFFSETS)
    ]
    values += ["2026-03-31", "2026-03-31T", "2026-03-31Tfoo", "2026-03", "", "2026-03-31 10:00"]
    assert len(values) > 10_000
    differing = [v for v in values if _date(v) != date_reference(v)]
    assert differing == []
    # Both kinds occur, so the comparison covers the shortcut and the conversion.
    shifted = [v for v in values if (d := _date(v)[0]) is not None and str(d) != v[:10]]
    assert shifted and len(shifted) < len(values)
