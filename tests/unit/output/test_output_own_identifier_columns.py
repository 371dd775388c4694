"""A delivered column holding each record's own patient's name, address or number is refused.

The output guard looks for the run's names as tokens, and leaves out the ones that
would block legal deliveries: names of fewer than four letters (Bos, Wit), names
that are ordinary words (Groot, Post), words of the option sets, patient numbers of
fewer than six digits, streets without a house number. A name column mapped onto a
code variable whose option-set check only warns went out in clear (decision 0851).
Both sides of the rule are pinned: an identity column blocks, naming dataset,
variable and kind only; a coincidence or an option-set code is delivered.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.catalogue.model import DataDictionary, Variable
from aanlevering.extract.model import ExtractedDataset
from aanlevering.output.birth_dates import refuse_birth_date_columns
from aanlevering.output.content import DeliveryInput
from aanlevering.output.guard import IdentifierInDelivery
from aanlevering.output.own_identifiers import (
    OwnIdentifierColumn,
    normal_forms,
    own_identifier_columns,
    refuse_own_identifier_columns,
)
from aanlevering.output.swapped_identity import (
    SwappedColumn,
    refuse_swapped_columns,
    swapped_columns,
)

CATALOGUE = Path(__file__).resolve().parents[3] / "schemas" / "catalogue"

#: Names the token guard does not search alone: short, ordinary words, or an option label.
PEOPLE = [
    {"patient_id": "0004711", "own_prefix": None, "own_name": "Bos", "given_names": "Jan Pieter",
     "street": "Lange Voorhout", "house_number": "3", "postcode": "2514 EA"},
    {"patient_id": "0004712", "own_prefix": "de", "own_name": "Groot", "given_names": "Anna",
     "street": "Hoofdstraat", "house_number": "12", "postcode": "1012NX"},
    {"patient_id": "0004713", "own_prefix": None, "own_name": "Post", "given_names": "Kees",
     "street": "Markt", "house_number": "1", "postcode": "9711 LM"},
    {"patient_id": "0004714", "own_prefix": None, "own_name": "Wit", "given_names": "Els",
     "street": "Dorpsstraat", "house_number": "40", "postcode": "5611 AZ"},
]  # fmt: skip


@pytest.fixture(scope="module")
def dictionary() -> DataDictionary:
    return load_catalogue(CATALOGUE).get("dica-dsaa").dictionary


def _identity(people: list[dict[str, str | None]], fields: tuple[str, ...]) -> pa.Table:
    return pa.table({f: pa.array([p.get(f) for p in people], pa.string()) for f in fields})


def _operaties(people: list[dict[str, str | None]], **columns: pa.Array) -> ExtractedDataset:
    n = len(people)
    clinical = {"operatie_id": pa.array([f"ok-{i}" for i in range(n)]), **columns}
    return ExtractedDataset(
        name="operatie",
        clinical=pa.table(clinical),
        identity=_identity(people, tuple(PEOPLE[0])),
        row_refs=pa.array([f"x.csv:{i + 2}" for i in range(n)]),
    )


def _values(field: str, people: list[dict[str, str | None]] = PEOPLE) -> list[str | None]:
    return [p[field] for p in people]


@pytest.mark.parametrize(
    ("variable", "values", "kind"),
    [
        ("techniek", _values("own_name"), "a name"),
        ("techniek", ["BOS", "de Groot", "post", "WIT"], "a name"),  # case, prefix
        ("urgentie", _values("given_names"), "a name"),
        ("urgentie", ["Jan", "Anna", "Kees", "Els"], "a name"),  # a call name
        ("techniek", _values("street"), "an address"),
        ("techniek", ["Lange Voorhout 3", "Hoofdstraat 12", "Markt 1", "Dorpsstraat 40"],
         "an address"),
        ("techniek", _values("postcode"), "an address"),
        ("techniek", _values("patient_id"), "a patient number"),
        ("bmi", [4711.0, 4712.0, 4713.0, 4714.0], "a patient number"),  # zeros lost
    ],
)  # fmt: skip
def test_an_identity_column_blocks_naming_variable_and_kind_only(
    dictionary: DataDictionary, variable: str, values: list[object], kind: str
) -> None:
    column = pa.array(values, pa.float64() if variable == "bmi" else pa.string())
    datasets = {"operatie": _operaties(PEOPLE, **{variable: column})}
    with pytest.raises(IdentifierInDelivery) as refused:
        refuse_own_identifier_columns("dica-dsaa", datasets, dictionary)
    message = str(refused.value)
    assert f"operatie.{variable}: {kind} in 4 of 4 record(s)" in message
    assert "delivery blocked" in message and "nothing was staged" in message
    shown = {str(v).lower() for v in values} | {str(v) for p in PEOPLE for v in p.values()}
    assert not [v for v in shown if v and len(v) > 2 and v.lower() in message.lower()]


def test_a_child_dataset_without_names_is_compared_with_its_patients_names(
    dictionary: DataDictionary,
) -> None:
    """DSAA's complicatie maps only the patient number: the name comes from operatie."""
    complicaties = ExtractedDataset(
        name="complicatie",
        clinical=pa.table(
            {
                "complicatie_id": [f"c-{i}" for i in range(4)],
                "soort_complicatie": ["Wit", "Bos", "Post", "Groot"],
            }
        ),
        identity=pa.table({"patient_id": ["0004714", "0004711", "0004713", "0004712"]}),
        row_refs=pa.array([f"c.csv:{i + 2}" for i in range(4)]),
    )
    datasets = {"operatie": _operaties(PEOPLE), "complicatie": complicaties}
    assert own_identifier_columns(datasets, dictionary) == [
        OwnIdentifierColumn("complicatie", "soort_complicatie", "a name", 4, 4, alone=4)
    ]


def test_a_code_of_the_option_set_never_counts(dictionary: DataDictionary) -> None:
    """A patient named Open (or Evar) whose technique is OPEN: the holder's own word."""
    names = ["Open", "Evar", "Open", "Evar"]
    people = [{**p, "own_name": name} for p, name in zip(PEOPLE, names, strict=True)]
    datasets = {"operatie": _operaties(people, techniek=pa.array([n.upper() for n in names]))}
    assert own_identifier_columns(datasets, dictionary) == []
    refuse_own_identifier_columns("dica-dsaa", datasets, dictionary)  # does not raise


def test_a_one_letter_value_is_never_compared() -> None:
    texts = pa.array(["A", "a.", " 0 ", "00", "Bos", "1012 NX", "0004711"])
    assert normal_forms(texts).to_pylist() == [None, None, None, None, "bos", "1012nx", "4711"]


def _with_remark(dictionary: DataDictionary) -> DataDictionary:
    """DSAA with a free-text ``opmerking`` on operatie (no option set)."""
    datasets = tuple(
        replace(d, variables=(*d.variables, Variable("opmerking", "string")))
        if d.name == "operatie"
        else d
        for d in dictionary.datasets
    )
    return replace(dictionary, datasets=datasets)


def test_a_coincidence_is_delivered_and_counted_in_the_log(
    dictionary: DataDictionary, caplog: pytest.LogCaptureFixture
) -> None:
    """One patient whose given name is Roos and whose remark is "roos" (erysipelas),
    among others: a given name names no one alone, so only the share counts."""
    people = [{**p, "given_names": "Roos"} if p is PEOPLE[3] else p for p in PEOPLE] * 3
    remarks = ["goed herstel", "geen", "drain verwijderd", "roos"] + ["geen bijzonderheden"] * 8
    datasets = {"operatie": _operaties(people, opmerking=pa.array(remarks))}
    remarked = _with_remark(dictionary)
    with caplog.at_level(logging.INFO, logger="aanlevering.output.own_identifiers"):
        refuse_own_identifier_columns("dica-dsaa", datasets, remarked)  # does not raise
    assert own_identifier_columns(datasets, remarked) == [
        OwnIdentifierColumn("operatie", "opmerking", "a name", 1, 12)
    ]
    assert "operatie.opmerking: 1 of 12 record(s)" in caplog.text and "roos" not in caplog.text


def test_a_name_column_mapped_onto_a_free_text_variable_blocks(
    dictionary: DataDictionary,
) -> None:
    datasets = {"operatie": _operaties(PEOPLE, opmerking=pa.array(_values("own_name")))}
    with pytest.raises(IdentifierInDelivery, match=r"operatie\.opmerking: a name in 4 of 4"):
        refuse_own_identifier_columns("dica-dsaa", datasets, _with_remark(dictionary))


def test_the_share_boundary(dictionary: DataDictionary) -> None:
    """Half of the compared records holding their own given name blocks; fewer does not
    (a given name names no one alone: decision 0880 leaves it to the share)."""
    people = PEOPLE * 2
    half = ["Jan", "Anna", "Kees", "Els", "x1", "x2", "x3", "x4"]
    fewer = ["Jan", "Anna", "Kees", "y0", "x1", "x2", "x3", "x4"]
    blocked = {"operatie": _operaties(people, techniek=pa.array(half))}
    with pytest.raises(IdentifierInDelivery):
        refuse_own_identifier_columns("dica-dsaa", blocked, dictionary)
    delivered = {"operatie": _operaties(people, techniek=pa.array(fewer))}
    refuse_own_identifier_columns("dica-dsaa", delivered, dictionary)  # does not raise


@pytest.mark.parametrize("registration", ["dica-dsaa", "ldtr", "nkr-borst"])
@pytest.mark.parametrize("fhir_source", [False, True])
def test_the_example_deliveries_hold_no_identity_column(
    delivery: Callable[..., DeliveryInput], registration: str, fhir_source: bool
) -> None:
    content = delivery(registration, fhir_source=fhir_source)
    dictionary = content.context.dictionary
    assert own_identifier_columns(content.datasets, dictionary) == []


def test_a_birth_date_column_of_a_child_dataset_blocks(dictionary: DataDictionary) -> None:
    """complicatie maps only the patient number: its dates are compared with operatie's
    birth dates (decision 0340 looked only at the dataset's own identity)."""
    births = ["14-03-1950", "02-11-1962", "30-06-1944", "21-12-1988"]
    people = [{**p, "birth_date": b} for p, b in zip(PEOPLE, births, strict=True)]
    operaties = _operaties(people)
    operaties = replace(operaties, identity=_identity(people, (*PEOPLE[0], "birth_date")))
    days = [dt.date(1950, 3, 14), dt.date(1962, 11, 2), dt.date(1944, 6, 30), dt.date(1988, 12, 21)]
    complicaties = ExtractedDataset(
        name="complicatie",
        clinical=pa.table(
            {"complicatie_id": [f"c-{i}" for i in range(4)], "datum_complicatie": days}
        ),
        identity=pa.table({"patient_id": _values("patient_id")}),
        row_refs=pa.array([f"c.csv:{i + 2}" for i in range(4)]),
    )
    datasets = {"operatie": operaties, "complicatie": complicaties}
    with pytest.raises(IdentifierInDelivery, match=r"complicatie\.datum_complicatie in 4 of 4"):
        refuse_birth_date_columns("dica-dsaa", datasets)


def test_a_name_column_holding_a_variables_codes_stops_the_run(dictionary: DataDictionary) -> None:
    """Headers swapped in the export: the names went to techniek, the codes to own_name,
    and no record's value is its own patient's name (decision 0853)."""
    codes = ["EVAR", "OPEN", "evar", "Fevar"]
    people = [{**p, "own_name": code} for p, code in zip(PEOPLE, codes, strict=True)]
    datasets = {"operatie": _operaties(people, techniek=pa.array(_values("own_name")))}
    assert own_identifier_columns(datasets, dictionary) == []  # what 0851 alone sees
    assert swapped_columns(datasets, dictionary) == [
        SwappedColumn("operatie", "own_name", "techniek", 4, 4)
    ]
    with pytest.raises(IdentifierInDelivery, match=r"identity own_name holds codes of techniek"):
        refuse_swapped_columns("dica-dsaa", datasets, dictionary)


def test_a_few_names_that_are_codes_are_no_swap(dictionary: DataDictionary) -> None:
    """A patient named Open among others: fewer than half the names are codes."""
    people = [
        {**p, "own_name": n} for p, n in zip(PEOPLE, ["Open", "Bos", "Post", "Wit"], strict=True)
    ]
    assert swapped_columns({"operatie": _operaties(people)}, dictionary) == []


@pytest.mark.parametrize("registration", ["dica-dsaa", "ldtr", "nkr-borst"])
def test_the_example_deliveries_hold_no_swapped_name_column(
    delivery: Callable[..., DeliveryInput], registration: str
) -> None:
    content = delivery(registration)
    assert swapped_columns(content.datasets, content.context.dictionary) == []
