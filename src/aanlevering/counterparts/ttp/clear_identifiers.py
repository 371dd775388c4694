"""Whether a local-mode file, once pseudonymised, still identifies somebody in the clear.

In local-client mode the TTP is the one that sends the data set to the
registry holder, so it must not pass on what a pseudonymised delivery may not
hold (decision 1020): a BSN identifier, any other identifier that is not a
pseudonym of the registration (a clear MRN), a pseudonym's place (an
identifier under the registration's pseudonym system, a ``pseudonyms`` member,
a pseudonym column) that holds no pseudonym (decision 1025), or a text that
holds nine digits passing the eleven-test. The rules are the registry holder's (terminology
codes and canonical addresses are not scanned: a SNOMED code may pass the
test by chance), applied before anything is forwarded, so a mistake at the
hospital is refused here instead of reaching the registry holder. Problems
name the place and the kind, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from aanlevering.counterparts.common.pseudonym_form import PSEUDONYM_FORM, is_pseudonym_of
from aanlevering.counterparts.common.scanned_keys import NOT_SCANNED
from aanlevering.events.guard import contains_probable_bsn
from aanlevering.pseudonym_types import BSN_SYSTEM

#: The member the TTP itself wrote (its labels), not the hospital's data.
TTP_MEMBER = "pseudonyms"

#: What is wrong with a value that is a pseudonym of the type in form (decision 1050), or None.
OwnCheck = Callable[[str, str], str | None]

_BSN_TEXT = "holds a value that looks like a BSN (nine digits passing the eleven-test)"


class ClearIdentifiers:
    """The clear-identifier checks of one registration's pseudonymised files."""

    def __init__(self, pseudonym_systems: Iterable[str], own: OwnCheck | None = None) -> None:
        self.systems = frozenset(pseudonym_systems)
        self.codes = frozenset(system.rsplit("/", 1)[1] for system in self.systems)
        self.own = own

    def _not_own(self, code: str, value: str, path: str) -> str | None:
        """``path`` holds a pseudonym the TTP did not make for this upload (decision 1050)."""
        problem = self.own(code, value) if self.own is not None else None
        return f"{path} {problem}" if problem is not None else None

    def identifier_problem(self, value: Any, path: str = "identifier") -> str | None:
        """What is wrong with an ``identifier`` member's entries (their systems), or None."""
        for identifier in value if isinstance(value, list) else [value]:
            if not isinstance(identifier, dict):
                return f"{path} is not an identifier object (only pseudonyms are forwarded)"
            system = identifier.get("system")
            if system == BSN_SYSTEM:
                return f"{path} is a BSN identifier: identifiers must be pseudonymised"
            if system not in self.systems:
                return (
                    f"{path} is not a pseudonym input of this registration (a clear MRN or "
                    "other local number?): only pseudonyms are forwarded"
                )
            code = system.rsplit("/", 1)[1]
            value = identifier.get("value")
            if not is_pseudonym_of(code, value):
                return (
                    f"{path} is an {code} pseudonym identifier whose value is no {code} "
                    f"pseudonym {PSEUDONYM_FORM}: only pseudonyms are forwarded"
                )
            if found := self._not_own(code, str(value), path):
                return found
        return None

    def pseudonyms_problem(self, value: Any, path: str = TTP_MEMBER) -> str | None:
        """What is wrong with a ``pseudonyms`` member (type -> label), or None.

        Why: the TTP writes this member from ``pseudonym_inputs``; one the
        hospital sent itself holds whatever it wrote, a clear number too
        (decision 1025).
        """
        if not isinstance(value, dict):
            return f"{path} is not an object of type -> pseudonym: only pseudonyms are forwarded"
        for code, label in value.items():
            if code not in self.codes:
                return (
                    f"{path} has a member that is no pseudonym type of this registration: "
                    "only pseudonyms are forwarded"
                )
            if not is_pseudonym_of(code, label):
                return (
                    f"{path}.{code} is no {code} pseudonym {PSEUDONYM_FORM}: only pseudonyms "
                    "are forwarded"
                )
            if found := self._not_own(code, str(label), f"{path}.{code}"):
                return found
        return None

    def json_problem(self, value: Any) -> str | None:
        """The first identifying thing in one pseudonymised JSON value, or None.

        Texts are gathered in one walk and scanned in one call; only after a
        find is the walk repeated with paths, to name the place.
        """
        texts: list[str] = []
        problem = self._walk(value, "", texts, None)
        if problem is not None or not contains_probable_bsn("\n".join(texts)):
            return problem
        places: list[str] = []
        texts.clear()
        self._walk(value, "", texts, places)
        where = next(
            (p for p, text in zip(places, texts, strict=True) if contains_probable_bsn(text)),
            "a text",
        )
        return f"{where} {_BSN_TEXT}"

    def _walk(
        self, value: Any, key: str, texts: list[str], places: list[str] | None, path: str = ""
    ) -> str | None:
        """Identifier problem of ``value``; its scanned texts (and their paths) appended."""
        if isinstance(value, dict):
            for name, item in value.items():
                texts.append(name)
                if places is not None:
                    places.append(f"a member name in {path or 'the record'}")
                inner = f"{path}.{name}" if path else name
                if name == "identifier":
                    found = self._identifiers(item, texts, places, inner)
                elif name == TTP_MEMBER and isinstance(item, dict):
                    found = self.pseudonyms_problem(item, inner)  # labels, the TTP's or not
                else:
                    found = self._walk(item, name, texts, places, inner)
                if found:
                    return found
        elif isinstance(value, list):
            for n, item in enumerate(value):
                if found := self._walk(item, key, texts, places, f"{path}[{n}]"):
                    return found
        elif (
            key not in NOT_SCANNED and isinstance(value, str | int) and not isinstance(value, bool)
        ):
            texts.append(str(value))
            if places is not None:
                places.append(path or "the value")
        return None

    def _identifiers(
        self, value: Any, texts: list[str], places: list[str] | None, path: str
    ) -> str | None:
        if found := self.identifier_problem(value, path):
            return found
        for n, identifier in enumerate(value if isinstance(value, list) else [value]):
            rest = {k: v for k, v in identifier.items() if k != "value"}
            if found := self._walk(rest, "identifier", texts, places, f"{path}[{n}]"):
                return found
        return None


#: A JSON escape (a backslash and a letter, or a backslash-u and four hex digits).
_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|.)")
#: The start every BSN-like token has (four digits, an optional dot, two digits).
_DIGIT_RUN = re.compile(r"[0-9]{4}\.?[0-9]{2}")


def dumped_may_hold_bsn(dumped: str) -> bool:
    """Whether a compact JSON text holds a BSN-like token anywhere (names, codes, labels too).

    Why: one scan of the text a record is written as anyway, and only records
    with a find are walked (decision 1020). Every text the walk scans stands in
    it between quotes or separators; read with each escape as a break and a
    space after each comma (so ``[111222333,5]`` is not taken for a decimal),
    nothing the walk would find is missed here.
    """
    if not _DIGIT_RUN.search(dumped):  # most records: a quarter of the full scan's time
        return False
    if "\\" in dumped:
        dumped = _ESCAPE.sub(" ", dumped)
    return contains_probable_bsn(dumped.replace(",", ", "))


def csv_problem(cells: Sequence[str], skipped: frozenset[int]) -> int | None:
    """The first column (0-based) outside ``skipped`` whose cell looks like a BSN, or None.

    One scan over the row's cells joined by line breaks (a break ends a token
    as the end of a cell does); the column is looked up only after a find.
    """
    scanned = [(n, cell) for n, cell in enumerate(cells) if n not in skipped]
    if not contains_probable_bsn("\n".join(cell for _, cell in scanned)):
        return None
    return next(n for n, cell in scanned if contains_probable_bsn(cell))


#: A CSV column that holds pseudonyms once delivered: the TTP's name or the registry holder's.
_PSEUDONYM_COLUMN = re.compile(r"(?:pseudonym\.|pseudoniem_)([A-Za-z]{1,8})")


def pseudonym_columns(header: Sequence[str], skipped: frozenset[int]) -> dict[int, str]:
    """(position -> type) of the header's pseudonym columns outside ``skipped`` (decision 1025)."""
    found: dict[int, str] = {}
    for position, name in enumerate(header):
        match = _PSEUDONYM_COLUMN.fullmatch(name)
        if match and position not in skipped:
            found[position] = match.group(1)
    return found


def csv_pseudonym_problem(
    cells: Sequence[str], columns: dict[int, str], own: OwnCheck | None = None
) -> str | None:
    """What is wrong with a row's pseudonym cells (none or a pseudonym of the type), or None.

    ``own`` says what is wrong with a pseudonym the TTP did not make for this
    upload (decision 1050).
    """
    for position, code in columns.items():
        cell = cells[position]
        if cell == "":
            continue
        if not is_pseudonym_of(code, cell):
            return (
                f"column {position + 1} is a {code} pseudonym column whose cell is no {code} "
                f"pseudonym {PSEUDONYM_FORM}: only pseudonyms are forwarded"
            )
        if own is not None and (problem := own(code, cell)) is not None:
            return f"column {position + 1} {problem}"
    return None


def text_has_bsn(data: bytes) -> bool:
    """Whether a report (counts only) holds a BSN-like text."""
    return contains_probable_bsn(data.decode("utf-8", errors="replace"))


CSV_BSN = _BSN_TEXT
