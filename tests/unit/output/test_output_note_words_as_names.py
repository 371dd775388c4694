"""Words every note uses that are also family names are searched only as a phrase (0911).

"haar" (her, hair) and "slot" ("tot slot": finally) are in nearly every note, and
ter Haar and Slot are Dutch family names of four letters that were no ordinary
words: with one patient so named in a run, the output guard stopped the whole
delivery for "haar dochter belde" in any record, and 0881 stopped it for the
patient's own remark. They are ordinary words now (``COMMON_WORDS``); as a name
they are still found: after a title, an initial, a given name or the prefix.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from test_output_guard_freetext import _planted
from test_output_own_identifier_columns import CATALOGUE, PEOPLE, _operaties, _with_remark

from aanlevering.catalogue import load_catalogue
from aanlevering.output.common_words import COMMON_WORDS
from aanlevering.output.content import DeliveryInput
from aanlevering.output.guard import IdentifierInDelivery, check_delivery
from aanlevering.output.own_names_in_text import own_names_in_text
from aanlevering.output.writer import write_delivery
from support.identity_columns import with_identity_columns

#: Two records a person, as the output tests' ldtr delivery has them.
NAMED: dict[str, list[str | None]] = {
    "own_prefix": ["ter", "van den", None, None],
    "own_name": ["Haar", "Berg", "Slot", "Çelik"],
    "given_names": ["Johanna", "Hendrik", "Maria Anna", "Emre"],
    "initials": ["J.", "H.", "M.A.", "E."],
}


@pytest.fixture
def ldtr(delivery: Callable[..., DeliveryInput]) -> DeliveryInput:
    return with_identity_columns(delivery("ldtr"), "trauma", NAMED)


def test_the_words_are_ordinary_words() -> None:
    assert {"haar", "slot"} <= COMMON_WORDS


@pytest.mark.parametrize(
    "text",
    [
        "haar dochter belde, tot slot goed herstel",
        "Haar: geen bijzonderheden. Slot: controle over 6 weken",
    ],
)
def test_the_words_in_a_note_do_not_stop_the_delivery(
    tmp_path: Path, ldtr: DeliveryInput, text: str
) -> None:
    content = _planted(ldtr, "trauma", "trauma_id", text)
    output = write_delivery(tmp_path, content, "csv")
    check_delivery(tmp_path, output, content)  # does not raise
    assert all((tmp_path / f.name).exists() for f in output.files)


@pytest.mark.parametrize(
    "text",
    [
        "mw. ter Haar belde",
        "gesprek met ter Haar",  # the prefix
        "J. Haar",  # an initial
        "Haar, Johanna",  # a given name after it
        "gesproken met dhr. Slot",  # a title
        "Maria Slot belde",  # a given name
    ],
)
def test_the_names_in_a_phrase_still_stop_it(
    tmp_path: Path, ldtr: DeliveryInput, text: str
) -> None:
    content = _planted(ldtr, "trauma", "trauma_id", text)
    output = write_delivery(tmp_path, content, "csv")
    with pytest.raises(IdentifierInDelivery, match="a name in"):
        check_delivery(tmp_path, output, content)


def test_the_own_remark_of_patient_ter_haar_is_delivered() -> None:
    """0881: "haar man belde" of patient ter Haar is the pronoun, not the name."""
    dictionary = _with_remark(load_catalogue(CATALOGUE).get("dica-dsaa").dictionary)
    people = [{**PEOPLE[0], "own_prefix": "ter", "own_name": "Haar"}, *PEOPLE[1:]]
    remarks = ["haar man belde, tot slot goed herstel", "", "", ""]
    datasets = {"operatie": _operaties(people, opmerking=pa.array(remarks))}
    assert own_names_in_text(datasets, dictionary) == []
