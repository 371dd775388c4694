"""An operator's hand-over command waits as long as it is told for an Airflow run (0961).

An Airflow run holds its period's run lock from its first task to its last,
between its tasks too, possibly for hours; ``confirm-upload`` waited
``AANLEVERING_RUN_LOCK_WAIT`` (30 s) and then stopped with exit 2 saying only
"a run ... is going". The command, in its own process as an operator runs
it, now says which run holds the period, since when and at which step, and
``--wait SECONDS`` lets it record as soon as that run lets the period go.
The lock is held as an Airflow run holds it (a lease, no process), its run
folder as the pipeline writes it.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

from aanlevering.deliver.ledger import load_ledger
from aanlevering.pipeline.lock import LockScope, acquire, release
from aanlevering.pipeline.state import JsonStateFile, run_folder_path
from conftest import CATALOGUE, World
from support.handover import PERIOD, REG, append_outbox_handover

AIRFLOW_RUN = "scheduled__2026-04-01T00:00:00+00:00"
CONFIRM = ["confirm-upload", "--registration", REG, "--period", PERIOD, "--version", "1"]


def test_confirm_upload_names_the_airflow_run_and_waits_when_told(world: World) -> None:
    settings = world.settings
    scope = LockScope(settings.provider_id, REG, PERIOD)
    folder = run_folder_path(settings.staging_dir, settings.provider_id, REG, PERIOD, AIRFLOW_RUN)
    run_id = folder.name.removeprefix("run-")
    JsonStateFile(folder).update({"run_id": run_id, "status": "pseudonymised"})
    with world.store() as store:
        append_outbox_handover(store)
        acquire(store, scope, run_id, lease=timedelta(hours=1))  # between two tasks

    refused = world.cli(CATALOGUE, *CONFIRM, env={"AANLEVERING_RUN_LOCK_WAIT": "1"})
    assert refused.returncode == 2, (refused.stdout, refused.stderr[-2000:])
    err = refused.stderr
    assert "confirm-upload: nothing recorded" in err, err[-2000:]
    assert f"run {run_id}" in err and "last step: pseudonymised" in err, err[-2000:]
    assert re.search(r"holds it since \d{4}-\d\d-\d\d \d\d:\d\d UTC", err), err[-2000:]
    assert "an Airflow run" in err and "--wait SECONDS" in err, err[-2000:]
    with world.store() as store:
        (entry,) = load_ledger(store).versions(REG, PERIOD)
    assert not entry.delivered  # nothing recorded

    def the_run_ends() -> None:
        time.sleep(4)
        with world.store() as store:
            release(store, scope, run_id, "handed-over")

    ending = threading.Thread(target=the_run_ends)
    started = time.monotonic()
    ending.start()
    try:
        waited = world.cli(
            CATALOGUE, *CONFIRM, "--wait", "120", env={"AANLEVERING_RUN_LOCK_WAIT": "1"}
        )
    finally:
        ending.join()
    assert waited.returncode == 0, (waited.stdout, waited.stderr[-2000:])
    assert time.monotonic() - started >= 3.5  # past the setting's 1 s: it waited for the run
    assert "confirmed:" in waited.stdout, waited.stdout
    with world.store() as store:
        (entry,) = load_ledger(store).versions(REG, PERIOD)
    assert entry.delivered
