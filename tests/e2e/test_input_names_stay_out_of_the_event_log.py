"""An export folder named after a patient stays out of the event log; its retry refuses (0730).

``DeliveryStaged`` records the input a run read so the hourly retry reruns it
(0665). A hospital that exports one patient's records into a folder named after
the patient (``patient_0069386181``) put that patient number into the
append-only log. The payload now holds the path as every message shows it (the
part that may name a patient replaced by its place), says so, and the retry of
such a version refuses instead of reading another export. Real TTP, real
registry holder process, real event log.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aanlevering.deliver.ledger import load_ledger
from aanlevering.errors import DeliveryError
from aanlevering.events.registry import decode
from aanlevering.runs.retry import retry_unreceipted
from conftest import World
from support.receivers import REGISTRATION, TODAY, https_receiver, run

PATIENT_NUMBER = "0069386181"
PERIOD = "2026-Q2"


def test_a_per_patient_export_folder_is_not_recorded_and_its_retry_refuses(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    receiver = https_receiver(world)
    source = tmp_path / f"patient_{PATIENT_NUMBER}"
    shutil.copytree(world.demo / "csv-utf8", source)
    monkeypatch.setenv("AANLEVERING_INPUT__DICA_DSAA", str(world.demo / "csv-utf8"))
    world.holder.faults(fail_commits=5)  # the send fails: the version waits for the retry
    with pytest.raises(DeliveryError, match="not receipted after 5 attempts"):
        run(world, receiver, source, PERIOD)

    with world.store() as store:
        records = list(store.read_all())
        entry = load_ledger(store).current(REGISTRATION, PERIOD)
    logged = "\n".join(f"{r.stream} {r.payload} {r.metadata}" for r in records)
    assert PATIENT_NUMBER not in logged and PATIENT_NUMBER.lstrip("0") not in logged
    (staged,) = [decode(r) for r in records if r.event_type == "deliver.DeliveryStaged"]
    assert staged.input_withheld  # type: ignore[attr-defined]
    assert staged.input_path == f"{tmp_path}/<input file 1 of 1, no extension, name withheld>"  # type: ignore[attr-defined]
    assert entry is not None and entry.input_withheld
    held = set(receiver.held())

    outcomes = retry_unreceipted(today=TODAY)

    (outcome,) = [o for o in outcomes if o.idempotency_key == entry.idempotency_key]
    assert outcome.status == "failed", outcome
    assert "name was withheld" in outcome.detail and "aanlevering run" in outcome.detail
    assert PATIENT_NUMBER not in outcome.detail
    assert set(receiver.held()) == held  # neither this export nor the default was sent
