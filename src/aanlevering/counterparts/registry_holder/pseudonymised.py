"""Whether a delivered FHIR resource identifies nobody: pseudonym identifiers only, no BSN.

A registry holder receives pseudonymised data. Every ``identifier`` in a
delivered resource, at any depth (a logical reference's too), must be a
pseudonym of the delivery's registration of an approved type (the manifest's
``pseudonym_types``), in the registration's NamingSystem, its value written as
such a pseudonym (decision 1009). Any other text that
holds nine digits passing the BSN eleven-test is refused, except terminology
codes and canonical URLs (a SNOMED code may pass the test by chance).
Problems name the place and the kind, never the value (decision 0432).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aanlevering.counterparts.common.pseudonym_form import PSEUDONYM_FORM, is_pseudonym_of
from aanlevering.counterparts.common.scanned_keys import NOT_SCANNED
from aanlevering.events.guard import contains_probable_bsn
from aanlevering.fhir.conventions import pseudonym_system
from aanlevering.pseudonym.crypto import TEMPORARY_MARKER
from aanlevering.pseudonym_types import BSN_SYSTEM

__all__ = [
    "BSN_SYSTEM",
    "PSEUDONYM_FORM",
    "Pseudonymised",
    "contains_probable_bsn",
    "is_pseudonym_of",
    "is_temporary",
    "never_exchanged",
]


class Pseudonymised:
    """The identifier and BSN checks of one delivery's resources."""

    def __init__(
        self, registration: str, pseudonym_types: Iterable[str], ttp_mode: str = "web"
    ) -> None:
        self.systems = frozenset(pseudonym_system(registration, t) for t in pseudonym_types)
        self.registration = registration
        self.ttp_mode = ttp_mode

    def __repr__(self) -> str:
        return f"Pseudonymised({self.registration!r}, {len(self.systems)} pseudonym systems)"

    def problem(self, resource: dict[str, Any]) -> str | None:
        """The first identifying thing in ``resource``, or None."""
        return self._walk(resource, "")

    def _walk(self, value: object, key: str) -> str | None:
        text = _searched_text(value)
        if text is not None:
            return _text_problem(text, key)
        if isinstance(value, list):
            for item in value:
                if found := self._walk(item, key):
                    return found
            return None
        if not isinstance(value, dict):
            return None
        for name, item in value.items():
            if name == "identifier":
                found = self._identifiers(item)
            else:
                found = self._walk(name, "key") or self._walk(item, name)
            if found:
                return found
        return None

    def _identifiers(self, value: object) -> str | None:
        for identifier in value if isinstance(value, list) else [value]:
            if not isinstance(identifier, dict):
                return "an identifier that is not an object"
            system = identifier.get("system")
            if system == BSN_SYSTEM:
                return "carries a BSN identifier: identifiers must be pseudonymised"
            if system not in self.systems:
                return (
                    "carries an identifier that is not a pseudonym of registration "
                    f"{self.registration!r} of an approved type: only those may be delivered"
                )
            code = system.rsplit("/", 1)[1]
            rest = {k: v for k, v in identifier.items() if k != "value"}
            if found := self._value_problem(code, identifier.get("value")) or self._walk(
                rest, "identifier"
            ):
                return found
        return None

    def _value_problem(self, code: str, value: object) -> str | None:
        """Why a pseudonym identifier's ``value`` is not one to store (never the value)."""
        if not is_pseudonym_of(code, value):
            return (
                f"carries an {code} pseudonym identifier whose value is no {code} pseudonym "
                f"{PSEUDONYM_FORM}: identifiers must be pseudonymised"
            )
        if is_temporary(value) and self.ttp_mode != "web":
            return f"carries an {code} identifier that is {never_exchanged(self.ttp_mode)}"
        return None


def is_temporary(value: object) -> bool:
    """Whether ``value`` is written as a temporary pseudonym (``T1:<code>:v<n>:…``)."""
    return isinstance(value, str) and value.startswith(f"{TEMPORARY_MARKER}:")


def never_exchanged(ttp_mode: str) -> str:
    """What a temporary pseudonym in a delivery of ``ttp_mode`` (not ``web``) is (decision 1037).

    Why: the holder exchanges temporary pseudonyms for definitive ones in a
    web-mode delivery only; in another mode (``local``: the TTP wrote
    definitive ones) one would be stored as it came, a pseudonym no registry
    can link, and receipted as delivered.
    """
    return (
        f"a temporary pseudonym in a {ttp_mode!r}-mode delivery: only a web-mode delivery's "
        "temporary pseudonyms are exchanged for definitive ones"
    )


def _searched_text(value: object) -> str | None:
    """What the BSN search reads of a JSON value: a text, or a number's digits.

    Why numbers: ``valueInteger`` 111222333 is no safer than the text; the
    product's own check refuses both (decisions 0603, 1007).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    whole = isinstance(value, int) or value.is_integer()
    return str(int(value)) if whole else repr(value)


def _text_problem(value: str, key: str) -> str | None:
    if key in NOT_SCANNED or not contains_probable_bsn(value):
        return None
    return (
        f"{key or 'a text'} holds a value that looks like a BSN "
        "(nine digits passing the eleven-test): identifiers must be pseudonymised"
    )
