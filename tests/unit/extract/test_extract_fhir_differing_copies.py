"""Two copies of one FHIR resource with different contents stop the extract (decision 0802).

Before, any second copy of a type and id was counted and the first one read: a
Procedure exported twice with two dates, or a Patient once with and once without
its BSN, delivered one of the two silently. Identical copies, also written in
another form (a Bundle's pretty-printed Patient and the NDJSON line), stay
allowed and counted.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aanlevering.catalogue import RegistrationConfig
from aanlevering.errors import ExtractError
from aanlevering.extract.fhir import _Plan
from aanlevering.extract.options import ExtractOptions
from aanlevering.periods import Period

NL = Path(__file__).resolve().parents[2] / "fixtures" / "extract" / "fhir-nl"
YEAR = Period.parse("2026")
IDENTIFYING = ("999911120", "ZH-0042", "Putten", "pat-1", "proc-1", "2026-02-03", "2026-02-04")


def _export(tmp_path: Path) -> Path:
    target = tmp_path / "export"
    shutil.copytree(NL, target)
    return target


def _append(path: Path, line: str) -> int:
    """Append ``line``; its line number."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text + line + "\n", encoding="utf-8")
    return len(text.splitlines()) + 1


def _first(path: Path) -> str:
    return path.read_text(encoding="utf-8").splitlines()[0]


def _refused(config: RegistrationConfig, folder: Path) -> list[str]:
    plan = _Plan.of(config, None)
    messages = []
    for read in (plan.streamed, plan.stored):
        with pytest.raises(ExtractError) as raised:
            read(folder, YEAR)
        assert raised.value.exit_code == 2
        message = str(raised.value)
        assert not [value for value in IDENTIFYING if value in message], message
        messages.append(message)
    return messages


def test_a_procedure_twice_with_another_date_is_refused_naming_both_places(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = _export(tmp_path)
    line = _first(folder / "Procedure.ndjson")
    assert '"performedDateTime":"2026-02-03T09:30:00+01:00"' in line
    number = _append(folder / "Procedure.ndjson", line.replace("2026-02-03T09", "2026-02-04T09"))
    for message in _refused(dsaa, folder):
        assert message.startswith(f"Procedure.ndjson:1 and Procedure.ndjson:{number}: ")
        assert "the same Procedure (same resource type and id) appears twice" in message


def test_a_patient_copy_without_its_bsn_is_refused(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = _export(tmp_path)
    patient = json.loads(_first(folder / "Patient.ndjson"))
    patient["identifier"] = patient["identifier"][1:]  # the BSN left out
    number = _append(folder / "Patient.ndjson", json.dumps(patient))
    for message in _refused(dsaa, folder):
        assert f"Patient.ndjson:1 and Patient.ndjson:{number}: the same Patient" in message


def test_identical_copies_in_other_forms_are_read_once_and_counted(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = _export(tmp_path)
    clean = _Plan.of(dsaa, None).streamed(_export(tmp_path / "clean"), YEAR)
    procedure = _first(folder / "Procedure.ndjson")
    _append(folder / "Procedure.ndjson", procedure)  # the same line again
    patient = json.loads(_first(folder / "Patient.ndjson"))
    shuffled = dict(reversed(list(patient.items())))  # other member order, pretty-printed
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": shuffled}]}
    (folder / "bundle.json").write_text(json.dumps(bundle, indent=2), encoding="utf-8")
    plan = _Plan.of(dsaa, None)
    for read in (plan.streamed, plan.stored):
        extracted = read(folder, YEAR)
        for name, dataset in extracted.datasets.items():
            assert dataset.num_rows == clean.datasets[name].num_rows
        assert extracted.duplicates.get("operatie", 0) >= 1


def test_differing_copies_are_refused_by_a_read_in_worker_processes(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    """Compared after the parts are joined: a worker sees only its own part."""
    folder = _export(tmp_path)
    line = _first(folder / "Procedure.ndjson")
    number = _append(folder / "Procedure.ndjson", line.replace("2026-02-03T09", "2026-02-04T09"))
    options = ExtractOptions(work_dir=tmp_path / "work", read_workers=2, parallel_min_bytes=0)
    plan = _Plan.of(dsaa, options)
    with pytest.raises(ExtractError) as raised:
        plan.streamed(folder, YEAR)
    assert str(raised.value).startswith(f"Procedure.ndjson:1 and Procedure.ndjson:{number}: ")
