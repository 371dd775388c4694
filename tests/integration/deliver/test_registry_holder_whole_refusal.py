"""A refusal names every problem the reference holder found, in one bounded answer (0985).

A file with one damaged row could not be counted, and the holder then
checked no record count and no reference at all: a count wrong in another
file came to light only after the damaged one was fixed, a second round for
the hospital. Now only what the unread file leaves unknown goes unchecked
(its dataset, references to its type). The holder is a real process.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from aanlevering.deliver.manifest import Manifest, describe_files
from conftest import PATIENT, RESPONSE, stage  # module level: a later import may find another
from support.holder_requests import ndjson_lines, refusal_text
from support.holder_requests import send as _send
from support.holder_sending import refusal_of
from support.registry_holder import RegistryHolder


def _csv_delivery(folder: Path, manifest: Manifest, files: dict[str, bytes]) -> Manifest:
    for item in manifest.files:
        (folder / item.name).unlink()
    for name, body in files.items():
        (folder / name).write_bytes(body)
    rows = {name: body.count(b"\n") - 1 for name, body in files.items()}
    described = describe_files(folder, rows, {name: "text/csv" for name in files})
    return replace(manifest, format="csv", files=described)


def test_a_damaged_csv_row_hides_no_count_of_another_file(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    manifest = _csv_delivery(
        folder,
        manifest,
        {
            "trauma.csv": b"NGG;leeftijd\nNGG:v1:abc;61\nNGG:v1:def\n",
            "opname.csv": b"NGG;dagen\nNGG:v1:abc;4\nNGG:v1:def;2\n",
        },
    )
    manifest = replace(manifest, record_counts={"trauma": 2, "opname": 3})
    refusal = refusal_text(_send(hospital_holder, folder, manifest))
    assert "trauma.csv line 3: expected 2 cells as the header, found 1" in refusal
    assert "record_counts says 3 record(s) of dataset 'opname', the files hold 2" in refusal
    assert "dataset 'trauma'" not in refusal  # its records were not counted: no count made up


def test_an_unreadable_patient_file_hides_no_record_count(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    refusal = refusal_of(
        hospital_holder,
        folder,
        manifest,
        {
            "Patient.ndjson": ndjson_lines(PATIENT) + '{"resourceType": "Patient", "id": "p-',
            "QuestionnaireResponse.ndjson": ndjson_lines(
                RESPONSE, RESPONSE | {"id": "q-2", "subject": {"reference": "Patient/p-2"}}
            ),
        },
    )
    assert "Patient.ndjson line 2:" in refusal and "its records were not counted" in refusal
    assert "record_counts says 1 record(s) of dataset 'trauma', the files hold 2" in refusal
    assert "reference to a Patient" not in refusal  # p-2 may be on the line not read
