"""A birth date is "in the future" by Amsterdam's calendar, not the machine's (decision 0654).

A run started just after midnight in Amsterdam (22:00 or 23:00 UTC the day
before) on a machine in UTC took ``date.today()`` as yesterday: a child born
that night was refused as born in the future and left the delivery without a
pseudonym; on a machine ahead of Amsterdam a birth date of tomorrow passed.
Run here in a time zone whose date differs from Amsterdam's right now.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from aanlevering.periods import run_day
from support.time_zones import zone_on_another_day

CHECK = """
import json, sys
from datetime import date
from aanlevering.pseudonym.normalise.dates import normalise_birth_date
from aanlevering.pseudonym.normalise.failures import FieldInvalid
out = {}
for text in sys.argv[1:]:
    try:
        out[text] = normalise_birth_date(text)
    except FieldInvalid as error:
        out[text] = str(error)
print(json.dumps({"local": date.today().isoformat(), "answers": out}))
"""


def test_amsterdams_today_is_a_birth_date_and_its_tomorrow_is_not() -> None:
    now = datetime.now(UTC) + timedelta(seconds=5)
    zone = zone_on_another_day(now)
    today = run_day(now)
    tomorrow = today + timedelta(days=1)
    done = subprocess.run(
        [sys.executable, "-c", CHECK, today.isoformat(), tomorrow.isoformat()],
        env={**os.environ, "TZ": zone},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout)
    if run_day() != today:  # midnight passed in Amsterdam while the child ran: undecided
        return
    assert seen["local"] != today.isoformat()  # the machine's calendar is another day
    answers = seen["answers"]
    assert answers[today.isoformat()] == today.strftime("%Y%m%d")
    assert answers[tomorrow.isoformat()] != tomorrow.strftime("%Y%m%d")
