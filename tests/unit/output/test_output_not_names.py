"""A word the registration lists under ``not_names`` is not its patient's name (decision 0910).

"wit beslag op de tong" of patient Wit stopped the whole run (0881), and a remark
or local code "Wit" of patient Wit too (0880), with advice to remove it from the
EHR: a clinical word the hospital cannot remove. With ``not_names: [wit]`` those
records are delivered and counted; the word next to the record's own title,
initial or given name ("mw. Wit", "Wit, E.", "Els Wit") is the name and still
stops the run; another name ("pat. bos belde" of patient Bos) is not cleared.
Both sides are pinned here, and the refusals name the setting.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pytest
from test_output_own_identifier_columns import CATALOGUE, PEOPLE, _operaties, _with_remark

from aanlevering.catalogue import load_catalogue
from aanlevering.catalogue.model import DataDictionary
from aanlevering.output.guard import IdentifierInDelivery
from aanlevering.output.not_names import NotNameRecords, describe, merged, report_section
from aanlevering.output.own_identifiers import (
    own_identifier_columns,
    refuse_own_identifier_columns,
)
from aanlevering.output.own_names_in_text import (
    NAME_PHRASE,
    OwnNameInText,
    own_names_in_text,
    refuse_own_names_in_text,
)

#: Twelve records: PEOPLE three times (Bos, de Groot, Post, Wit); Wit (Els) at 3, 7, 11.
PEOPLE_12 = PEOPLE * 3
QUIET = "geen bijzonderheden"
LISTED = ("wit",)


@pytest.fixture(scope="module")
def remarked() -> DataDictionary:
    return _with_remark(load_catalogue(CATALOGUE).get("dica-dsaa").dictionary)


def _remarks(texts: dict[int, str]) -> dict:
    remarks = [texts.get(i, QUIET) for i in range(len(PEOPLE_12))]
    return {"operatie": _operaties(PEOPLE_12, opmerking=pa.array(remarks))}


def _names_no_value(message: str, value: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(value.lower())}(?!\w)", message.lower()) is None


def test_a_listed_word_in_the_own_text_is_delivered_and_counted(
    remarked: DataDictionary,
) -> None:
    datasets = _remarks({3: "wit beslag op de tong", 7: "Tong: WIT beslag."})
    assert own_names_in_text(datasets, remarked) == [  # without the list: stops the run
        OwnNameInText("operatie", "opmerking", 2, ("x.csv:5", "x.csv:9"))
    ]
    assert own_names_in_text(datasets, remarked, LISTED) == []
    cleared = refuse_own_names_in_text("dica-dsaa", datasets, remarked, (), LISTED)
    assert cleared == [NotNameRecords("operatie", "opmerking", {"wit": 2})]
    assert refuse_own_identifier_columns("dica-dsaa", datasets, remarked, LISTED) == []


def test_without_the_list_the_refusal_names_the_setting_and_no_value(
    remarked: DataDictionary,
) -> None:
    with pytest.raises(IdentifierInDelivery) as refused:
        refuse_own_names_in_text("dica-dsaa", _remarks({3: "wit beslag"}), remarked)
    message = str(refused.value)
    assert "operatie.opmerking: the patient's own family name as a word in 1 record(s)" in message
    assert "at x.csv:5" in message
    assert "not_names" in message and "registrations/dica-dsaa.yaml" in message
    assert _names_no_value(message, "wit") and _names_no_value(message, "beslag")


def test_a_listed_word_as_the_whole_value_is_delivered_and_counted(
    remarked: DataDictionary,
) -> None:
    """0880: a remark "Wit", and a local code "Wit" under techniek, of patient Wit."""
    datasets = _remarks({3: "Wit", 11: "wit"})
    with pytest.raises(IdentifierInDelivery) as refused:
        refuse_own_identifier_columns("dica-dsaa", datasets, remarked)
    message = str(refused.value)
    assert "operatie.opmerking: a name in 2 of 12 record(s), at x.csv:5, x.csv:13" in message
    assert "not_names" in message and _names_no_value(message, "wit")
    cleared = refuse_own_identifier_columns("dica-dsaa", datasets, remarked, LISTED)
    assert cleared == [NotNameRecords("operatie", "opmerking", {"wit": 2})]
    assert refuse_own_names_in_text("dica-dsaa", datasets, remarked, (), LISTED) == cleared
    codes = ["EVAR2"] * 12
    codes[3] = "Wit"
    coded = {"operatie": _operaties(PEOPLE_12, techniek=pa.array(codes))}
    assert [c.variable for c in own_identifier_columns(coded, remarked) if c.blocks] == ["techniek"]
    assert own_identifier_columns(coded, remarked, LISTED) == []


@pytest.mark.parametrize(
    "text",
    [
        "mw. Wit belde, goed herstel",  # a title (the output guard's phrase too)
        "fam. wit ingelicht",
        "Wit, E. belde",  # family name, initial: the formal way to write a name
        "Els Wit belde",  # the own given name before it (the guard's phrase too)
        "gesprek met wit, els",  # the own given name after it
        "E. Wit",
    ],
)
def test_a_listed_word_next_to_the_own_title_initial_or_given_name_still_blocks(
    remarked: DataDictionary, text: str
) -> None:
    datasets = _remarks({3: "wit beslag", 7: text})
    assert own_names_in_text(datasets, remarked, LISTED) == [
        OwnNameInText("operatie", "opmerking", 1, ("x.csv:9",), NAME_PHRASE)
    ]
    with pytest.raises(IdentifierInDelivery) as refused:
        refuse_own_names_in_text("dica-dsaa", datasets, remarked, (), LISTED)
    message = str(refused.value)
    assert (
        "operatie.opmerking: the patient's own family name next to a title, initial or given "
        "name in 1 record(s), at x.csv:9" in message
    )
    assert "not_names" not in message  # the list does not clear a name
    assert _names_no_value(message, "wit") and _names_no_value(message, "els")


def test_the_list_clears_only_its_words_and_only_as_the_own_name(
    remarked: DataDictionary,
) -> None:
    """Patient Bos's "pat. bos belde" still blocks; "wit" in another patient's remark
    was never this check; an initial of another patient next to "wit" is no phrase."""
    datasets = _remarks({0: "pat. bos belde", 1: "wit beslag", 3: "wit, a. radialis"})
    assert own_names_in_text(datasets, remarked, LISTED) == [
        OwnNameInText("operatie", "opmerking", 1, ("x.csv:2",))
    ]
    assert own_names_in_text(_remarks({1: "wit beslag"}), remarked) == []
    cleared = refuse_own_names_in_text(
        "dica-dsaa", _remarks({1: "wit", 3: "wit, a. radialis"}), remarked, (), LISTED
    )
    assert cleared == [NotNameRecords("operatie", "opmerking", {"wit": 1})]


def test_a_listed_word_already_an_ordinary_word_is_not_counted(
    remarked: DataDictionary,
) -> None:
    """ "groot" of patient de Groot never stopped 0881: the list let nothing through."""
    datasets = _remarks({1: "groot aneurysma"})
    assert refuse_own_names_in_text("dica-dsaa", datasets, remarked, (), ("groot",)) == []


def test_the_report_and_the_log_line_hold_words_and_counts_only() -> None:
    found = [
        NotNameRecords("operatie", "opmerking", {"wit": 2}),  # 0880, whole values
        NotNameRecords("operatie", "opmerking", {"wit": 3}),  # 0881, the same records and one
        NotNameRecords("operatie", "techniek", {"wit": 1}),
    ]
    assert merged(found) == [
        NotNameRecords("operatie", "opmerking", {"wit": 3}),
        NotNameRecords("operatie", "techniek", {"wit": 1}),
    ]
    assert report_section(["wit", "beslag"], found) == {
        "decision": "0910",
        "listed": ["beslag", "wit"],
        "unused": ["beslag"],
        "delivered_only_because_listed": {
            "operatie.opmerking": {"records": 3, "words": {"wit": 3}},
            "operatie.techniek": {"records": 1, "words": {"wit": 1}},
        },
    }
    assert describe(found) == (
        "delivered only because the registration lists the word under not_names "
        "(decision 0910): operatie.opmerking: 3 record(s) (wit 3); "
        "operatie.techniek: 1 record(s) (wit 1)"
    )
    assert "no record needed" in describe([])
