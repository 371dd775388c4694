"""Inputs as hospitals have them: a bulk server's log next to the data, FHIR XML, one CSV file."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
from extract_fixtures import dsaa_export

from aanlevering.catalogue import Catalogue, RegistrationConfig
from aanlevering.errors import ExtractError
from aanlevering.extract import extract

NL = Path(__file__).resolve().parents[2] / "fixtures" / "extract" / "fhir-nl"


def _resources() -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted(NL.glob("*.ndjson"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


def _tables(config: RegistrationConfig, path: Path) -> dict[str, tuple[list[Any], list[Any]]]:
    result = extract(config, path, __import__("aanlevering.periods").periods.Period.parse("2026"))
    return {
        name: (d.clinical.to_pylist(), d.identity.to_pylist())
        for name, d in result.datasets.items()
    }


def test_a_bulk_servers_log_file_and_stray_lines_are_left_out_with_a_log_line(
    tmp_path: Path, dsaa: RegistrationConfig, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "export"
    shutil.copytree(NL, folder)
    log_lines = [{"level": "info", "message": "export started"}, {"level": "info", "n": 3}]
    (folder / "log.ndjson").write_text("".join(json.dumps(line) + "\n" for line in log_lines))
    mixed = [{"status": "started"}, json.loads((NL / "Patient.ndjson").read_text().splitlines()[0])]
    (folder / "extra.ndjson").write_text("".join(json.dumps(line) + "\n" for line in mixed))

    with caplog.at_level(logging.INFO):
        tables = _tables(dsaa, folder)

    assert tables == _tables(dsaa, NL)  # the Patient in extra.ndjson is a duplicate
    assert "log.ndjson" in caplog.text and "not FHIR resources" in caplog.text
    assert "left out 1 line(s) of extra.ndjson" in caplog.text

    # in a file named by a resource type, such a line means lost resources: refused
    with (folder / "Observation.ndjson").open("a") as handle:
        handle.write(json.dumps({"note": "not a resource"}) + "\n")
    with pytest.raises(ExtractError, match=r"Observation\.ndjson: line 18: not a FHIR resource"):
        _tables(dsaa, folder)


def test_a_line_that_is_not_json_still_stops_the_extract(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = tmp_path / "export"
    shutil.copytree(NL, folder)
    (folder / "log.ndjson").write_text("export started at 10:00\n")
    with pytest.raises(ExtractError, match=r"log\.ndjson: line 1: not valid JSON"):
        _tables(dsaa, folder)


@pytest.mark.parametrize("shape", ["resources", "bundle"])
def test_fhir_xml_resources_and_bundles_give_the_same_tables_as_ndjson(
    tmp_path: Path, catalogue: Catalogue, shape: str
) -> None:
    from fhir.resources.R4B import get_fhir_model_class

    folder = tmp_path / shape
    folder.mkdir()
    resources = _resources()
    if shape == "resources":
        for index, resource in enumerate(resources):
            model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
            (folder / f"{index:02d}-{resource['resourceType']}.xml").write_bytes(
                model.model_dump_xml()
            )
    else:
        bundle = get_fhir_model_class("Bundle").model_validate(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
            }
        )
        (folder / "bundle.xml").write_bytes(bundle.model_dump_xml())

    for name in ("dica-dsaa", "ldtr", "nkr-borst"):
        config = catalogue.get(name)
        assert _tables(config, folder) == _tables(config, NL), name


def test_hostile_or_broken_xml_is_an_input_error_naming_the_file(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    cases = {
        "entity.xml": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<Patient xmlns="http://hl7.org/fhir"><id value="&e;"/></Patient>',
        "broken.xml": b'<Patient xmlns="http://hl7.org/fhir"><id value="x"/>\n<name>',
        "other.xml": b"<note><to>you</to></note>",
        "wrong.xml": b'<Patient xmlns="http://hl7.org/fhir"><birthDate value="31-02"/></Patient>',
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ExtractError, match=rf"{name}:") as refused:
            _tables(dsaa, path)
        assert "passwd" not in str(refused.value) and "root:" not in str(refused.value)


def test_a_single_csv_file_is_read_for_a_registration_with_one_dataset(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    from aanlevering.demo import DemoOptions, generate_demo_data

    generate_demo_data(
        catalogue, DemoOptions(tmp_path, 20, 5, registrations=("nkr-borst",), bad_share=0)
    )
    folder = tmp_path / "csv-utf8"
    (file,) = folder.glob("*.csv")
    config = catalogue.get("nkr-borst")

    assert _tables(config, file) == _tables(config, folder)


def test_a_single_csv_file_of_a_registration_with_several_datasets_is_refused(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = dsaa_export(tmp_path / "export")
    with pytest.raises(ExtractError, match="has 2 datasets"):
        _tables(dsaa, folder / "dsaa_operaties_2026.csv")


def test_a_csv_value_map_turns_export_values_into_option_codes(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    import dataclasses

    from aanlevering.periods import Period

    folder = dsaa_export(tmp_path / "export")
    path = folder / "dsaa_operaties_2026.csv"
    text = path.read_text(encoding="utf-8").replace("EVAR", "endovasculair")
    path.write_text(text, encoding="utf-8")
    assert dsaa.csv_source is not None
    operatie = dsaa.csv_source.datasets["operatie"]
    mapped = dataclasses.replace(operatie, maps={"TECHNIEK": {"endovasculair": "EVAR"}})
    config = dataclasses.replace(
        dsaa,
        csv_source=dataclasses.replace(
            dsaa.csv_source, datasets={**dsaa.csv_source.datasets, "operatie": mapped}
        ),
    )

    plain = extract(dsaa, folder, Period.parse("2026")).datasets["operatie"]
    result = extract(config, folder, Period.parse("2026")).datasets["operatie"]

    assert plain.clinical.column("techniek").to_pylist() == ["endovasculair", "OPEN"]
    assert result.clinical.column("techniek").to_pylist() == ["EVAR", "OPEN"]  # OPEN passes


def test_a_map_on_an_unmapped_column_is_a_config_problem(dsaa: RegistrationConfig) -> None:
    import dataclasses

    from aanlevering.catalogue.semantics import check_registration

    assert dsaa.csv_source is not None
    operatie = dataclasses.replace(
        dsaa.csv_source.datasets["operatie"], maps={"NOT_A_COLUMN": {"a": "b"}}
    )
    config = dataclasses.replace(
        dsaa,
        csv_source=dataclasses.replace(
            dsaa.csv_source, datasets={**dsaa.csv_source.datasets, "operatie": operatie}
        ),
    )
    problems = check_registration(config)
    assert any("maps.NOT_A_COLUMN" in str(problem) for problem in problems)
