"""The address's line is parsed only when its extensions leave something open (0500).

``_address`` skips the two line regexes when the line's extensions give both the
house number and the street (what nl-core exports write): the answer must be the
straightforward version's (every line parsed) on every combination of present,
empty and missing extensions, Dutch and US lines, and lines that do not parse.
"""

from __future__ import annotations

import itertools
from typing import Any

from aanlevering.extract.fhir_identity import (
    _DUTCH_LINE,
    _US_LINE,
    HOUSE_NUMBER,
    NUMBER_SUFFIX,
    STREET_NAME,
    Json,
    _address,
    _current,
    _extension,
    _is_object,
    _pick,
    _text,
)


def _address_reference(patient: Json) -> dict[str, str | None]:
    """``_address`` as it was: the line parsed whenever it is Dutch-looking."""
    address = _pick(_current(patient.get("address") or ()), "home")
    if address is None:
        return {}
    lines = address.get("line") or ()
    line_elements = address.get("_line") or ()
    line = _text(lines[0]) if lines else None
    element = line_elements[0] if line_elements and _is_object(line_elements[0]) else None
    number = _text(_extension(element, HOUSE_NUMBER))
    addition = _text(_extension(element, NUMBER_SUFFIX))
    street = _text(_extension(element, STREET_NAME))
    if line and not _US_LINE.match(line) and (match := _DUTCH_LINE.match(line)):
        if number is None:
            number = match.group("number")
            addition = addition or _text(match.group("addition"))
        street = street or _text(match.group("street"))
    return {
        "postcode": _text(address.get("postalCode")),
        "house_number": number,
        "house_number_addition": addition,
        "street": street,
    }


LINES: list[Any] = [
    None,
    "",
    "Kerkstraat 12A",
    "Kerkstraat 12 - bis",
    "Lange Nieuwstraat 3/4",
    "123 Main Street Apt 4",
    "Postbus",
    "  Dorpsweg   7  ",
]
#: Per extension: absent, present with a value, present but blank, present without a value.
EXTENSION_VALUES: list[Any] = ["absent", "9", " ", None]


def _extensions(number: Any, suffix: Any, street: Any) -> list[dict[str, Any]]:
    found = []
    for url, value in ((HOUSE_NUMBER, number), (NUMBER_SUFFIX, suffix), (STREET_NAME, street)):
        if value == "absent":
            continue
        found.append({"url": url} if value is None else {"url": url, "valueString": value})
    return found


def test_the_address_is_the_straightforward_versions_on_every_combination() -> None:
    checked = 0
    for line, number, suffix, street in itertools.product(
        LINES, EXTENSION_VALUES, EXTENSION_VALUES, ["absent", "Kerkstraat", " ", None]
    ):
        address: dict[str, Any] = {"use": "home", "postalCode": "1234 AB"}
        if line is not None:
            address["line"] = [line]
        extensions = _extensions(number, suffix, street)
        if extensions:
            address["_line"] = [{"extension": extensions}]
        patient = {"resourceType": "Patient", "address": [address]}
        assert _address(patient) == _address_reference(patient), (line, number, suffix, street)
        checked += 1
    assert checked == len(LINES) * 4 * 4 * 4


def test_both_extensions_given_the_line_is_not_needed() -> None:
    """The case the skip is for: the extensions win over a line that says otherwise."""
    patient = {
        "resourceType": "Patient",
        "address": [
            {
                "line": ["Kerkstraat 12A"],
                "_line": [
                    {"extension": _extensions("14", "absent", "Dorpsweg")},
                ],
            }
        ],
    }
    found = _address(patient)
    assert found == _address_reference(patient)
    assert (found["street"], found["house_number"], found["house_number_addition"]) == (
        "Dorpsweg",
        "14",
        None,
    )
