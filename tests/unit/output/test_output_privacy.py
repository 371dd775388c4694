"""Privacy: no delivered byte, result or log line contains an identifier of the input.

The input holds BSNs, names (own, partner, given), MRNs, full birth dates,
postcodes, street addresses, phone numbers and source ids, in the identity
table and in a FHIR source (Patients, narratives, notes, displays, contained
Patients, identifying extensions). Every output file of every format is
searched for each of them, case-insensitively.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pytest

from aanlevering.fhir.validate import VALIDATE_ALL
from aanlevering.output.content import DeliveryInput
from aanlevering.output.writer import write_delivery


def _leaks(data: bytes, identifying: tuple[str, ...]) -> list[str]:
    text = data.decode("utf-8").lower()
    return [value for value in identifying if value.lower() in text]


def test_the_input_really_contains_the_identifiers(
    delivery: Callable[..., DeliveryInput], identifying: tuple[str, ...]
) -> None:
    """Guards the test below: the identifiers it looks for are in what the writers get."""
    content = delivery("ldtr", fhir_source=True)
    identity = json.dumps(
        [d.identity.to_pylist() for d in content.datasets.values()], ensure_ascii=False
    )
    source = json.dumps(
        [s.resource for s in (*content.source_patients.values(), *content.source_resources)],
        ensure_ascii=False,
    )
    everything = (identity + source).lower()
    compact = everything.replace(" ", "")  # "1012NX" is the compact spelling of "1012 NX"
    # derived spellings (compact postcode, ISO or Dutch date order) count as present
    missing = [
        v
        for v in identifying
        if not any(
            form.lower() in everything or form.lower() in compact
            for form in (v, "-".join(reversed(v.split("-"))))
        )
    ]
    assert missing == []


@pytest.mark.parametrize("registration", ["dica-dsaa", "ldtr", "nkr-borst"])
@pytest.mark.parametrize("format_", ["csv", "fhir-ndjson", "fhir-bundle"])
def test_no_identifier_reaches_any_delivered_file(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    delivery: Callable[..., DeliveryInput],
    identifying: tuple[str, ...],
    registration: str,
    format_: str,
) -> None:
    content = delivery(registration, fhir_source=True)
    with caplog.at_level(logging.DEBUG):
        result = write_delivery(tmp_path, content, format_, policy=VALIDATE_ALL, max_entries=5)

    files = sorted(tmp_path.iterdir())
    assert files, "nothing written"
    assert [p.name for p in files] == sorted(f.name for f in result.files)
    for path in files:
        assert _leaks(path.read_bytes(), identifying) == [], path.name
    summary = json.dumps(asdict(result), default=str, ensure_ascii=False).encode()
    assert _leaks(summary, identifying) == []
    assert caplog.records, "the writers log what they wrote"
    logged = "\n".join(r.getMessage() for r in caplog.records).encode()
    assert _leaks(logged, identifying) == []


def test_generalised_forms_are_delivered_but_never_the_full_values(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    write_delivery(tmp_path, delivery("ldtr", fhir_source=True), "fhir-ndjson")
    patients = (tmp_path / "Patient.ndjson").read_text(encoding="utf-8")
    assert '"birthDate":"1950"' in patients
    assert '"postalCode":"1012"' in patients
    assert "1012 NX" not in patients and "1950-03-14" not in patients
