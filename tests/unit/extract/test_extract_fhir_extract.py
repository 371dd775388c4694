"""FHIR bulk NDJSON and Bundles become the same tables as CSV; bad input stops the run precisely."""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from aanlevering.catalogue import RegistrationConfig, load_catalogue
from aanlevering.catalogue.model import IDENTITY_FIELDS
from aanlevering.errors import ConfigError, ExtractError
from aanlevering.extract import Extract, detect_source_kind, extract, extract_fhir
from aanlevering.periods import Period

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "extract"
NL = FIXTURES / "fhir-nl"
SYNTHEA = FIXTURES / "synthea"
YEAR = Period.parse("2026")
#: Identity values of the fixture patients that must never reach messages or clinical tables.
IDENTIFYING = ("999911120", "999910048", "ZH-0042", "ZH-0077", "Putten", "Giessen", "Johanna",
               "Jansen", "Karel", "1950-03-02", "1944-11-30", "1012 NX", "9711AB", "Kerkstraat",
               "Dorpsweg", "pat-1", "pat-2")  # fmt: skip


def _resources(folder: Path = NL) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted(folder.glob("*.ndjson"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def _copy(tmp_path: Path, source: Path = NL) -> Path:
    target = tmp_path / "export"
    shutil.copytree(source, target)
    return target


def _write_ndjson(folder: Path, name: str, resources: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(r) + "\n" for r in resources)
    (folder / name).write_text(text, encoding="utf-8")


def _tables(result: Extract) -> dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    return {
        name: (d.clinical.to_pylist(), d.identity.to_pylist())
        for name, d in result.datasets.items()
    }


def _no_identifiers(text: str) -> None:
    leaked = [value for value in IDENTIFYING if value in text]
    assert not leaked, f"identity values in output: {leaked}"


def test_dsaa_from_bulk_ndjson(dsaa: RegistrationConfig) -> None:
    result = extract(dsaa, NL, YEAR)
    assert result.source_kind == "fhir"
    operaties = result.datasets["operatie"]
    # proc-3 is from 2025, proc-4 entered-in-error, proc-5 another procedure
    assert operaties.clinical.column("operatie_id").to_pylist() == ["proc-1", "proc-2"]
    assert operaties.rows_outside_period == 1
    first, second = operaties.clinical.to_pylist()
    assert first == {
        "operatie_id": "proc-1",
        "geboortejaar": 1950,
        "geslacht": "V",
        "datum_opname": date(2026, 2, 1),
        "datum_operatie": date(2026, 2, 3),
        "datum_ontslag": date(2026, 2, 10),
        "type_aneurysma": "1",
        "diameter_aneurysma": 55,
        "urgentie": "1",
        "techniek": "EVAR",
        "asa_klasse": "2",
        "bmi": 25.4,
        "creatinine_preop": 90.0,
        "overleden_30d": False,
        "datum_overlijden": None,
    }
    assert second["techniek"] == "OPEN" and second["diameter_aneurysma"] == 72
    assert second["datum_opname"] is None and second["datum_overlijden"] == date(2026, 5, 20)
    assert operaties.row_refs.to_pylist() == ["Procedure.ndjson:1", "Procedure.ndjson:2"]
    assert operaties.identity.schema.names == list(IDENTITY_FIELDS)
    assert operaties.identity.column("own_name").to_pylist() == ["Putten", "Jansen"]
    assert operaties.type_problems == ()

    complicaties = result.datasets["complicatie"]
    assert complicaties.clinical.to_pylist() == [
        {"complicatie_id": "comp-1", "operatie_id": "proc-1", "datum_complicatie": date(2026, 2, 5),
         "soort_complicatie": "NABL", "clavien_dindo": "2", "reinterventie": True},
        {"complicatie_id": "comp-3", "operatie_id": "proc-2", "datum_complicatie": date(2026, 5, 8),
         "soort_complicatie": "PNEU", "clavien_dindo": "2", "reinterventie": False},
    ]  # fmt: skip
    assert complicaties.rows_outside_period == 1  # comp-2 belongs to the 2025 operation
    # before the period, by its parent's date (decision 0466)
    assert complicaties.rows_before_period == operaties.rows_before_period == 1
    assert result.rows_before_period == 2
    for dataset in result.datasets.values():
        _no_identifiers(str(dataset.clinical.to_pylist()))


def test_ldtr_month_from_encounters(ldtr: RegistrationConfig) -> None:
    march = extract(ldtr, NL, Period.parse("2026-03")).datasets["trauma"]
    assert march.clinical.to_pylist() == [
        {"trauma_id": "trauma-1", "geboortejaar": 1950, "geslacht": "V", "pc4_woonplaats": "1012",
         "datum_ongeval": date(2026, 3, 14), "aankomst_seh": datetime(2026, 3, 14, 22, 5),
         "mechanisme": "VK-FIETS", "vervoer": "AMB", "gcs": 14, "systolische_bloeddruk": 125,
         "ademfrequentie": 18, "iss": 9, "ic_opname": False, "datum_ontslag": date(2026, 3, 20),
         "ontslagbestemming": "HUIS"},
    ]  # fmt: skip
    april = extract(ldtr, NL, Period.parse("2026-04")).datasets["trauma"]
    assert april.clinical.column("trauma_id").to_pylist() == ["trauma-2"]
    assert april.clinical.column("ademfrequentie").to_pylist() == [None]
    assert april.clinical.column("pc4_woonplaats").to_pylist() == ["9711"]
    assert extract(ldtr, NL, Period.parse("2026-05")).datasets["trauma"].num_rows == 0


def test_nkr_year_from_conditions_with_focus_observations(nkr: RegistrationConfig) -> None:
    tumor = extract(nkr, NL, YEAR).datasets["tumor"]
    assert tumor.clinical.to_pylist() == [
        {"tumor_id": "tumor-1", "geboortejaar": 1950, "geslacht": "V",
         "incidentiedatum": date(2026, 4, 2), "topografie": "C50.4", "lateraliteit": "L",
         "morfologie": "8500/3", "gradering": "2", "ct": "T2", "cn": "N0", "cm": "M0",
         "er_status": "POS", "pr_status": "NEG", "her2_status": "NEG", "tumorgrootte_mm": 18,
         "type_operatie": "BSO", "datum_operatie": date(2026, 5, 1), "neoadjuvant": False},
    ]  # fmt: skip
    assert extract(nkr, NL, Period.parse("2025")).datasets["tumor"].num_rows == 0


def test_quarter_selection(dsaa: RegistrationConfig) -> None:
    q1 = extract(dsaa, NL, Period.parse("2026-Q1"))
    assert q1.datasets["operatie"].clinical.column("operatie_id").to_pylist() == ["proc-1"]
    assert q1.datasets["complicatie"].clinical.column("complicatie_id").to_pylist() == ["comp-1"]
    q4 = extract(dsaa, NL, Period.parse("2025-Q4"))
    assert q4.datasets["operatie"].clinical.column("operatie_id").to_pylist() == ["proc-3"]
    assert q4.datasets["complicatie"].clinical.column("complicatie_id").to_pylist() == ["comp-2"]


# --- Bundles: collection, searchset, transaction give the same result as NDJSON


def _urn(key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, key)}"


def _rewrite(value: Any, to_urn: bool) -> Any:
    if isinstance(value, dict):
        out = {k: _rewrite(v, to_urn) for k, v in value.items()}
        reference = out.get("reference")
        if to_urn and isinstance(reference, str):
            key = "/".join(reference.split("/_history")[0].split("/")[-2:])
            out["reference"] = _urn(key)
        return out
    if isinstance(value, list):
        return [_rewrite(v, to_urn) for v in value]
    return value


def _bundle(bundle_type: str, resources: list[dict[str, Any]]) -> dict[str, Any]:
    entries = []
    for resource in resources:
        key = f"{resource['resourceType']}/{resource['id']}"
        if bundle_type == "transaction":
            entries.append({
                "fullUrl": _urn(key),
                "resource": _rewrite(resource, to_urn=True),
                "request": {"method": "POST", "url": resource["resourceType"]},
            })  # fmt: skip
        elif bundle_type == "searchset":
            mode = "match" if resource["resourceType"] == "Procedure" else "include"
            entries.append({
                "fullUrl": f"https://fhir.ziekenhuis.example/fhir/{key}",
                "resource": resource,
                "search": {"mode": mode},
            })  # fmt: skip
        else:
            entries.append({"fullUrl": f"https://fhir.ziekenhuis.example/fhir/{key}",
                            "resource": resource})  # fmt: skip
    if bundle_type == "transaction":
        entries.append({"request": {"method": "DELETE", "url": "Procedure/old"}})
    if bundle_type == "searchset":
        entries.append({"resource": {"resourceType": "OperationOutcome", "issue": []},
                        "search": {"mode": "outcome"}})  # fmt: skip
    return {"resourceType": "Bundle", "type": bundle_type, "entry": entries}


@pytest.mark.parametrize("bundle_type", ["collection", "searchset", "transaction"])
def test_bundles_give_the_same_extract_as_ndjson(
    tmp_path: Path,
    dsaa: RegistrationConfig,
    ldtr: RegistrationConfig,
    nkr: RegistrationConfig,
    bundle_type: str,
) -> None:
    resources = _resources()
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    # one bundle per patient (with the patient repeated), as EHRs often send them
    folder = tmp_path / bundle_type
    folder.mkdir()
    for patient in patients:
        own = [
            r
            for r in resources
            if r.get("subject", {}).get("reference") == f"Patient/{patient['id']}"
        ]
        bundle = _bundle(bundle_type, [patient, *own, *patients])
        path = folder / f"bundle-{patient['id']}.json"
        path.write_text(json.dumps(bundle), encoding="utf-8")
    for config, period in ((dsaa, YEAR), (ldtr, Period.parse("2026-03")), (nkr, YEAR)):
        from_bundles = extract(config, folder, period)
        from_ndjson = extract(config, NL, period)
        assert _tables(from_bundles) == _tables(from_ndjson), (config.id, bundle_type)
        assert from_bundles.rows_outside_period == from_ndjson.rows_outside_period
    refs = extract(dsaa, folder, YEAR).datasets["operatie"].row_refs.to_pylist()
    assert refs[0].startswith("bundle-pat-1.json:entry[")
    single = folder / "bundle-pat-1.json"
    assert detect_source_kind(dsaa, single) == "fhir"
    assert extract(dsaa, single, YEAR).datasets["operatie"].num_rows == 1


def test_an_unsupported_bundle_type_or_a_non_fhir_file_given_alone_is_refused(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    (tmp_path / "history.json").write_text(
        json.dumps({"resourceType": "Bundle", "type": "history"})
    )
    with pytest.raises(ExtractError, match="Bundle type 'history' is not supported"):
        extract(dsaa, tmp_path / "history.json", YEAR)
    (tmp_path / "notes.json").write_text(json.dumps({"note": "export of 3 June"}))
    with pytest.raises(ExtractError, match=r"notes\.json: not a FHIR resource or Bundle"):
        extract(dsaa, tmp_path / "notes.json", YEAR)
    (tmp_path / "broken.json").write_text('{"resourceType": "Bundle",\n "type": }')
    with pytest.raises(ExtractError, match=r"broken\.json: line 2: not valid JSON"):
        extract(dsaa, tmp_path / "broken.json", YEAR)


# --- bulk export manifest and file naming


def test_the_manifest_output_list_decides_which_files_are_read(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    for path in NL.glob("*.ndjson"):
        shutil.copy(path, folder / f"{path.stem}.1.ndjson")
    # split observations over two files, as servers do for large types
    observations = (NL / "Observation.ndjson").read_text(encoding="utf-8").splitlines(True)
    (folder / "Observation.1.ndjson").write_text("".join(observations[:3]), encoding="utf-8")
    (folder / "Observation.2.ndjson").write_text("".join(observations[3:]), encoding="utf-8")
    (folder / "Stale.1.ndjson").write_text("this is not json\n", encoding="utf-8")
    types = ["Patient", "Encounter", "Procedure", "Condition", "Observation", "Observation"]
    outputs = [{"type": t, "url": f"https://fhir.example/bulk/{i}"} for i, t in enumerate(types)]
    manifest = {"transactionTime": "2026-06-01T00:00:00Z", "request": "https://fhir.example/$export",
                "requiresAccessToken": False, "output": outputs, "error": []}  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert _tables(extract(dsaa, folder, YEAR)) == _tables(extract(dsaa, NL, YEAR))

    (folder / "Observation.2.ndjson").unlink()
    with pytest.raises(ExtractError) as raised:
        extract(dsaa, folder, YEAR)
    assert "output[5] (Observation)" in str(raised.value)
    assert "Observation.2.ndjson" in str(raised.value)


# --- the Synthea-like US export


def test_synthea_like_us_bulk_export() -> None:
    config = load_catalogue(SYNTHEA / "catalogue").get("synthea-test")
    result = extract(config, SYNTHEA / "export", YEAR)
    ingrepen = result.datasets["ingreep"]
    rows = ingrepen.clinical.to_pylist()
    assert [r["ingreep_id"][-1] for r in rows] == [
        "1",
        "2",
    ]  # the 2025 one and the non-match left out
    assert rows[0]["datum_ingreep"] == date(2026, 3, 2) and rows[1]["datum_ingreep"] == date(
        2026, 7, 12
    )
    assert [r["geslacht"] for r in rows] == ["V", "M"]
    assert [r["geboortejaar"] for r in rows] == [1951, 1948]
    assert [r["bmi"] for r in rows] == [27.84, 31.2]  # through urn:uuid encounter references
    assert {r["zorgaanbieder"] for r in rows} == {"SPRINGFIELD GENERAL HOSPITAL"}  # conditional ref
    # 22:40 at -04:00 is 04:40 the next morning in Amsterdam, the clock registries record (0390)
    assert rows[1]["opname_start"] == datetime(2026, 7, 12, 4, 40)
    assert [r["pc4"] for r in rows] == [None, None]  # US ZIP codes are no Dutch postcodes
    assert {p.variable for p in ingrepen.type_problems} == {"pc4"}
    identity = ingrepen.identity.to_pylist()
    assert [i["bsn"] for i in identity] == [None, None]  # an SSN is not a BSN
    assert [i["own_name"] for i in identity] == ["Garcia", "Miller"]
    assert all(i["mrn"] == i["patient_id"] for i in identity)
    text = str(rows) + repr(ingrepen.type_problems)
    for ssn in ("999-34-5678", "999-76-5432", "Smith", "Garcia", "Main Street"):
        assert ssn not in text


# --- bad input


def _error(config: RegistrationConfig, folder: Path, period: Period = YEAR) -> str:
    with pytest.raises(ExtractError) as raised:
        extract_fhir(config, folder, period)
    assert raised.value.exit_code == 2
    message = str(raised.value)
    _no_identifiers(message)
    return message


def test_a_malformed_json_line_names_file_and_line(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = _copy(tmp_path)
    with (folder / "Observation.ndjson").open("a", encoding="utf-8") as handle:
        handle.write(
            '{"resourceType": "Observation", "id": "x", "subject": {"reference": "Patient/pat-1"\n'
        )
    message = _error(dsaa, folder)
    assert "Observation.ndjson: line 18: not valid JSON" in message
    with (folder / "Observation.ndjson").open("w", encoding="utf-8") as handle:
        handle.write('{"id": "no-type"}\n')
    assert "Observation.ndjson: line 1: not a FHIR resource" in _error(dsaa, folder)


def test_a_focus_resource_without_its_patient_stops_the_extract(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = _copy(tmp_path)
    patients = [r for r in _resources() if r["resourceType"] == "Patient"]
    _write_ndjson(folder, "Patient.ndjson", patients[:1])
    message = _error(dsaa, folder)
    assert (
        "Procedure resource(s) of dataset 'operatie' refer to a patient that is not in the input"
        in message
    )
    assert "Procedure.ndjson:2" in message


def test_a_missing_or_bad_period_date_names_the_resource(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = _copy(tmp_path)
    procedures = [r for r in _resources() if r["resourceType"] == "Procedure"]
    procedures[0]["performedDateTime"] = "2026-02"
    del procedures[1]["performedDateTime"]
    _write_ndjson(folder, "Procedure.ndjson", procedures)
    message = _error(dsaa, folder)
    assert "2 record(s)" in message and "operatie.datum_operatie" in message
    assert "element performedDateTime of Procedure" in message
    assert "Procedure.ndjson:1 (written as 'dddd-dd'; value not shown)" in message  # 0733
    assert "Procedure.ndjson:2 (empty)" in message


def test_wrong_value_types_become_type_problems(tmp_path: Path, dsaa: RegistrationConfig) -> None:
    folder = _copy(tmp_path)
    observations = [r for r in _resources() if r["resourceType"] == "Observation"]
    observations[0]["valueQuantity"]["value"] = 55.5  # diameter: an integer variable
    observations[3]["valueQuantity"]["value"] = "veel"  # creatinine: decimal
    _write_ndjson(folder, "Observation.ndjson", observations)
    operaties = extract_fhir(dsaa, folder, YEAR).datasets["operatie"]
    assert operaties.clinical.to_pylist()[0]["diameter_aneurysma"] is None
    assert {(p.row_ref, p.variable, p.expected) for p in operaties.type_problems} == {
        ("Procedure.ndjson:1", "diameter_aneurysma", "integer"),
        ("Procedure.ndjson:1", "creatinine_preop", "decimal number"),
    }


def test_orphan_related_records_are_listed_and_left_out(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = _copy(tmp_path)
    conditions = [r for r in _resources() if r["resourceType"] == "Condition"]
    orphan = json.loads(json.dumps(conditions[2]))
    orphan["id"] = "comp-9"
    orphan["extension"][0]["valueReference"]["reference"] = "Procedure/unknown"
    _write_ndjson(folder, "Condition.ndjson", [*conditions, orphan])
    complicaties = extract_fhir(dsaa, folder, YEAR).datasets["complicatie"]
    assert complicaties.orphan_row_refs == ("Condition.ndjson:7",)
    assert "comp-9" not in complicaties.clinical.column("complicatie_id").to_pylist()


def test_a_mapping_outside_the_fhirpath_subset_is_a_config_error(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    import dataclasses

    from aanlevering.catalogue.model import FhirVariableSource

    source = dsaa.fhir_source
    assert source is not None
    operatie = source.datasets["operatie"]
    variables = {
        **operatie.variables,
        "urgentie": FhirVariableSource(element="extension[0].valueCode"),
    }
    config = dataclasses.replace(
        dsaa,
        fhir_source=dataclasses.replace(
            source,
            datasets={
                **source.datasets,
                "operatie": dataclasses.replace(operatie, variables=variables),
            },
        ),
    )
    with pytest.raises(ConfigError) as raised:
        extract_fhir(config, NL, YEAR)
    assert "source.fhir.datasets.operatie.variables.urgentie" in str(raised.value)


def test_folders_without_fhir_input(tmp_path: Path, dsaa: RegistrationConfig) -> None:
    with pytest.raises(ExtractError, match="no FHIR input"):
        extract_fhir(dsaa, tmp_path, YEAR)
    with pytest.raises(ExtractError, match="does not exist"):
        extract_fhir(dsaa, tmp_path / "nowhere", YEAR)
