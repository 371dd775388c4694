"""The extract keeps each record's read resources, cut to an allowlist (decision 0231)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest

from aanlevering.catalogue import RegistrationConfig
from aanlevering.extract import extract, fhir_texts
from aanlevering.extract.fhir_resources import ReadElements, cut, restricted
from aanlevering.extract.fhirpath import compile_path
from aanlevering.output.sources import SourceTexts, delivered_sources, delivers_records
from aanlevering.periods import Period

NL = Path(__file__).resolve().parents[2] / "fixtures" / "extract" / "fhir-nl"
YEAR = Period.parse("2026")


def test_cut_keeps_read_structural_and_required_elements_and_read_extensions_only() -> None:
    read = ReadElements()
    read.add_path("Observation", compile_path("valueQuantity.value"))
    read.add_path("Observation", compile_path("extension('https://x/read').valueCode"))
    read.add_path("Observation", compile_path("subject.resolve().gender"))  # reads the Patient
    observation = {
        "resourceType": "Observation",
        "id": "o1",
        "meta": {"source": "ehr"},
        "text": {"status": "generated", "div": "<div>Jansen</div>"},
        "identifier": [{"value": "LAB-1"}],
        "status": "final",
        "code": {
            "coding": [{"system": "http://loinc.org", "code": "8480-6"}],
            "extension": [{"url": "https://x/unread", "valueString": "free text"}],
        },
        "subject": {"reference": "urn:uuid:abc", "display": "J. Jansen"},
        "effectiveDateTime": "2026-03-14",
        "performer": [{"reference": "Practitioner/9"}],
        "note": [{"text": "called the family"}],
        "valueQuantity": {"value": 125, "unit": "mm[Hg]"},
        "extension": [
            {"url": "https://x/read", "valueCode": "A"},
            {"url": "https://x/unread", "valueCode": "B"},
        ],
    }
    canonical = {"urn:uuid:abc": "Patient/p1"}.get
    assert cut(observation, read, canonical) == {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
        "subject": {"reference": "Patient/p1", "display": "J. Jansen"},  # display: 0083
        "valueQuantity": {"value": 125, "unit": "mm[Hg]"},
        "extension": [{"url": "https://x/read", "valueCode": "A"}],
    }
    encounter = {"resourceType": "Encounter", "id": "e1", "class": {"code": "EMER"}, "period": {}}
    assert cut(encounter, read, canonical) == {  # class: R4B requires it
        "resourceType": "Encounter",
        "id": "e1",
        "class": {"code": "EMER"},
    }


def _kept(table: pa.Table) -> list[tuple[str, str]]:
    return list(
        zip(table.column("row_ref").to_pylist(), table.column("key").to_pylist(), strict=True)
    )


def test_ldtr_keeps_each_encounter_and_the_observations_its_values_came_from(
    ldtr: RegistrationConfig,
) -> None:
    extracted = extract(ldtr, NL, Period.parse("2026-03"))
    assert extracted.source_resources is not None
    table = extracted.source_resources.to_table()
    kept = _kept(table)
    march = [key for _, key in kept if key.startswith("Encounter/")]
    assert "Encounter/trauma-1" in march and "Encounter/enc-1" not in march  # not a trauma
    trauma_1 = sorted(key for ref, key in kept if ref == "Encounter.ndjson:2")
    assert trauma_1 == [
        "Encounter/trauma-1",
        "Observation/obs-af-1",
        "Observation/obs-gcs-1",
        "Observation/obs-iss-1",
        "Observation/obs-rr-1",
    ]  # never the Patient, never the BMI or creatinine Observations of enc-1
    observation = json.loads(
        next(
            text
            for key, text in zip(
                table.column("key").to_pylist(),
                table.column("text").to_pylist(),
                strict=True,
            )
            if key == "Observation/obs-gcs-1"
        )
    )
    assert set(observation) == {
        "resourceType", "id", "status", "code", "subject", "encounter", "valueInteger"
    }  # fmt: skip


def test_the_delivery_takes_the_resources_of_the_records_still_delivered_once_each(
    nkr: RegistrationConfig,
) -> None:
    extracted = extract(nkr, NL, YEAR)
    sources = delivered_sources(extracted, "resources")
    keys = [f"{s.resource['resourceType']}/{s.resource['id']}" for s in sources]
    assert keys == [
        "Condition/tumor-1",
        "Observation/obs-er-1",
        "Observation/obs-pr-1",
        "Observation/obs-her2-1",
        "Observation/obs-size-1",
    ]
    assert delivered_sources(extracted, "questionnaire") == ()
    assert delivers_records(extracted, "both") and not delivers_records(extracted, "resources")

    tumor = extracted.datasets["tumor"]  # the record left (opted out, no pseudonym, ...)
    emptied = replace(tumor, row_refs=tumor.row_refs.slice(0, 0))
    assert delivered_sources(replace(extracted, datasets={"tumor": emptied}), "both") == ()

    from_csv = replace(extracted, source_resources=None)  # CSV: the records carry the data
    assert delivered_sources(from_csv, "resources") == ()
    assert delivers_records(from_csv, "resources")


def test_resources_of_records_that_leave_leave_with_them(ldtr: RegistrationConfig) -> None:
    extracted = extract(ldtr, NL, Period.parse("2026-03"))
    assert restricted(extracted) is extracted  # every kept resource belongs to a record: no copy
    trauma = extracted.datasets["trauma"]
    none_left = replace(trauma, row_refs=trauma.row_refs.slice(0, 0))
    emptied = restricted(replace(extracted, datasets={"trauma": none_left}))
    assert emptied.source_resources is not None and emptied.source_resources.num_rows == 0


def test_cut_keeps_nested_elements_only_along_the_paths_that_read_them() -> None:
    """Issue 15: the allowlist is per element path, not per top-level element."""
    read = ReadElements()
    read.add_path(
        "Encounter",
        compile_path(
            "hospitalization.dischargeDisposition.coding.where(system='https://x/bestemming').code"
        ),
    )
    read.add_path(
        "Condition", compile_path("stage.summary.coding.where(system='https://x/t').code")
    )
    read.add_path(
        "Condition", compile_path("bodySite.extension('https://x/lateraliteit').valueCode")
    )
    read.add_path("Observation", compile_path("component.valueQuantity.value"))
    read.add_path("Observation", compile_path("component.code"), filter_element=True)
    encounter = {
        "resourceType": "Encounter",
        "id": "e1",
        "class": {"code": "EMER"},
        "hospitalization": {
            "admitSource": {"text": "via huisarts"},
            "destination": {"reference": "Location/7", "display": "Verpleeghuis De Linde"},
            "dischargeDisposition": {
                "text": "naar huis",
                "coding": [{"system": "https://x/bestemming", "code": "1", "display": "thuis"}],
            },
        },
    }
    assert cut(encounter, read, lambda ref: None)["hospitalization"] == {
        "dischargeDisposition": {
            "coding": [{"system": "https://x/bestemming", "code": "1", "display": "thuis"}]
        }
    }
    condition = {
        "resourceType": "Condition",
        "id": "c1",
        "stage": [
            {
                "summary": {"coding": [{"system": "https://x/t", "code": "T2"}], "text": "T2"},
                "assessment": [{"reference": "DiagnosticReport/9"}],
            }
        ],
        "bodySite": [
            {
                "coding": [{"system": "http://snomed.info/sct", "code": "80248007"}],
                "extension": [
                    {"url": "https://x/lateraliteit", "valueCode": "L"},
                    {"url": "https://x/unread", "valueString": "links, oud litteken"},
                ],
            }
        ],
    }
    kept = cut(condition, read, lambda ref: None)
    assert kept["stage"] == [{"summary": {"coding": [{"system": "https://x/t", "code": "T2"}]}}]
    assert kept["bodySite"] == [
        {"extension": [{"url": "https://x/lateraliteit", "valueCode": "L"}]}
    ]
    observation = {
        "resourceType": "Observation",
        "id": "o1",
        "code": {"coding": [{"code": "85354-9"}]},
        "component": [
            {
                "code": {"coding": [{"code": "8480-6"}]},
                "valueQuantity": {"value": 120, "unit": "mm[Hg]"},
                "interpretation": [{"text": "hoog"}],
                "dataAbsentReason": {"text": "n.v.t."},
            }
        ],
    }
    assert cut(observation, read, lambda ref: None)["component"] == [
        {
            "code": {"coding": [{"code": "8480-6"}]},
            "valueQuantity": {"value": 120, "unit": "mm[Hg]"},
        }
    ]


@pytest.mark.parametrize("window", [None, 1, 700])
def test_delivered_sources_decode_lazily_to_what_decoding_every_text_gives(
    ldtr: RegistrationConfig, window: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lazy sequence equals the straightforward one: each key's first text, decoded.

    The texts come back from the extract's file a window at a time (decision 0310);
    windows of one text and of a few hundred bytes give the same resources.
    """
    if window is not None:
        monkeypatch.setattr(fhir_texts, "WINDOW_BYTES", window)
    extracted = extract(ldtr, NL, Period.parse("2026-03"))
    assert extracted.source_resources is not None
    table = extracted.source_resources.to_table()
    records = {ref for d in extracted.datasets.values() for ref in d.row_refs.to_pylist()}
    expected: dict[str, dict[str, object]] = {}
    for row in table.to_pylist():
        if row["row_ref"] in records and row["key"] not in expected:
            expected[row["key"]] = json.loads(row["text"])
    sources = delivered_sources(extracted, "resources")
    assert [s.resource for s in sources] == list(expected.values())
    assert len(sources) == len(expected) and sources[-1].resource == list(expected.values())[-1]
    assert isinstance(sources, SourceTexts)
    assert [f"{t}/{i}" for t, i in sources.type_ids()] == list(expected)
    assert [s.resource for s in sources[1:]] == list(expected.values())[1:]
    assert sources[-2].resource == list(expected.values())[-2]
