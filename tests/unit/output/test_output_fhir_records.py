"""Dataset records as QuestionnaireResponses: variables exactly by name, typed answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from aanlevering.errors import OutputError
from aanlevering.extract.model import ARROW_TYPES
from aanlevering.fhir.context import DeliveryContext
from aanlevering.output.fhir_records import RecordEncoder, questionnaire_response

SUBJECT = "Patient/11111111-1111-4111-8111-111111111111"


def _answers(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["linkId"]: item["answer"][0] for item in resource["item"]}


def _record(context: DeliveryContext, dataset: str, values: dict[str, Any]) -> dict[str, Any]:
    resource = questionnaire_response(
        context,
        context.dictionary.dataset(dataset),
        values,
        record_id="0f7e2c1a-5b3d-4e8f-9a6b-1c2d3e4f5a6b",
        subject_reference=SUBJECT,
    )
    QuestionnaireResponse.model_validate(resource)
    return resource


def test_every_variable_type_gets_its_typed_answer(
    context_for: Callable[[str], DeliveryContext],
) -> None:
    dsaa = context_for("dica-dsaa")
    resource = _record(
        dsaa,
        "operatie",
        {
            "operatie_id": "OK-2026-0001",
            "geboortejaar": 1950,
            "geslacht": "V",
            "datum_operatie": dt.date(2026, 3, 2),
            "diameter_aneurysma": 58,
            "bmi": 27.4,
            "overleden_30d": False,
            "asa_klasse": "3",
        },
    )
    answers = _answers(resource)
    assert answers["operatie_id"] == {"valueString": "OK-2026-0001"}
    assert answers["geboortejaar"] == {"valueInteger": 1950}
    assert answers["geslacht"] == {
        "valueCoding": {
            "system": "https://aanlevering.example/fhir/CodeSystem/dsaa-geslacht",
            "code": "V",
        }
    }
    assert answers["datum_operatie"] == {"valueDate": "2026-03-02"}
    assert answers["diameter_aneurysma"] == {"valueInteger": 58}
    assert answers["bmi"] == {"valueDecimal": 27.4}
    assert answers["overleden_30d"] == {"valueBoolean": False}
    assert answers["asa_klasse"]["valueCoding"]["system"].endswith("/dsaa-asa")
    assert resource["questionnaire"] == (
        "https://aanlevering.example/fhir/Questionnaire/dsaa-operatie|2026.1"
    )
    assert resource["status"] == "completed"
    assert resource["subject"] == {"reference": SUBJECT}
    assert resource["meta"]["security"][0]["code"] == "PSEUDED"


def test_link_ids_are_the_dictionary_names_in_order_and_nulls_are_left_out(
    context_for: Callable[[str], DeliveryContext],
) -> None:
    ldtr = context_for("ldtr")
    dataset = ldtr.dictionary.dataset("trauma")
    resource = _record(
        ldtr, "trauma", {"trauma_id": "T1", "gcs": 14, "iss": None, "pc4_woonplaats": ""}
    )
    assert [i["linkId"] for i in resource["item"]] == ["trauma_id", "gcs"]
    full = {v.name: _sample(v.type, v.option_set, ldtr) for v in dataset.variables}
    everything = _record(ldtr, "trauma", full)
    assert [i["linkId"] for i in everything["item"]] == list(dataset.variable_names)


def _sample(kind: str, option_set: str | None, context: DeliveryContext) -> Any:
    if kind == "code":
        assert option_set is not None
        return context.dictionary.option_sets[option_set].options[0].code
    return {
        "string": "1012",
        "integer": 12,
        "decimal": 1.5,
        "date": dt.date(2026, 1, 2),
        "datetime": dt.datetime(2026, 1, 2, 3, 4),
        "boolean": True,
    }[kind]


def test_a_record_without_values_has_no_items(
    context_for: Callable[[str], DeliveryContext],
) -> None:
    resource = _record(context_for("ldtr"), "trauma", {})
    assert "item" not in resource


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (dt.datetime(2026, 1, 15, 14, 30), "2026-01-15T14:30:00+01:00"),
        (dt.datetime(2026, 7, 1, 8, 0), "2026-07-01T08:00:00+02:00"),
        (dt.datetime(2026, 10, 25, 2, 30), "2026-10-25T02:30:00+02:00"),  # ambiguous hour
        (dt.datetime(2026, 3, 29, 2, 30), "2026-03-29T02:30:00+01:00"),  # in the DST gap
    ],
)
def test_local_date_times_get_the_dutch_offset_fhir_requires(
    context_for: Callable[[str], DeliveryContext], local: dt.datetime, expected: str
) -> None:
    resource = _record(context_for("ldtr"), "trauma", {"aankomst_seh": local})
    assert _answers(resource)["aankomst_seh"] == {"valueDateTime": expected}


def test_decimals_are_written_without_exponent(
    context_for: Callable[[str], DeliveryContext],
) -> None:
    dsaa = context_for("dica-dsaa")
    resource = _record(dsaa, "operatie", {"bmi": 1e-7, "creatinine_preop": 1e16})
    answers = _answers(resource)
    assert answers["bmi"] == {"valueDecimal": 1e-7}
    encoded = RecordEncoder(dsaa, dsaa.dictionary.dataset("operatie")).encode(
        pa.table(
            {
                v.name: pa.array(
                    [1e16 if v.name == "creatinine_preop" else None], ARROW_TYPES[v.type]
                )
                for v in dsaa.dictionary.dataset("operatie").variables
            }
        ),
        ["i"],
        [SUBJECT],
        ["r"],
    )
    assert '"valueDecimal":10000000000000000}' in encoded[0].as_py()


def test_strings_are_json_escaped(context_for: Callable[[str], DeliveryContext]) -> None:
    awkward = 'OK "7"\\\n\t; é'
    resource = _record(context_for("dica-dsaa"), "operatie", {"operatie_id": awkward})
    assert _answers(resource)["operatie_id"] == {"valueString": awkward}


def test_an_integer_fhir_cannot_carry_names_row_and_variable_not_the_value(
    context_for: Callable[[str], DeliveryContext],
) -> None:
    dsaa = context_for("dica-dsaa")
    dataset = dsaa.dictionary.dataset("operatie")
    columns = {v.name: pa.nulls(2, ARROW_TYPES[v.type]) for v in dataset.variables}
    columns["diameter_aneurysma"] = pa.array([50, 98765432101], pa.int64())
    with pytest.raises(OutputError) as raised:
        RecordEncoder(dsaa, dataset).encode(
            pa.table(columns), ["a", "b"], [SUBJECT, SUBJECT], ["ops.csv:2", "ops.csv:3"]
        )
    message = str(raised.value)
    assert "row ops.csv:3" in message
    assert "variable diameter_aneurysma" in message
    assert "98765432101" not in message


def test_a_missing_column_is_named(context_for: Callable[[str], DeliveryContext]) -> None:
    dsaa = context_for("dica-dsaa")
    with pytest.raises(OutputError, match="no column 'operatie_id'"):
        RecordEncoder(dsaa, dsaa.dictionary.dataset("operatie")).encode(
            pa.table({"x": [1]}), ["a"], [SUBJECT], ["r"]
        )
