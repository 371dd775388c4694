"""The reference registry holder accepts a Patient generalised to PC4, nothing more identifying."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aanlevering.counterparts.registry_holder.checks import check_delivery
from aanlevering.deliver.manifest import Manifest, describe_files
from support.holder_manifests import ldtr_manifest

PATIENT = {
    "resourceType": "Patient",
    "id": "p-1",
    "identifier": [
        {
            "system": "https://aanlevering.example/fhir/NamingSystem/pseudonym/ldtr/NGG",
            "value": "NGG:v1:abc",
        }
    ],
    "birthDate": "1961",
}


def _delivery(folder: Path, patient: dict[str, object]) -> Manifest:
    folder.mkdir()
    (folder / "Patient.ndjson").write_text(json.dumps(patient) + "\n")
    files = describe_files(folder, {"Patient.ndjson": 1}, {})
    return ldtr_manifest(files, format="fhir-ndjson", record_counts={"trauma": 1})


def test_a_pc4_address_is_accepted(tmp_path: Path) -> None:
    patient = {**PATIENT, "address": [{"postalCode": "3511"}]}
    assert check_delivery(tmp_path / "d", _delivery(tmp_path / "d", patient)) == []


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"address": [{"postalCode": "3511AB"}]}, "beyond a 4-digit postal code"),
        ({"address": [{"postalCode": "3511", "city": "Utrecht"}]}, "beyond a 4-digit"),
        ({"address": [{"line": ["Dorpsstraat 1"]}]}, "beyond a 4-digit postal code"),
        ({"name": [{"family": "Jansen"}]}, "name or telecom"),
        ({"telecom": [{"system": "phone", "value": "0612345678"}]}, "name or telecom"),
    ],
)
def test_anything_more_identifying_is_refused(
    tmp_path: Path, extra: dict[str, object], problem: str
) -> None:
    problems = check_delivery(tmp_path / "d", _delivery(tmp_path / "d", {**PATIENT, **extra}))
    assert problems and problem in problems[0]


# --- the validation report travelling with the delivery (issue 14) ---------------------------


def _with_report(folder: Path, report: object, media_type: str = "application/json") -> Manifest:
    from dataclasses import replace

    manifest = _delivery(folder, PATIENT)
    text = report if isinstance(report, str) else json.dumps(report)
    (folder / "validation-report.json").write_text(text, encoding="utf-8")
    reports = describe_files(
        folder, {"validation-report.json": 0}, {"validation-report.json": media_type}
    )
    return replace(manifest, reports=reports)


GOOD_REPORT = {
    "report": "aanlevering validation report",
    "registration": {"id": "ldtr"},
    "period": {"label": "2026-03"},
    "provider": {"id": "h"},
    "accounting": {"delivered": 1},
}


def test_the_report_of_this_delivery_is_accepted(tmp_path: Path) -> None:
    manifest = _with_report(tmp_path / "d", GOOD_REPORT)
    assert check_delivery(tmp_path / "d", manifest) == []


@pytest.mark.parametrize(
    ("report", "media_type", "problem"),
    [
        ({**GOOD_REPORT, "registration": {"id": "dica-dsaa"}}, "application/json", "is for"),
        ({**GOOD_REPORT, "period": {"label": "2026-04"}}, "application/json", "is for"),
        ({**GOOD_REPORT, "provider": {"id": "other"}}, "application/json", "names provider"),
        ({**GOOD_REPORT, "report": "something else"}, "application/json", "not a validation"),
        ({**GOOD_REPORT, "registration": "ldtr"}, "application/json", "is for"),
        ("[" * 100_000, "application/json", "not valid JSON"),
        (GOOD_REPORT, "application/zip", "must be JSON or HTML"),
    ],
)
def test_a_report_that_is_not_this_deliverys_is_refused(
    tmp_path: Path, report: object, media_type: str, problem: str
) -> None:
    manifest = _with_report(tmp_path / "d", report, media_type)
    problems = check_delivery(tmp_path / "d", manifest)
    assert any(problem in p and "validation-report.json" in p for p in problems), problems


def test_a_report_changed_on_the_way_fails_its_checksum(tmp_path: Path) -> None:
    manifest = _with_report(tmp_path / "d", GOOD_REPORT)
    (tmp_path / "d" / "validation-report.json").write_text(
        json.dumps({**GOOD_REPORT, "accounting": {"delivered": 2}}), encoding="utf-8"
    )
    assert check_delivery(tmp_path / "d", manifest) == [
        "validation-report.json: sha256 differs from the manifest"
    ]


def test_reports_travel_in_the_manifest_but_do_not_bind_the_receipt(tmp_path: Path) -> None:
    from dataclasses import replace

    manifest = _with_report(tmp_path / "d", GOOD_REPORT)
    parsed = Manifest.from_json(manifest.to_json())
    assert parsed == manifest
    assert [f.name for f in parsed.transferred()] == ["Patient.ndjson", "validation-report.json"]
    # A restaged version regenerates its report (another time): the same receipt still fits.
    assert replace(manifest, reports=()).sha256() == manifest.sha256()
    unsafe = replace(manifest, reports=(replace(manifest.reports[0], name="../x.json"),))
    assert unsafe.unsafe_file_names() == ["../x.json"]


# --- identifiers and BSN-like values in every resource (decision 0432) ----------------------


def test_a_terminology_code_that_passes_the_eleven_test_is_accepted(tmp_path: Path) -> None:
    """A nine-digit SNOMED code may pass the BSN test by chance: codes are not scanned.

    The coding sits in the Patient's ``meta`` (a tag): a delivered Patient holds no
    other coded element (decision 1062).
    """
    tag = {"system": "http://snomed.info/sct", "code": "111222333"}
    coded = {**PATIENT, "meta": {**PATIENT.get("meta", {}), "tag": [tag]}}
    assert check_delivery(tmp_path / "d", _delivery(tmp_path / "d", coded)) == []


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"identifier": [{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "x"}]}, "BSN"),
        (
            {
                "identifier": [
                    {
                        "system": "https://aanlevering.example/fhir/NamingSystem/pseudonym/ldtr/B",
                        "value": "B:v1:abc",
                    }
                ]
            },
            "not a pseudonym of registration 'ldtr' of an approved type",
        ),
        ({"generalPractitioner": [{"display": "1112.22.333"}]}, "looks like a BSN"),
    ],
)
def test_an_identifier_or_bsn_like_text_is_refused_without_its_value(
    tmp_path: Path, extra: dict[str, object], problem: str
) -> None:
    problems = check_delivery(tmp_path / "d", _delivery(tmp_path / "d", {**PATIENT, **extra}))
    assert problems and problem in problems[0], problems
    assert not any("111222333" in p or "1112.22.333" in p or "B:v1" in p for p in problems)


@pytest.mark.parametrize("where", ["value", "key"])
def test_a_report_holding_a_bsn_like_text_is_refused_without_it(tmp_path: Path, where: str) -> None:
    """A report holds counts only (decision 0438): a failing row's BSN must not travel in it."""
    bsn = "1112.22.333"  # passes the eleven-test; never a real person
    failures = {"examples": [f"row 7: {bsn}"]} if where == "value" else {bsn: 1}
    manifest = _with_report(tmp_path / "d", {**GOOD_REPORT, "failures": failures})
    problems = check_delivery(tmp_path / "d", manifest)
    assert (
        problems
        and "validation-report.json: the report holds a value that looks like a BSN" in problems[0]
    )
    assert not any(bsn in p or "111222333" in p for p in problems)


def test_an_html_report_holding_a_bsn_like_text_is_refused(tmp_path: Path) -> None:
    manifest = _delivery(tmp_path / "d", PATIENT)
    html = tmp_path / "d" / "validation-report.html"
    html.write_text("<html><body><p>rows: 12</p><p>failed: 111222333</p></body></html>")
    reports = describe_files(
        tmp_path / "d", {"validation-report.html": 0}, {"validation-report.html": "text/html"}
    )
    from dataclasses import replace

    problems = check_delivery(tmp_path / "d", replace(manifest, reports=reports))
    assert problems == [
        "validation-report.html: the report holds a value that looks like a BSN (nine digits "
        "passing the eleven-test): a report holds counts only"
    ]
