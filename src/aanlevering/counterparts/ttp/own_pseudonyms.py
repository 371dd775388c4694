"""Whether a pseudonym written in a local upload is one this TTP made for the uploader.

The form alone (``is_pseudonym_of``, decision 1025) lets any pseudonym of the
type pass: a temporary pseudonym of another registration, or an MRN
pseudonym of another hospital, copied into a delivery, was forwarded. The TTP
made both kinds with AES-SIV and can open them (decision 1050):

* a temporary pseudonym (``T1:<type>:v<n>:…``) is bound to registration, type
  and key version, not to a hospital. One that does not open under this
  registration is another registration's (or damaged); one that does is still
  refused, because in a local-mode delivery nothing exchanges it (the registry
  holder refuses it, decision 1037), so it would only be refused after it left;
* an MRN pseudonym (``MRN:v<n>:…``) is bound to registration, hospital and key
  version: one that does not open for this hospital is refused;
* a definitive pseudonym is a one-way HMAC of a digest the TTP does not have:
  nothing can be verified, its form is all that is checked.

Problems name the kind and the key version, never the value.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag

from aanlevering.counterparts.ttp.keys import KeyRing, VersionKeys, mrn_associated_data
from aanlevering.counterparts.ttp.refusal import Refusal
from aanlevering.pseudonym.crypto import TEMPORARY_MARKER, LabelError, parse_label
from aanlevering.pseudonym_types import PseudonymType

_TEMPORARY = f"{TEMPORARY_MARKER}:"


class OwnPseudonyms:
    """Opens the temporary and MRN pseudonyms of one upload (registration and hospital)."""

    def __init__(self, keyring: KeyRing, registration: str, hospital: str) -> None:
        self._keyring = keyring
        self._registration = registration
        self._hospital = hospital

    def problem(self, code: str, value: str) -> str | None:
        """What is wrong with ``value`` (already a pseudonym of ``code`` in form), or None."""
        if value.startswith(_TEMPORARY):
            return self._temporary(value)
        if code == PseudonymType.MRN.value:
            return self._mrn(value)
        return None

    def _keys(self, version: int) -> VersionKeys | None:
        try:
            return self._keyring.version(self._registration, version)
        except Refusal:  # unknown or retired: not one of this registration's usable keys
            return None

    def _temporary(self, value: str) -> str:
        try:
            label = parse_label(value)
            keys = self._keys(label.version)
            if keys is None:
                raise LabelError("no such key version")
            keys.temporary.decrypt(label.payload, [keys.temporary_ad[label.type]])
        except (LabelError, InvalidTag, ValueError):
            return (
                "holds a temporary pseudonym the TTP did not make for this registration "
                "(another registration's, or damaged): only this registration's pseudonyms "
                "are forwarded"
            )
        return (
            "holds a temporary pseudonym: a local-mode delivery carries definitive pseudonyms "
            "only (nothing exchanges a temporary one there); send its pseudonym input instead"
        )

    def _mrn(self, value: str) -> str | None:
        try:
            label = parse_label(value)
            keys = self._keys(label.version)
            if keys is None:
                raise LabelError("no such key version")
            ad = [mrn_associated_data(self._registration, self._hospital, label.version)]
            keys.mrn.decrypt(label.payload, ad)
        except (LabelError, InvalidTag, ValueError):
            return (
                "holds an MRN pseudonym the TTP did not make for this hospital and registration "
                "(another hospital's or registration's, or damaged): only the uploader's own "
                "pseudonyms are forwarded"
            )
        return None
