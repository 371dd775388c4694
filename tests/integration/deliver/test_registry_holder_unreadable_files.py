"""A file the reference registry holder cannot read is refused for that reason only (0970).

The refusal of an unreadable file (not UTF-8, broken CSV quoting, a cut-off
NDJSON line) also said "0 records, manifest says N" and "the files hold 0":
a count mismatch that was only a consequence of not reading the file, so the
hospital read two reasons, one false. Now it names the file, the line and
what was expected, and says its records were not counted; a readable file's
count mismatch is still refused as one. The holder is a real process.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from aanlevering.deliver.manifest import Manifest, describe_files
from conftest import (  # module level: a later import may find another conftest
    PATIENT,
    RESPONSE,
    send_csv,
    stage,
)
from support.holder_requests import refusal_text
from support.holder_requests import send as _send
from support.holder_sending import refusal_of
from support.registry_holder import RegistryHolder

#: What a count mismatch caused by not reading a file used to add to the refusal.
_FALSE_REASONS = ("0 records", "the files hold 0", "manifest says")


def test_a_csv_that_is_not_utf8_is_refused_naming_its_line_only(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    body = "NGG;leeftijd\nNGG:v1:abc;61\nNGG:v1:d\xe9f;70\n".encode("latin-1")
    refusal = refusal_text(send_csv(registry_holder, folder, body, 2))
    assert "trauma.csv line 3: not UTF-8 text" in refusal
    assert "its records were not counted" in refusal
    assert not [false for false in _FALSE_REASONS if false in refusal], refusal
    assert registry_holder.ledger() == []


def test_a_csv_cut_off_inside_a_quoted_cell_is_refused_naming_its_line(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    body = b'NGG;leeftijd;opmerking\nNGG:v1:abc;61;\nNGG:v1:def;70;"afgebr'
    refusal = refusal_text(send_csv(registry_holder, folder, body, 2))
    assert "trauma.csv line 3: not readable as CSV" in refusal
    assert "afgebr" not in refusal  # never a value
    assert not [false for false in _FALSE_REASONS if false in refusal], refusal


def test_an_ndjson_file_cut_off_mid_line_is_refused_naming_its_line_only(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=registry_holder.hospital)
    whole = json.dumps(RESPONSE)
    refusal = refusal_of(
        registry_holder,
        folder,
        manifest,
        {
            "Patient.ndjson": (folder / "Patient.ndjson").read_bytes(),
            "QuestionnaireResponse.ndjson": f"{whole}\n{whole[:40]}",
        },
        record_counts={"trauma": 2},
    )
    assert "QuestionnaireResponse.ndjson line 2:" in refusal
    assert "its records were not counted" in refusal
    assert not [false for false in _FALSE_REASONS if false in refusal], refusal


def test_an_ndjson_file_not_utf8_is_refused_naming_its_line(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    manifest = stage(folder, provider=registry_holder.hospital)
    patient = (folder / "Patient.ndjson").read_bytes()
    refusal = refusal_of(
        registry_holder,
        folder,
        manifest,
        {
            "Patient.ndjson": patient + b'{"resourceType": "Patient", "id": "p-\xff"}\n',
            "QuestionnaireResponse.ndjson": (folder / "QuestionnaireResponse.ndjson").read_bytes(),
        },
    )
    assert "Patient.ndjson line 2: not UTF-8 text" in refusal
    assert not [false for false in _FALSE_REASONS if false in refusal], refusal


def test_a_readable_csv_with_another_count_is_still_refused_for_its_count(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    folder = tmp_path / "d"
    body = b"NGG;leeftijd\nNGG:v1:abc;61\nNGG:v1:def;70\n"
    refusal = refusal_text(send_csv(registry_holder, folder, body, 3))
    assert "record_counts says 3 record(s) of dataset 'trauma', the files hold 2" in refusal
    assert "trauma.csv: 2 records, manifest says 3" in refusal
    assert "not counted" not in refusal


def _bundle_delivery(folder: Path, manifest: Manifest, document: object, claimed: int) -> Manifest:
    for item in manifest.files:
        (folder / item.name).unlink()
    (folder / "delivery.json").write_text(json.dumps(document))
    files = describe_files(
        folder, {"delivery.json": claimed}, {"delivery.json": "application/fhir+json"}
    )
    return replace(manifest, files=files, format="fhir-bundle")


def test_a_json_file_that_is_no_bundle_is_refused_for_that_only(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    """A single resource or an entry that is no list is not read: nothing of it is counted."""
    for document in (PATIENT, {"resourceType": "Bundle", "type": "collection", "entry": {}}):
        folder = tmp_path / f"d{len(str(document))}"
        manifest = _bundle_delivery(
            folder, stage(folder, provider=registry_holder.hospital), document, 2
        )
        refusal = refusal_text(_send(registry_holder, folder, manifest))
        assert "delivery.json: " in refusal
        assert "its records were not counted" in refusal
        assert not [false for false in _FALSE_REASONS if false in refusal], refusal
    assert registry_holder.ledger() == []
