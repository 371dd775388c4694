"""FHIR output: R4B-valid resources, nl-core Patients, bulk manifests, Bundles, references."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from demo_support import csv_file, ndjson, read_csv
from fhir.resources.R4B import get_fhir_model_class

from aanlevering.catalogue import Catalogue
from aanlevering.demo.fhirbuild import MRN_SYSTEM
from aanlevering.demo.ids import is_valid_bsn
from aanlevering.pseudonym_types import BSN_SYSTEM

REGISTRATIONS = ("dica-dsaa", "ldtr", "nkr-borst")
SD = "http://hl7.org/fhir/StructureDefinition/"
UUID = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def bulk_resources(demo: Path) -> list[dict[str, Any]]:
    return [r for path in sorted((demo / "fhir-bulk").glob("*/*.ndjson")) for r in ndjson(path)]


def references(value: Any) -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                found.append(item)
            else:
                found.extend(references(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(references(item))
    return found


def ext(element: dict[str, Any], name: str) -> Any:
    for item in element.get("extension", []):
        if item["url"] == f"{SD}{name}":
            return next(v for k, v in item.items() if k.startswith("value"))
    return None


def test_bulk_resources_validate_against_r4b(demo_dir: Path) -> None:
    """The first 150 resources of every file (validation is slow; the shapes repeat)."""
    counts: Counter[str] = Counter()
    for path in sorted((demo_dir / "fhir-bulk").glob("*/*.ndjson")):
        for n, resource in enumerate(ndjson(path)):
            if n == 150:
                break
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
            counts[resource["resourceType"]] += 1
    assert {"Patient", "Encounter", "Procedure", "Condition", "Observation", "Consent"} <= set(
        counts
    )


def test_bundles_validate_and_all_three_types_occur(demo_dir: Path) -> None:
    bundle_model = get_fhir_model_class("Bundle")
    for registration in REGISTRATIONS:
        types: Counter[str] = Counter()
        files = sorted((demo_dir / "fhir-bundles" / registration).glob("*.json"))
        assert len(files) == 4  # one per 100 patients
        for path in files:
            bundle = json.loads(path.read_text(encoding="utf-8"))
            if registration == "ldtr" or bundle["type"] == "transaction":
                bundle_model.model_validate(bundle)
            types[bundle["type"]] += 1
        assert set(types) == {"collection", "transaction", "searchset"}


def test_bulk_manifest_lists_exactly_the_files_with_their_counts(demo_dir: Path) -> None:
    for folder in sorted((demo_dir / "fhir-bulk").iterdir()):
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert set(manifest) == {
            "transactionTime",
            "request",
            "requiresAccessToken",
            "output",
            "error",
        }
        assert manifest["requiresAccessToken"] is False
        assert manifest["error"] == []
        assert manifest["transactionTime"].startswith("2027-")
        listed = {item["url"]: item for item in manifest["output"]}
        assert set(listed) == {p.name for p in folder.glob("*.ndjson")}
        for name, item in listed.items():
            lines = (folder / name).read_text(encoding="utf-8").splitlines()
            assert item["count"] == len(lines)
            assert {json.loads(line)["resourceType"] for line in lines} == {item["type"]}
            assert "_type=" in manifest["request"] and item["type"] in manifest["request"]


def test_every_bulk_reference_points_at_a_resource_present(demo_dir: Path) -> None:
    resources = bulk_resources(demo_dir)
    present = {f"{r['resourceType']}/{r['id']}" for r in resources}
    checked = 0
    for resource in resources:
        for reference in references(resource):
            assert reference in present, reference
            checked += 1
    assert checked > 5_000


def test_transaction_bundles_use_urn_uuids_that_resolve(demo_dir: Path) -> None:
    for registration in REGISTRATIONS:
        for path in sorted((demo_dir / "fhir-bundles" / registration).glob("*-transaction.json")):
            bundle = json.loads(path.read_text(encoding="utf-8"))
            full_urls = {entry["fullUrl"] for entry in bundle["entry"]}
            assert all(UUID.match(url) for url in full_urls)
            for entry in bundle["entry"]:
                resource = entry["resource"]
                assert entry["request"] == {
                    "method": "PUT",
                    "url": f"{resource['resourceType']}/{resource['id']}",
                }
                for reference in references(resource):
                    assert reference in full_urls, reference


def test_collection_and_searchset_references_resolve_against_full_urls(demo_dir: Path) -> None:
    for registration in REGISTRATIONS:
        folder = demo_dir / "fhir-bundles" / registration
        for path in [*folder.glob("*-collection.json"), *folder.glob("*-searchset.json")]:
            bundle = json.loads(path.read_text(encoding="utf-8"))
            full_urls = {entry["fullUrl"] for entry in bundle["entry"]}
            base = next(iter(full_urls)).rsplit("/", 2)[0]
            for entry in bundle["entry"]:
                for reference in references(entry["resource"]):
                    assert f"{base}/{reference}" in full_urls, reference
            if bundle["type"] == "searchset":
                matches = [e for e in bundle["entry"] if e["search"]["mode"] == "match"]
                assert bundle["total"] == len(matches) > 0


def test_patients_follow_nl_core(demo_dir: Path, catalogue: Catalogue) -> None:
    patients = list(ndjson(demo_dir / "fhir-bulk" / "dica-dsaa" / "Patient.ndjson"))
    rows = read_csv(
        csv_file(demo_dir, catalogue.get("dica-dsaa"), "operatie", "csv-utf8"), "utf-8-sig"
    )
    by_mrn = {r["PATIENTNUMMER"]: r for r in rows}
    qualifiers: Counter[str] = Counter()
    for patient in patients:
        identifiers = {i["system"]: i["value"] for i in patient["identifier"]}
        bsn, mrn = identifiers[BSN_SYSTEM], identifiers[MRN_SYSTEM]
        row = by_mrn[mrn]
        assert row["BSN"] == bsn
        official = next(n for n in patient["name"] if n["use"] == "official")
        family = official["_family"]
        assert ext(family, "humanname-own-name") == row["GESLACHTSNAAM"]
        assert (ext(family, "humanname-own-prefix") or "") == row["VOORVOEGSELS"]
        assert (ext(family, "humanname-partner-name") or "") == row["PARTNERNAAM"]
        assert (ext(family, "humanname-partner-prefix") or "") == row["PARTNERVOORVOEGSELS"]
        in_use = ext(official, "humanname-assembly-order")
        shown = row["PARTNERNAAM"] if in_use == "NL2" else row["GESLACHTSNAAM"]
        assert shown in official["family"]
        for given in official["_given"]:
            qualifiers[ext(given, "iso21090-EN-qualifier")] += 1
        for name in patient["name"]:
            if name["use"] == "usual":
                assert ext(name["_given"][0], "iso21090-EN-qualifier") == "CL"
        address = patient["address"][0]
        assert address["postalCode"] == row["POSTCODE"]
        line = address["_line"][0]
        assert ext(line, "iso21090-ADXP-houseNumber") == row["HUISNUMMER"]
        assert (ext(line, "iso21090-ADXP-buildingNumberSuffix") or "") == row[
            "HUISNUMMERTOEVOEGING"
        ]
        assert ext(line, "iso21090-ADXP-streetName") in address["line"][0]
        day, month, year = row["GEBOORTEDATUM"].split("-")
        assert patient["birthDate"] == f"{year}-{month}-{day}"
        assert patient["gender"] == {"M": "male", "V": "female", "O": "other"}[row["GESLACHT"]]
    assert qualifiers["BR"] and qualifiers["IN"]
    assert (
        any(not is_valid_bsn(p["identifier"][0]["value"]) for p in patients) or len(patients) < 300
    )


def test_partner_names_in_use_are_double_barrelled(demo_dir: Path) -> None:
    families = [
        name["family"]
        for patient in ndjson(demo_dir / "fhir-bulk" / "nkr-borst" / "Patient.ndjson")
        for name in patient["name"]
        if name["use"] == "official"
    ]
    assert any(re.match(r"^\S.*-.*\s", family) for family in families)


def test_mapping_shapes_are_present(demo_dir: Path) -> None:
    """Spot checks of what the registrations' source.fhir mappings read."""
    procedure = next(ndjson(demo_dir / "fhir-bulk" / "dica-dsaa" / "Procedure.ndjson"))
    codes = {c["system"]: c["code"] for c in procedure["code"]["coding"]}
    assert codes["https://aanlevering.example/fhir/CodeSystem/verrichting"].startswith("AAA-")
    assert procedure["encounter"]["reference"].startswith("Encounter/")
    assert procedure["reasonReference"][0]["reference"].startswith("Condition/")
    observations = list(ndjson(demo_dir / "fhir-bulk" / "dica-dsaa" / "Observation.ndjson"))
    diameter = next(o for o in observations if o["code"]["coding"][0]["code"] == "AAA-DIAMETER")
    assert diameter["partOf"] == [{"reference": f"Procedure/{procedure['id']}"}] or diameter[
        "partOf"
    ][0]["reference"].startswith("Procedure/")
    assert diameter["valueQuantity"]["unit"] == "mm"
    encounter = next(ndjson(demo_dir / "fhir-bulk" / "ldtr" / "Encounter.ndjson"))
    assert encounter["type"][0]["coding"][0]["code"] == "TRAUMA"
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\+0[12]:00$", encounter["period"]["start"])
    tumour = next(ndjson(demo_dir / "fhir-bulk" / "nkr-borst" / "Condition.ndjson"))
    assert tumour["category"][0]["coding"][0]["code"] == "tumor"
    systems = {c["system"] for c in tumour["stage"][0]["summary"]["coding"]}
    assert {s.rsplit("/", 1)[1] for s in systems} == {"tnm-t", "tnm-n", "tnm-m"}
    focus = [
        o
        for o in ndjson(demo_dir / "fhir-bulk" / "nkr-borst" / "Observation.ndjson")
        if o.get("focus") == [{"reference": f"Condition/{tumour['id']}"}]
    ]
    assert {o["code"]["coding"][0]["code"] for o in focus} >= {"ER", "PR", "HER2"}


def test_optouts_csv_and_consents_describe_the_same_objections(demo_dir: Path) -> None:
    lines = (demo_dir / "optouts.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "PATIENTNUMMER;DATUM_REGISTRATIE;REIKWIJDTE;DATUM_INTREKKING"
    consents = list(ndjson(demo_dir / "fhir-bulk" / "consent" / "Consent.ndjson"))
    assert len(consents) == len(lines) - 1 > 10
    patients = {
        p["id"] for path in (demo_dir / "fhir-bulk").glob("*/Patient.ndjson") for p in ndjson(path)
    }
    years: Counter[str] = Counter()
    for line, consent in zip(lines[1:], consents, strict=True):
        mrn, registered, scope, withdrawn = line.split(";")
        day, month, year = registered.split("-")
        years[year] += 1
        assert consent["provision"]["period"]["start"] == f"{year}-{month}-{day}"
        assert consent["patient"]["identifier"]["value"] == mrn
        assert consent["patient"]["reference"].removeprefix("Patient/") in patients
        assert consent["status"] == ("inactive" if withdrawn else "active")
        codes = [c["coding"][0]["code"] for c in consent["provision"].get("code", [])]
        assert scope == ("|".join(codes) if codes else "all")
    assert set(years) == {"2026", "2027"}


@pytest.mark.parametrize("registration", REGISTRATIONS)
def test_fhir_and_csv_carry_the_same_records(
    demo_dir: Path, catalogue: Catalogue, registration: str
) -> None:
    config = catalogue.get(registration)
    assert config.fhir_source is not None
    focus_ids = set()
    for source in config.fhir_source.datasets.values():
        path = demo_dir / "fhir-bulk" / registration / f"{source.resource}.ndjson"
        focus_ids |= {r["id"] for r in ndjson(path)}
    for name in config.fhir_source.datasets:
        key = config.dictionary.dataset(name).key[0]
        rows = read_csv(csv_file(demo_dir, config, name, "csv-utf8"), "utf-8-sig")
        column = next(c for c, v in config.csv_source.datasets[name].columns.items() if v == key)  # type: ignore[union-attr]
        assert {r[column] for r in rows} <= focus_ids
