"""Wire forms shared by the hospital side and the TTP: base64url, digests and pseudonym labels.

Every pseudonym on the wire carries its kind, type and key version in a
label, so a registry holder can tell a temporary from a definitive pseudonym
and a pseudonym of key version 1 from one of version 2 without asking the
TTP. The formats (docs/ttp.md):

* temporary: ``T1:<type>:v<version>:<base64url>`` (only the TTP can open it),
* definitive: ``<type>:v<version>:<base64url>`` (HMAC-SHA256, one-way),
* MRN: ``MRN:v<version>:<base64url>`` (reversible only by the providing hospital).

This module holds no keys and does no cryptography itself; it only encodes.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Literal

from aanlevering.pseudonym_types import PseudonymType

#: Marker of the temporary-pseudonym format (bump when the layout changes).
TEMPORARY_MARKER = "T1"

LabelKind = Literal["temporary", "definitive", "mrn"]

_HEX_DIGITS = frozenset("0123456789abcdef")
_TYPES_BY_CODE = {member.value: member for member in PseudonymType}


class LabelError(ValueError):
    """A string is not a well-formed pseudonym label (the message never repeats it)."""


def b64url_encode(raw: bytes) -> str:
    """Encode without padding, the form used in every label and MRN ciphertext."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url; raises ValueError on anything else."""
    if not text or "=" in text or "+" in text or "/" in text:
        raise ValueError("not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise ValueError("not unpadded base64url") from error


def source_digest_bytes(digest: str) -> bytes:
    """The 32 bytes of a source digest (64 lowercase hex characters).

    Strict on purpose: a digest in another form means the hospital side and
    the TTP disagree on the contract, and silently accepting it would break
    linkage instead of failing.
    """
    if len(digest) != 64 or not _HEX_DIGITS.issuperset(digest):
        raise ValueError("expected 64 lowercase hexadecimal characters")
    return bytes.fromhex(digest)


def pseudonym_type(code: str) -> PseudonymType:
    """The pseudonym type with this exact code; ValueError names the known codes."""
    try:
        return _TYPES_BY_CODE[code]
    except KeyError:
        known = ", ".join(_TYPES_BY_CODE)
        # Echo the code only when it looks like a type code: a caller that put
        # an identifier where a type belongs must not see it repeated.
        shown = repr(code) if code.isascii() and code.isalpha() and len(code) <= 8 else "(hidden)"
        raise ValueError(f"unknown pseudonym type {shown} (known: {known})") from None


@dataclass(frozen=True)
class PseudonymLabel:
    """A parsed label: what kind of pseudonym, of which type, under which key version."""

    kind: LabelKind
    type: PseudonymType
    version: int
    payload: bytes

    def __str__(self) -> str:
        return format_label(self.kind, self.type, self.version, self.payload)


def format_label(kind: LabelKind, ptype: PseudonymType, version: int, payload: bytes) -> str:
    """The wire form of a pseudonym (see the module docstring)."""
    body = f"v{version}:{b64url_encode(payload)}"
    if kind == "temporary":
        return f"{TEMPORARY_MARKER}:{ptype.value}:{body}"
    return f"{ptype.value}:{body}"


def _version(text: str) -> int:
    if len(text) < 2 or text[0] != "v" or not text[1:].isdigit():
        raise LabelError("key version must look like v<number>")
    version = int(text[1:])
    if version < 1:
        raise LabelError("key version must be at least 1")
    return version


def parse_label(label: str) -> PseudonymLabel:
    """Split a label into kind, type, version and payload; LabelError if malformed."""
    parts = label.split(":")
    if len(parts) == 4 and parts[0] == TEMPORARY_MARKER:
        kind: LabelKind = "temporary"
        code, version_text, payload_text = parts[1:]
    elif len(parts) == 3:
        code, version_text, payload_text = parts
        kind = "mrn" if code == PseudonymType.MRN.value else "definitive"
    else:
        raise LabelError("expected T1:<type>:v<n>:<data> or <type>:v<n>:<data>")
    try:
        ptype = pseudonym_type(code)
    except ValueError as error:
        raise LabelError(str(error)) from None
    if kind == "temporary" and ptype is PseudonymType.MRN:
        raise LabelError("MRN pseudonyms have no temporary form")
    version = _version(version_text)
    try:
        payload = b64url_decode(payload_text)
    except ValueError:
        raise LabelError("payload is not unpadded base64url") from None
    return PseudonymLabel(kind=kind, type=ptype, version=version, payload=payload)
