"""The output guard's value check finds what a full pass over the delivered text finds.

Decision 0300: files joined only from template text and noted value literals
(NDJSON Patients and QuestionnaireResponses; since decision 0304 also the
minimised source resources) are checked by their literals, not read back.
Pinned here against the text: every line parsed and every leaf tokenised
(the guard's text pass without its coarse filter), and the guard's own text
scan, which may find less (a token behind a JSON escape such as ``\\n`` is
split differently in the text) but never more. Planted identifiers in every
kind of delivered value, and random values with quotes, backslashes, control
characters, non-ASCII and empty strings.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import replace
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aanlevering.extract.model import ARROW_TYPES
from aanlevering.output import source_notes
from aanlevering.output.content import DeliveryInput, SourceResource
from aanlevering.output.guard import (
    Hit,
    IdentifierInDelivery,
    RunIdentifiers,
    _json_cells,
    _value_tokens,
    check_delivery,
    literal_tokens,
    run_identifiers,
    scan_file,
    scan_values,
    unnoted_leaf,
)
from aanlevering.output.ndjson import write_ndjson
from aanlevering.output.result import OutputResult
from support.source_texts import source_texts

#: Identifiers of the output tests' people, in the spellings the guard joins.
PLANTED_TEXT = "mw. Oosterhuis belde, bsn 9999.90.019, woont 9711 LM, dossier MRN0055555"
PLANTED_NUMBER = 999990019  # a BSN of the output tests' people, within FHIR's 32-bit range


def _full_text_hits(path: Path, identifiers: RunIdentifiers) -> set[Hit]:
    """Every line parsed, every leaf tokenised: what the text holds, no coarse filter."""
    hits = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        for column, text in _json_cells(line, path.name):
            for token in _value_tokens(text):
                kind = identifiers.kind_of(token)
                if kind is not None:
                    hits.add(Hit(path.name, column, kind))
    return hits


def _compare(folder: Path, output: OutputResult, content: DeliveryInput) -> set[Hit]:
    """Value hits of every built file, after checking them against the text."""
    identifiers = run_identifiers(content.datasets, content.context.dictionary)
    assert set(output.built) == {"Patient.ndjson", "QuestionnaireResponse.ndjson"}
    found: set[Hit] = set()
    for name, columns in output.built.items():
        by_values = set(scan_values(name, columns, identifiers))
        in_text = _full_text_hits(folder / name, identifiers)
        assert by_values == in_text
        assert set(scan_file(folder / name, identifiers)) <= by_values
        noted = {column: literal_tokens(literals) for column, literals in columns.items()}
        assert unnoted_leaf(folder / name, noted) is None  # the notes cover what was written
        found |= by_values
    return found


def _planted_value(kind: str) -> Any:
    if kind in ("string", "code"):
        return PLANTED_TEXT
    if kind == "integer":
        return PLANTED_NUMBER
    if kind == "decimal":
        return float(PLANTED_NUMBER)
    return None  # dates, date-times and booleans cannot hold these identifiers


def _with_column(
    content: DeliveryInput, dataset: str, variable: str, values: list[Any]
) -> DeliveryInput:
    extracted = content.datasets[dataset]
    table = extracted.clinical
    position = table.column_names.index(variable)
    kind = content.context.dictionary.dataset(dataset).variable(variable).type
    column = pa.array(values, ARROW_TYPES[kind])
    table = table.set_column(position, table.field(position), column)
    datasets = dict(content.datasets)
    datasets[dataset] = replace(extracted, clinical=table)
    return replace(content, datasets=datasets)


@pytest.mark.parametrize("registration", ["dica-dsaa", "ldtr", "nkr-borst"])
def test_identifiers_planted_in_every_kind_of_value_are_found_as_in_the_text(
    tmp_path: Path, delivery: Callable[..., DeliveryInput], registration: str
) -> None:
    content = delivery(registration)
    expected = set()
    for dataset in content.context.dictionary.datasets:
        table = content.datasets[dataset.name].clinical
        for variable in dataset.variables:
            planted = _planted_value(variable.type)
            if planted is None:
                continue
            values = table.column(variable.name).to_pylist()
            values[4] = planted  # a record of the third person (Oosterhuis)
            content = _with_column(content, dataset.name, variable.name, values)
            table = content.datasets[dataset.name].clinical
            kinds = (
                ["a BSN", "a name", "a postcode", "a patient number"]
                if variable.type in ("string", "code")
                else ["a BSN"]
            )
            expected |= {
                Hit("QuestionnaireResponse.ndjson", f"item {variable.name}", k) for k in kinds
            }
    output = write_ndjson(tmp_path, content)
    assert _compare(tmp_path, output, content) == expected
    with pytest.raises(IdentifierInDelivery) as caught:
        check_delivery(tmp_path, output, content)
    message = str(caught.value)
    assert "QuestionnaireResponse.ndjson" in message and "item " in message
    assert "Oosterhuis" not in message and "999990019" not in message
    assert not (tmp_path / "QuestionnaireResponse.ndjson").exists()


def test_a_clean_delivery_has_no_value_hits(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    content = delivery("ldtr")
    output = write_ndjson(tmp_path, content)
    assert _compare(tmp_path, output, content) == set()
    assert output.built["Patient.ndjson"]  # the Patients' forms were noted
    check_delivery(tmp_path, output, content)


def test_a_writer_that_adds_text_it_did_not_note_is_caught_and_the_text_scanned(
    tmp_path: Path, delivery: Callable[..., DeliveryInput], caplog: pytest.LogCaptureFixture
) -> None:
    """The guard checks its own premise: an element the writer did not note (here a note with
    a BSN in the middle of the Patients file) sends the file back to the text scan."""
    content = delivery("ldtr")
    output = write_ndjson(tmp_path, content)
    patients = tmp_path / "Patient.ndjson"
    lines = patients.read_text(encoding="utf-8").splitlines(keepends=True)
    sneaked = json.loads(lines[len(lines) // 2])
    sneaked["extension"] = [{"url": "urn:x", "valueString": PLANTED_TEXT}]
    lines[len(lines) // 2] = json.dumps(sneaked, separators=(",", ":")) + "\n"
    patients.write_text("".join(lines), encoding="utf-8")
    identifiers = run_identifiers(content.datasets, content.context.dictionary)
    columns = output.built["Patient.ndjson"]
    assert scan_values("Patient.ndjson", columns, identifiers) == []  # the notes alone: blind
    noted = {column: literal_tokens(literals) for column, literals in columns.items()}
    assert unnoted_leaf(patients, noted) == "Patient.extension.valueString"

    with pytest.raises(IdentifierInDelivery, match=r"Patient\.ndjson"):
        check_delivery(tmp_path, output, content)
    assert "did not note" in caplog.text and "Oosterhuis" not in caplog.text


def test_a_noted_column_holding_a_value_it_did_not_note_is_scanned_as_text(
    tmp_path: Path, delivery: Callable[..., DeliveryInput], caplog: pytest.LogCaptureFixture
) -> None:
    content = delivery("ldtr")
    output = write_ndjson(tmp_path, content)
    patients = tmp_path / "Patient.ndjson"
    lines = patients.read_text(encoding="utf-8").splitlines(keepends=True)
    changed = json.loads(lines[-1])
    changed["gender"] = "Oosterhuis"  # a noted element, a value the writer never noted
    lines[-1] = json.dumps(changed, separators=(",", ":")) + "\n"
    patients.write_text("".join(lines), encoding="utf-8")
    assert "Patient.gender" in output.built["Patient.ndjson"]

    with pytest.raises(IdentifierInDelivery, match=r"Patient\.gender: a name"):
        check_delivery(tmp_path, output, content)
    assert "Patient.gender" in caplog.text and "did not note" in caplog.text


def _planted_sources(content: DeliveryInput) -> list[SourceResource]:
    """The test source with identifiers planted in kept elements of every resource type."""
    planted = []
    for source in content.source_resources:
        resource = copy.deepcopy(source.resource)
        resource["extension"] = [
            {"url": "urn:x", "valueCoding": {"system": "urn:x", "display": PLANTED_TEXT}}
        ]
        if resource["resourceType"] == "Observation":
            for key in [k for k in resource if k.startswith("value")]:
                del resource[key]
            resource["valueQuantity"] = {"value": PLANTED_NUMBER, "unit": "9711 LM"}
        planted.append(SourceResource(resource))
    return planted


@pytest.mark.parametrize("as_texts", [True, False])
def test_source_resource_files_are_checked_by_their_values_as_in_the_text(
    tmp_path: Path, delivery: Callable[..., DeliveryInput], as_texts: bool
) -> None:
    """Decision 0304: minimised source resources are noted too; same hits as the text."""
    content = delivery("ldtr", fhir_source=True)
    planted = _planted_sources(content)
    content = replace(content, source_resources=source_texts(planted, 2) if as_texts else planted)
    output = write_ndjson(tmp_path, content)
    identifiers = run_identifiers(content.datasets, content.context.dictionary)
    sources = {f.name for f in output.files} - {"Patient.ndjson", "QuestionnaireResponse.ndjson"}
    assert {"Observation.ndjson", "Encounter.ndjson"} <= sources <= set(output.built)
    for name in sources:
        columns = output.built[name]
        by_values = set(scan_values(name, columns, identifiers))
        assert by_values == _full_text_hits(tmp_path / name, identifiers), name
        assert set(scan_file(tmp_path / name, identifiers)) <= by_values
        noted = {column: literal_tokens(literals) for column, literals in columns.items()}
        assert unnoted_leaf(tmp_path / name, noted) is None
    observed = {(h.column, h.kind) for h in scan_values(
        "Observation.ndjson", output.built["Observation.ndjson"], identifiers
    )}  # fmt: skip
    assert {
        ("Observation.extension.valueCoding.display", "a name"),
        ("Observation.valueQuantity.value", "a BSN"),
        ("Observation.valueQuantity.unit", "a postcode"),
    } <= observed
    with pytest.raises(IdentifierInDelivery, match="delivery blocked, 22 column"):
        check_delivery(tmp_path, output, content)


def test_an_identifier_in_a_source_resource_the_writer_did_not_note_is_still_caught(
    tmp_path: Path,
    delivery: Callable[..., DeliveryInput],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A minimiser that forgets to tell an element: the guard's sampled parse sees a leaf
    the notes do not cover and scans the file's whole text, which holds the BSN."""
    content = delivery("ldtr", fhir_source=True)
    content = replace(content, source_resources=source_texts(_planted_sources(content)))
    monkeypatch.setattr(source_notes.SourceNotes, "element", lambda *_: None)
    output = write_ndjson(tmp_path, content)
    identifiers = run_identifiers(content.datasets, content.context.dictionary)
    assert output.built["Observation.ndjson"] == {}  # expected to be noted, nothing noted
    assert scan_values("Observation.ndjson", {}, identifiers) == []  # the notes alone: blind

    with pytest.raises(IdentifierInDelivery, match=r"file Condition\.ndjson") as raised:
        check_delivery(tmp_path, output, content)
    assert "did not note" in caplog.text and "Oosterhuis" not in caplog.text
    assert "999990019" not in str(raised.value)


def test_a_source_questionnaire_response_sends_the_records_file_to_the_text_scan(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    """Answers are named by item in the guard's columns: such a file is not noted."""
    content = delivery("ldtr", fhir_source=True)
    answer = {"resourceType": "QuestionnaireResponse", "id": "qr-1", "status": "completed"}
    sources = [*content.source_resources, SourceResource(answer)]
    output = write_ndjson(tmp_path, replace(content, source_resources=sources))
    assert "QuestionnaireResponse.ndjson" not in output.built
    assert "Observation.ndjson" in output.built


_PIECES = [
    *'ab"\\\n\t\x00\x1f\x7f .-_/é€Ç😀\u0131',
    "Oosterhuis",
    "999990019",
    "9711",
    "LM",
    "MRN0055555",
]
_AWKWARD = st.lists(st.sampled_from(_PIECES), max_size=12).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(st.one_of(st.none(), _AWKWARD), min_size=8, max_size=8),
    numbers=st.lists(
        st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1), st.sampled_from([PLANTED_NUMBER])),
        min_size=8,
        max_size=8,
    ),
    decimals=st.lists(
        st.one_of(
            st.none(),
            st.floats(allow_nan=False, allow_infinity=False),
            st.sampled_from([float(PLANTED_NUMBER), 1e-05, 1e22]),
        ),
        min_size=8,
        max_size=8,
    ),
)
def test_random_values_are_found_as_in_the_text(
    tmp_path_factory: pytest.TempPathFactory,
    delivery: Callable[..., DeliveryInput],
    texts: list[str | None],
    numbers: list[int | None],
    decimals: list[float | None],
) -> None:
    content = delivery("dica-dsaa")
    content = _with_column(content, "operatie", "operatie_id", texts)
    content = _with_column(content, "complicatie", "complicatie_id", texts[::-1])
    content = _with_column(content, "operatie", "diameter_aneurysma", numbers)
    content = _with_column(content, "operatie", "bmi", decimals)
    folder = tmp_path_factory.mktemp("values")
    output = write_ndjson(folder, content)
    _compare(folder, output, content)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.text(),
            _AWKWARD,
            st.integers(-(2**63), 2**63 - 1),
            st.floats(allow_nan=False, allow_infinity=False),
            st.booleans(),
        ),
        max_size=10,
    )
)
def test_literal_tokens_are_the_tokens_of_the_decoded_values(values: list[Any]) -> None:
    literals = [encode_basestring(v) if isinstance(v, str) else json.dumps(v) for v in values]
    expected: set[str] = set()
    for value in values:
        if not isinstance(value, bool):
            expected |= _value_tokens(str(json.loads(json.dumps(value))))
    assert literal_tokens(pa.array(literals, pa.string())) == expected
