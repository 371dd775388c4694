"""One record holding its own patient's name or number stops the run (decisions 0880, 0881).

Decision 0851 stopped a variable only when at least half of its compared records
held their own patient's identifier: three of 200 remarks (or codes outside the
option set) reading "Bos" went out. Now a record whose whole value names its own
patient alone blocks (0880), and a free-text value holding its own patient's family
name as a word blocks (0881). Both sides are pinned: what blocks, and the false
positives left alone (option-set words, given names, ordinary words, short names,
short numbers in number variables, another patient's name).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest
from test_output_own_identifier_columns import (
    CATALOGUE,
    PEOPLE,
    _identity,
    _operaties,
    _with_remark,
)

from aanlevering.catalogue import load_catalogue
from aanlevering.catalogue.model import DataDictionary
from aanlevering.output.content import DeliveryInput
from aanlevering.output.guard import IdentifierInDelivery
from aanlevering.output.own_identifiers import (
    OwnIdentifierColumn,
    own_identifier_columns,
    refuse_own_identifier_columns,
)
from aanlevering.output.own_names_in_text import (
    OwnNameInText,
    own_names_in_text,
    refuse_own_names_in_text,
)

#: Twelve records: PEOPLE three times (Bos, de Groot, Post, Wit).
PEOPLE_12 = PEOPLE * 3
QUIET = "geen bijzonderheden"


@pytest.fixture(scope="module")
def remarked() -> DataDictionary:
    return _with_remark(load_catalogue(CATALOGUE).get("dica-dsaa").dictionary)


def _one_remark(text: str, at: int = 0, people: list[dict[str, str | None]] = PEOPLE_12) -> dict:
    remarks = [QUIET] * len(people)
    remarks[at] = text
    return {"operatie": _operaties(people, opmerking=pa.array(remarks))}


@pytest.mark.parametrize(
    ("text", "at", "kind"),
    [
        ("Bos", 0, "a name"),  # three letters: the output guard never searches it alone
        ("BOS.", 4, "a name"),
        ("de Groot", 1, "a name"),
        ("Groot", 1, "a name"),  # an ordinary word, but the whole value is the name
        ("Post", 2, "a name"),
        ("Hoofdstraat 12", 1, "an address"),
        ("2514EA", 0, "an address"),
        ("0004713", 2, "a patient number"),  # shorter than the guard's six digits
        ("4713", 2, "a patient number"),
    ],
)
def test_one_record_whose_value_is_its_own_identifier_blocks(
    remarked: DataDictionary, text: str, at: int, kind: str
) -> None:
    datasets = _one_remark(text, at)
    with pytest.raises(IdentifierInDelivery) as refused:
        refuse_own_identifier_columns("dica-dsaa", datasets, remarked)
    message = str(refused.value)
    assert f"operatie.opmerking: {kind} in 1 of 12 record(s), at x.csv:{at + 2}" in message
    assert "nothing was staged" in message
    assert text.lower() not in message.lower()


def test_a_code_outside_the_option_set_equal_to_the_own_name_blocks(
    remarked: DataDictionary,
) -> None:
    """Most records hold a local code the option set lacks (a warning): 1 of 12 named."""
    codes = ["EVAR2"] * 12
    codes[3] = "Wit"
    datasets = {"operatie": _operaties(PEOPLE_12, techniek=pa.array(codes))}
    with pytest.raises(IdentifierInDelivery, match=r"operatie\.techniek: a name in 1 of 12"):
        refuse_own_identifier_columns("dica-dsaa", datasets, remarked)


def test_another_patients_name_is_not_this_check(remarked: DataDictionary) -> None:
    """Bos's name in Post's record: not its own patient's (the output guard's to find)."""
    datasets = _one_remark("Bos", at=2)
    assert own_identifier_columns(datasets, remarked) == []
    assert own_names_in_text(datasets, remarked) == []


def test_an_option_set_word_that_is_the_own_name_never_counts(remarked: DataDictionary) -> None:
    """A patient named Open whose technique is OPEN: the holder's own word."""
    people = [{**p, "own_name": "Open"} for p in PEOPLE_12]
    datasets = {"operatie": _operaties(people, techniek=pa.array(["OPEN"] * 12))}
    refuse_own_identifier_columns("dica-dsaa", datasets, remarked)  # does not raise


def test_a_one_letter_code_is_never_compared(remarked: DataDictionary) -> None:
    people = [{**p, "own_name": "A"} for p in PEOPLE_12]
    datasets = {"operatie": _operaties(people, opmerking=pa.array(["A"] * 12))}
    refuse_own_identifier_columns("dica-dsaa", datasets, remarked)  # does not raise


def test_a_short_number_in_a_number_variable_is_a_measurement(remarked: DataDictionary) -> None:
    """Patient 4711's BMI of 4711 in one record of twelve: below the share, and too short
    to count alone; a patient number of six digits or more counts alone."""
    bmi = [25.0] * 12
    bmi[0] = 4711.0
    short = {"operatie": _operaties(PEOPLE_12, bmi=pa.array(bmi))}
    refuse_own_identifier_columns("dica-dsaa", short, remarked)  # does not raise
    people = [{**p, "patient_id": f"00{i}471100"} for i, p in enumerate(PEOPLE_12)]
    bmi[0] = 471100.0
    long = {"operatie": _operaties(people, bmi=pa.array(bmi))}
    assert own_identifier_columns(long, remarked) == [
        OwnIdentifierColumn("operatie", "bmi", "a patient number", 1, 12, alone=1)
    ]


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("pat. bos belde, goed herstel", 0),
        ("Controle: BOS-poli", 0),
        ("overleg met fam. wit", 3),
    ],
)
def test_a_free_text_holding_its_own_family_name_as_a_word_blocks(
    remarked: DataDictionary, text: str, at: int, tmp_path: Path
) -> None:
    datasets = _one_remark(text, at)
    assert own_names_in_text(datasets, remarked) == [
        OwnNameInText("operatie", "opmerking", 1, (f"x.csv:{at + 2}",))
    ]
    written = tmp_path / "operatie.csv"
    written.write_text("written", encoding="utf-8")
    refuse_own_identifier_columns("dica-dsaa", datasets, remarked)  # not a whole value
    with pytest.raises(IdentifierInDelivery) as refused:
        refuse_own_names_in_text("dica-dsaa", datasets, remarked, [written])
    assert not written.exists()  # removed before raising
    assert text.lower() not in str(refused.value).lower()
    assert (
        f"operatie.opmerking: the patient's own family name as a word in 1 record(s), "
        f"at x.csv:{at + 2}" in str(refused.value)
    )


def test_a_partner_name_in_the_own_text_blocks(remarked: DataDictionary) -> None:
    people = [{**p, "partner_name": "Vos"} if p is PEOPLE[1] else p for p in PEOPLE] * 3
    datasets = _one_remark("echtgenoot Vos belde", at=5, people=people)
    identity = _identity(people, (*PEOPLE[0], "partner_name"))
    datasets = {"operatie": replace(datasets["operatie"], identity=identity)}
    assert own_names_in_text(datasets, remarked) == [
        OwnNameInText("operatie", "opmerking", 1, ("x.csv:7",))
    ]


@pytest.mark.parametrize(
    ("text", "at", "change"),
    [
        ("groot aneurysma, goed herstel", 1, {}),  # de Groot: an ordinary word
        ("post-operatief beloop goed", 2, {}),  # Post: an ordinary word
        ("bosje bloemen van de afdeling", 0, {}),  # Bos inside a word
        ("li been gezwollen", 0, {"own_name": "Li"}),  # two letters: "links"
        ("Anna belde, goed herstel", 1, {}),  # a given name alone
        ("evar zonder complicaties", 0, {"own_name": "Evar"}),  # a code of the dictionary
        ("bot metastasen, geen fractuur", 0, {"own_name": "Bot"}),  # bone (0885)
        ("lever niet vergroot", 1, {"own_name": "Lever"}),  # liver (0885)
        ("rug pijnlijk bij mobiliseren", 2, {"own_name": "Rug"}),  # back (0885)
    ],
)
def test_ordinary_words_short_names_and_given_names_in_free_text_are_delivered(
    remarked: DataDictionary, text: str, at: int, change: dict[str, str]
) -> None:
    people = [{**p, **change} if i == at else p for i, p in enumerate(PEOPLE_12)]
    datasets = _one_remark(text, at, people)
    assert own_names_in_text(datasets, remarked) == []
    refuse_own_identifier_columns("dica-dsaa", datasets, remarked)  # does not raise
    refuse_own_names_in_text("dica-dsaa", datasets, remarked)  # does not raise


@pytest.mark.parametrize("registration", ["dica-dsaa", "ldtr", "nkr-borst"])
@pytest.mark.parametrize("fhir_source", [False, True])
def test_the_example_deliveries_hold_no_own_identifier_in_any_record(
    delivery: Callable[..., DeliveryInput], registration: str, fhir_source: bool
) -> None:
    content = delivery(registration, fhir_source=fhir_source)
    dictionary = content.context.dictionary
    assert not [c for c in own_identifier_columns(content.datasets, dictionary) if c.blocks]
    assert own_names_in_text(content.datasets, dictionary) == []


def test_a_code_value_outside_the_option_set_holding_the_own_name_blocks(
    remarked: DataDictionary,
) -> None:
    """ "Bos, J." under techniek (not a code of its set; the option-set check warns) is no
    whole-value match and no phrase of the guard; a code of the set never counts."""
    codes = ["EVAR"] * 12
    codes[4] = "Bos, J."
    datasets = {"operatie": _operaties(PEOPLE_12, techniek=pa.array(codes))}
    assert own_names_in_text(datasets, remarked) == [
        OwnNameInText("operatie", "techniek", 1, ("x.csv:6",))
    ]
    people = [{**p, "own_name": "Evar Open"} for p in PEOPLE_12]
    named = {"operatie": _operaties(people, techniek=pa.array(["EVAR", "OPEN"] * 6))}
    assert own_names_in_text(named, remarked) == []


def test_a_text_holding_its_own_short_patient_number_blocks(remarked: DataDictionary) -> None:
    """The guard searches patient numbers of six digits or more: "pt 12345 gebeld" of
    patient 0012345 went out. Four digits (a year, a count) and another patient's
    number are not this check; nor is the number inside a longer one."""
    people = [{**p, "patient_id": f"00{12345 + i}"} for i, p in enumerate(PEOPLE_12)]
    people[7] = {**people[7], "patient_id": "0002026"}
    datasets = _one_remark("pt 12347 gebeld, Z-12347 nagekeken", at=2, people=people)
    assert own_names_in_text(datasets, remarked) == [
        OwnNameInText("operatie", "opmerking", 1, ("x.csv:4",), "patient number")
    ]
    with pytest.raises(IdentifierInDelivery, match="own patient number as a word in 1"):
        refuse_own_names_in_text("dica-dsaa", datasets, remarked)
    for text, at in (("controle 2026", 7), ("pt 12347 gebeld", 3), ("lab 123470", 2)):
        assert own_names_in_text(_one_remark(text, at, people), remarked) == []
