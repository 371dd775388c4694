"""A confirm_receipt retried after its run folder is gone is done only if the run delivered (0652).

The lock stream is the proof: the run released its period with the outcome
``delivered`` as its last lock fact. A run that failed, or a DAG run cleared
after it delivered (it took the lock again, same run id), gets no such answer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aanlevering.events.factory import open_event_store
from aanlevering.pipeline.events import RunLockReleased, RunLockTaken, run_lock_stream
from aanlevering.pipeline.state import run_folder_path
from aanlevering.runs.folder import RunFolder
from aanlevering.runs.steps import confirmed_before
from aanlevering.settings import load_settings

RUN_ID = "scheduled__2026-10-01T00:00:00+00:00"


def _lock(run: str, *outcomes: str | None) -> list[RunLockTaken | RunLockReleased]:
    """Taken (None) and released (an outcome) facts of ``run`` in this order."""
    common = {"provider_id": "demo-hospital", "registration": "ldtr", "period": "2026-09"}
    expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    return [
        RunLockTaken(**common, run_id=run, expires_at=expires)
        if outcome is None
        else RunLockReleased(**common, run_id=run, outcome=outcome)
        for outcome in outcomes
    ]


@pytest.mark.parametrize(
    ("outcomes", "confirmed"),
    [
        ((None, "delivered"), True),
        ((None, "failed"), False),
        ((None, "delivered", None), False),  # cleared after delivering: running again
        ((None,), False),
    ],
)
def test_only_a_run_whose_last_lock_fact_is_delivered_was_confirmed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    outcomes: tuple[str | None, ...],
    confirmed: bool,
) -> None:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    settings = load_settings()
    path = run_folder_path(settings.staging_dir, settings.provider_id, "ldtr", "2026-09", RUN_ID)
    run = path.name.removeprefix("run-")
    with open_event_store(settings.event_store_url) as store:
        store.append(
            run_lock_stream("demo-hospital", "ldtr", "2026-09"), _lock(run, *outcomes), None
        )

    answer = confirmed_before(RunFolder(path), "ldtr", RUN_ID)

    if confirmed:
        assert answer is not None and answer["status"] == "delivered"
        assert (answer["registration"], answer["period"]) == ("ldtr", "2026-09")
    else:
        assert answer is None
    # Another run's folder name never borrows this run's release.
    assert confirmed_before(RunFolder(path), "ldtr", "another-run") is None
