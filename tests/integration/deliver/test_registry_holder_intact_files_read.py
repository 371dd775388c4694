"""A manifest or arrival problem no longer hides what is wrong in the files that arrived whole.

When the manifest was wrong, or one file's size or hash was not the
manifest's, the reference holder named only that and read no file: what was
wrong inside the others came to light in a second round. Now every file
whose bytes are the ones the manifest describes is read and checked, and
one refusal names it all; a file that did not arrive as described is never
read as if it were the one sent (decision 1003). The holder is a real process.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import PATIENT, RESPONSE, stage  # module level: a later import may find another
from support.holder_requests import ndjson_lines, refusal_text, restaged
from support.holder_requests import send as _send
from support.holder_sending import ndjson_texts, problems_with
from support.registry_holder import RegistryHolder

#: The refusal of the intact QuestionnaireResponse file's damaged second line.
_SECOND_LINE = "QuestionnaireResponse.ndjson line 2: resource without resourceType"


def _changed(path: Path, how: str) -> None:
    """Change ``path`` after the manifest described it, so that reading it would refuse it."""
    text = path.read_text()
    if how == "same size":  # an invalid gender, as many bytes: only the hash tells
        path.write_text(text.replace('"female"', '"banana"'))
    else:  # a line more, of no resource: counted and refused if it were read
        path.write_text(text + '{"id": "y"}\n')


@pytest.mark.parametrize(
    ("how", "arrival"),
    [
        ("same size", "sha256 differs from the manifest"),
        ("longer", "{size} bytes, manifest says {described}"),
    ],
)
def test_a_file_that_did_not_arrive_as_described_is_not_read_the_others_are(
    hospital_holder: RegistryHolder, tmp_path: Path, how: str, arrival: str
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    manifest = restaged(
        folder,
        manifest,
        {
            "Patient.ndjson": ndjson_lines(PATIENT),
            "QuestionnaireResponse.ndjson": ndjson_lines(RESPONSE, {"id": "x"}),
        },
    )
    patients = folder / "Patient.ndjson"
    described = patients.stat().st_size
    _changed(patients, how)
    said = arrival.format(size=patients.stat().st_size, described=described)
    problems = json.loads(refusal_text(_send(hospital_holder, folder, manifest)))["problems"]
    # Nothing of the changed file (line 1 or 2 of Patient.ndjson, its count), and no
    # reference to the Patient said to resolve to nothing: it was not read.
    assert problems == [
        f"Patient.ndjson: {said}; its records were not counted",
        _SECOND_LINE,
    ]
    assert hospital_holder.ledger() == []


def test_a_manifest_problem_and_the_files_problems_in_one_refusal(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    problems = problems_with(
        hospital_holder,
        folder,
        manifest,
        ndjson_texts(Patient=(PATIENT,), QuestionnaireResponse=(RESPONSE, {"id": "x"})),
        period_end="2026-05-01",
    )
    assert problems == [
        "period_start 2026-03-01 and period_end 2026-05-01 are not those of period 2026-03 "
        "(from 2026-03-01, before 2026-04-01)",
        _SECOND_LINE,
    ]


def test_a_manifest_naming_a_file_twice_has_no_file_read(
    hospital_holder: RegistryHolder, tmp_path: Path
) -> None:
    """Its list is no list of files: which description is the file's is not known."""
    folder = tmp_path / "d"
    manifest = stage(folder, provider=hospital_holder.hospital)
    manifest = restaged(
        folder,
        manifest,
        {
            "Patient.ndjson": ndjson_lines(PATIENT),
            "QuestionnaireResponse.ndjson": ndjson_lines(RESPONSE, {"id": "x"}),
        },
    )
    manifest = replace(manifest, files=(manifest.files[0], *manifest.files))
    problems = json.loads(refusal_text(_send(hospital_holder, folder, manifest)))["problems"]
    assert problems == ["Patient.ndjson: named more than once in the manifest"]
