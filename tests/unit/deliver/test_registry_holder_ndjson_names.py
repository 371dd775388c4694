"""An NDJSON file whose name names no resource type is refused, and still read (1000).

Why read: the name is a problem of the file's form; what it holds is readable
and is what the hospital sends again under its type's name, so its records
are counted and its references checked, and one refusal names every problem
(decision 0985) instead of hiding every count behind the name.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aanlevering.counterparts.registry_holder.checks import check_delivery
from aanlevering.counterparts.registry_holder.refusal import IN_ALL, PER_FILE
from aanlevering.deliver.manifest import Manifest, describe_files
from support.holder_manifests import ldtr_manifest

#: A record of dataset trauma whose Patient is in no file of the delivery.
RESPONSE = {
    "resourceType": "QuestionnaireResponse",
    "id": "q-1",
    "status": "completed",
    "questionnaire": "https://aanlevering.example/fhir/Questionnaire/ltr-trauma|2026.1",
    "subject": {"reference": "Patient/p-1"},
}

NAMED_NO_TYPE = (
    "export.ndjson: an NDJSON file whose name names no FHIR resource type "
    "(expected <ResourceType>.ndjson or <ResourceType>.<nnn>.ndjson)"
)


def _delivery(folder: Path, texts: dict[str, str], claimed: int) -> Manifest:
    folder.mkdir()
    for name, text in texts.items():
        (folder / name).write_text(text)
    records = {name: len(text.splitlines()) for name, text in texts.items()}
    files = describe_files(folder, records, {name: "application/fhir+ndjson" for name in texts})
    return ldtr_manifest(files, format="fhir-ndjson", record_counts={"trauma": claimed})


def test_the_records_of_a_file_named_by_no_type_are_still_counted_and_checked(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "d"
    manifest = _delivery(folder, {"export.ndjson": json.dumps(RESPONSE) + "\n"}, claimed=2)
    problems = check_delivery(folder, manifest)
    assert problems[0] == NAMED_NO_TYPE
    assert "record_counts says 2 record(s) of dataset 'trauma', the files hold 1" in problems
    assert "export.ndjson line 1: reference to a Patient that is not in the delivery" in problems
    assert not [p for p in problems if "q-1" in p or "p-1" in p]  # never a value


def test_the_name_is_kept_when_other_files_lines_fill_the_refusal(tmp_path: Path) -> None:
    """A problem of a file as a whole, as a count: left out after every line's (0985)."""
    damaged = "".join(json.dumps({"id": f"x-{n}"}) + "\n" for n in range(PER_FILE + 5))
    texts = {f"Patient.{part:03}.ndjson": damaged for part in range(6)}
    texts["export.ndjson"] = json.dumps(RESPONSE) + "\n"  # the last file read
    folder = tmp_path / "d"
    problems = check_delivery(folder, _delivery(folder, texts, claimed=1))
    assert len(problems) == IN_ALL
    assert NAMED_NO_TYPE in problems


def test_a_file_named_by_its_type_or_a_numbered_part_of_it_is_no_such_problem(
    tmp_path: Path,
) -> None:
    patient = {"resourceType": "Patient", "id": "p-1", "gender": "female"}
    texts = {
        "Patient.ndjson": json.dumps(patient) + "\n",
        "QuestionnaireResponse.000.ndjson": json.dumps(RESPONSE) + "\n",
    }
    folder = tmp_path / "d"
    assert check_delivery(folder, _delivery(folder, texts, claimed=1)) == []


@pytest.mark.parametrize("name", ["Patient.v2.ndjson", "Patient.1a.ndjson", "Patient..ndjson"])
def test_a_type_named_in_another_form_than_an_export_gives_is_refused(
    tmp_path: Path, name: str
) -> None:
    """Only ``<Type>.ndjson`` and ``<Type>.<n>.ndjson`` are export names (1000)."""
    patient = {"resourceType": "Patient", "id": "p-1", "gender": "female"}
    texts = {
        name: json.dumps(patient) + "\n",
        "QuestionnaireResponse.007.ndjson": json.dumps(RESPONSE) + "\n",
    }
    folder = tmp_path / "d"
    assert check_delivery(folder, _delivery(folder, texts, claimed=1)) == [
        f"{name}: an NDJSON file named otherwise than "
        "<ResourceType>.ndjson or <ResourceType>.<nnn>.ndjson"
    ]
