"""An outbox folder whose name may name a patient stays out of the event log (0730, 0903).

``aanlevering run --outbox DIR`` and ``AANLEVERING_OUTBOX__<ID>`` were recorded
as typed: ``DeliveryStaged.outbox`` held the folder, and the outbox's receipt
(``DeliveryReceipted.receiver``) ``outbox:<folder>``, while decision 0730 shows
every input path with a part that may name a patient withheld. A hospital that
places one patient's correction in a folder named after the patient put that
patient number into the append-only log. Now the log holds the folder as 0730
shows it; a retraction, which must go where the version went (0678), finds it
again through ``AANLEVERING_OUTBOX__<ID>`` or refuses, sending nothing
elsewhere. Real CLI processes, TTP and registry holder, the real outbox folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.pipeline.stages import STAGE_NAMES
from aanlevering.runs.steps import run_stage, start_run
from conftest import CATALOGUE, World
from support.receivers import REGISTRATION, TODAY

PATIENT_NUMBER = "0069386181"
SETTING = "AANLEVERING_OUTBOX__DICA_DSAA"


def _logged(world: World) -> str:
    with world.store() as store:
        return "\n".join(f"{r.stream} {r.payload} {r.metadata}" for r in store.read_all())


def _names_the_patient(text: str) -> bool:
    return PATIENT_NUMBER in text or PATIENT_NUMBER.lstrip("0") in text


def test_run_outbox_folder_is_not_recorded_and_a_retraction_finds_it_or_refuses(
    world: World, tmp_path: Path
) -> None:
    world.include(REGISTRATION)
    outbox = tmp_path / f"correctie_{PATIENT_NUMBER}"
    period = ["--registration", REGISTRATION, "--period", "2026-Q1"]
    placed = world.cli(
        CATALOGUE, "run", *period, "--input", str(world.demo / "csv-utf8"), "--outbox", str(outbox)
    )
    assert placed.returncode == 0, placed.stderr[-2000:]
    assert (outbox / "demo-hospital" / REGISTRATION / "2026-Q1" / "v1" / "receipt.json").is_file()
    assert not _names_the_patient(_logged(world))

    # The log cannot say where v1 went: the retraction refuses, nothing goes elsewhere.
    held_before = world.holder.ledger()
    refused = world.cli(CATALOGUE, "retract", *period, "--reason", "wrong registry")
    assert refused.returncode == 2, refused.stdout + refused.stderr[-2000:]
    assert SETTING in refused.stderr and not _names_the_patient(refused.stderr)
    assert world.holder.ledger() == held_before and not (world.home / "outbox").exists()
    assert not (outbox / "demo-hospital" / REGISTRATION / "2026-Q1" / "v2").exists()

    # Told where it is by the registration's setting, it retracts into that folder.
    world.env[SETTING] = str(outbox)
    try:
        retracted = world.cli(CATALOGUE, "retract", *period, "--reason", "wrong registry")
    finally:
        del world.env[SETTING]
    assert retracted.returncode == 0, retracted.stderr[-2000:]
    assert (outbox / "demo-hospital" / REGISTRATION / "2026-Q1" / "v2" / "receipt.json").is_file()
    assert not _names_the_patient(_logged(world))


def test_a_scheduled_runs_outbox_setting_is_not_recorded(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.include(REGISTRATION)
    outbox = tmp_path / f"patient_{PATIENT_NUMBER}"
    monkeypatch.setenv(SETTING, str(outbox))  # as a scheduler's run has it
    started = start_run(REGISTRATION, "2026-Q2", today=TODAY, input_path=world.demo / "csv-utf8")
    summary = started
    for name in STAGE_NAMES[1:]:
        summary = run_stage(name, started["run_dir"])
    assert summary["status"] == "handed-over", summary
    assert (outbox / "demo-hospital" / REGISTRATION / "2026-Q2" / "v1" / "receipt.json").is_file()
    assert not _names_the_patient(_logged(world))
