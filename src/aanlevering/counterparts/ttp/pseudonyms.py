"""Making, exchanging and reversing pseudonyms, one batch at a time.

The cryptography (decision 0040, 0045):

* definitive = HMAC-SHA256(definitive key of registration+version, type || 0x00 || digest);
  the same digest gives the same definitive pseudonym from any hospital, a
  different one in every other registration;
* temporary = AES-SIV(temporary key, digest; AD = registration, type, version);
  only the TTP can open it, and only as a pseudonym of that registration;
  because it carries the digest, it can be turned into the definitive
  pseudonym of any non-retired key version (rotation);
* MRN = AES-SIV(mrn key, hospital's MRN ciphertext; AD = registration, hospital, version);
  only a request of that same hospital gets the ciphertext back.

Functions take whole batches and fail the whole batch on the first problem,
so a caller never gets a partial answer. Label prefixes are built once per
batch and cipher objects come from the key ring, to keep per-record work to
the cryptographic calls themselves.
"""

from __future__ import annotations

import binascii
import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import numpy as np
from cryptography.exceptions import InvalidTag

from aanlevering.counterparts.ttp.config import Registration
from aanlevering.counterparts.ttp.keys import KeyRing, VersionKeys, mrn_associated_data
from aanlevering.counterparts.ttp.mrn_ciphertext import not_ciphertext, not_ciphertext_rows
from aanlevering.counterparts.ttp.one_way import NOT_ONE_WAY, is_one_way, not_one_way_rows
from aanlevering.counterparts.ttp.refusal import Refusal
from aanlevering.pseudonym.crypto import (
    TEMPORARY_MARKER,
    LabelError,
    PseudonymLabel,
    b64url_decode,
    b64url_encode,
    parse_label,
    pseudonym_type,
    source_digest_bytes,
)
from aanlevering.pseudonym.siv_columns import b64url_rows, siv_encrypt_rows
from aanlevering.pseudonym_types import PseudonymType

MRN = PseudonymType.MRN.value

#: Bounds of the hospital's MRN ciphertext (AES-SIV: 16-byte tag + at least 1 byte).
MRN_CIPHERTEXT_MIN_BYTES = 17
MRN_CIPHERTEXT_MAX_BYTES = 512


class PseudonymInput(Protocol):
    """One person's inputs in web mode (the API model satisfies this)."""

    @property
    def ref(self) -> str:
        """The hospital's reference of the record (no identifier)."""

    @property
    def digests(self) -> Mapping[str, str]:
        """Source digest per pseudonym type."""

    @property
    def mrn_ciphertext(self) -> str | None:
        """The hospital's own MRN ciphertext, when an MRN pseudonym is wanted."""


class TemporaryInput(Protocol):
    """One person's temporary pseudonyms, sent by the registry holder for exchange."""

    @property
    def ref(self) -> str:
        """The registry holder's reference of the record."""

    @property
    def pseudonyms(self) -> Mapping[str, str]:
        """Temporary pseudonym label per pseudonym type."""


def check_types_allowed(registration: Registration, codes: Iterable[str]) -> None:
    """Refuse the whole request when any type is unknown or not allowed for the registration."""
    allowed = {ptype.value for ptype in registration.types}
    requested = set(codes)
    for code in requested:
        try:
            pseudonym_type(code)
        except ValueError as error:
            raise Refusal(422, "unknown_type", str(error), registration=registration.id) from None
    refused = sorted(requested - allowed)
    if refused:
        raise Refusal(
            403,
            "type_not_allowed",
            f"registration {registration.id!r} may not receive pseudonym type(s) "
            f"{', '.join(refused)} (allowed: {', '.join(sorted(allowed))}); "
            "the whole request is refused",
            registration=registration.id,
            pseudonym_type=refused[0],
        )


def requested_codes(records: Sequence[PseudonymInput]) -> set[str]:
    """Every type some record asks for (MRN when a record carries an MRN ciphertext)."""
    codes: set[str] = set()
    for record in records:
        codes.update(record.digests)
        if record.mrn_ciphertext is not None:
            codes.add(MRN)
    return codes


def _digest_format(
    registration: str, code: str, digest: str, index: int, where: str | None = None
) -> bytes:
    try:
        return source_digest_bytes(digest)
    except ValueError as error:
        raise Refusal(
            422,
            "invalid_digest",
            f"{where or f'record {index}'}: source digest of type {code} is malformed ({error})",
            registration=registration,
            pseudonym_type=code,
            index=index,
        ) from None


def _not_one_way(registration: str, code: str, index: int, where: str | None = None) -> Refusal:
    """422 ``not_one_way``: a clear identifier in a digest's place (decision 1021)."""
    return Refusal(
        422,
        "not_one_way",
        f"{where or f'record {index}'}: the source digest of type {code} {NOT_ONE_WAY}",
        registration=registration,
        pseudonym_type=code,
        index=index,
    )


def _digest(
    registration: str, code: str, digest: str, index: int, where: str | None = None
) -> bytes:
    """The 32 bytes of one well-formed source digest that can be a one-way value."""
    raw = _digest_format(registration, code, digest, index, where)
    if not is_one_way(raw):
        raise _not_one_way(registration, code, index, where)
    return raw


def _check_one_way(registration: str, code: str, raw: bytes, rows: Sequence[int]) -> None:
    """Refuse the first row of a decoded column whose digest is no one-way value."""
    bad = not_one_way_rows(raw)
    if bad:
        raise _not_one_way(registration, code, rows[bad[0]])


def _mrn_ciphertext(registration: str, text: str, index: int, where: str | None = None) -> bytes:
    try:
        raw = b64url_decode(text)
    except ValueError:
        raw = b""
    if not MRN_CIPHERTEXT_MIN_BYTES <= len(raw) <= MRN_CIPHERTEXT_MAX_BYTES:
        raise Refusal(
            422,
            "invalid_mrn_ciphertext",
            f"{where or f'record {index}'}: MRN ciphertext must be unpadded base64url of "
            f"{MRN_CIPHERTEXT_MIN_BYTES} to {MRN_CIPHERTEXT_MAX_BYTES} bytes",
            registration=registration,
            pseudonym_type=MRN,
            index=index,
        )
    kind = not_ciphertext(text, raw)
    if kind is not None:  # a clear number in a ciphertext's place (decision 1023)
        raise Refusal(
            422,
            "not_mrn_ciphertext",
            f"{where or f'record {index}'}: the MRN ciphertext {kind}, so it is no ciphertext of "
            "the hospital's MRN key; the hospital sends its MRN encrypted, never the number",
            registration=registration,
            pseudonym_type=MRN,
            index=index,
        )
    return raw


class MrnWrapper:
    """Wraps one hospital's MRN ciphertexts under one registration key version."""

    def __init__(self, keys: VersionKeys, hospital: str) -> None:
        self._cipher = keys.mrn
        self._ad = [mrn_associated_data(keys.registration, hospital, keys.version)]
        self._prefix = f"{MRN}:v{keys.version}:"
        self._registration = keys.registration

    def wrap(self, ciphertext: str, index: int, where: str | None = None) -> str:
        """The MRN pseudonym label of one hospital ciphertext."""
        raw = _mrn_ciphertext(self._registration, ciphertext, index, where)
        return self._prefix + b64url_encode(self._cipher.encrypt(raw, self._ad))


def _digest_column(
    registration: str, code: str, digests: Sequence[str], rows: Sequence[int]
) -> bytes:
    """All digests of one type decoded in one call (32 bytes each, concatenated).

    Falls back to checking one by one only to name the first bad record; then
    refuses the first digest that cannot be a one-way value (decision 1021).
    """
    joined = "".join(digests)
    raw = b""
    if joined.isascii() and joined.lower() == joined and all(len(d) == 64 for d in digests):
        try:
            raw = bytes.fromhex(joined)
        except ValueError:
            raw = b""
    if len(raw) != 32 * len(digests):
        for digest, index in zip(digests, rows, strict=True):
            _digest_format(registration, code, digest, index)
    _check_one_way(registration, code, raw, rows)
    return raw


def _check_inputs(registration: str, records: Sequence[PseudonymInput]) -> None:
    if len({record.ref for record in records}) != len(records):
        raise Refusal(
            422,
            "duplicate_ref",
            "record refs must be unique within a request",
            registration=registration,
        )
    for index, record in enumerate(records):
        if not record.digests and record.mrn_ciphertext is None:
            raise Refusal(
                422,
                "no_inputs",
                f"record {index} has neither digests nor an MRN ciphertext",
                registration=registration,
                index=index,
            )
        if MRN in record.digests:
            raise Refusal(
                422,
                "mrn_as_digest",
                f"record {index}: MRN is sent as mrn_ciphertext, not as a digest",
                registration=registration,
                pseudonym_type=MRN,
                index=index,
            )


def issue_temporaries(
    registration: Registration, keys: VersionKeys, hospital: str, records: Sequence[PseudonymInput]
) -> list[dict[str, object]]:
    """Temporary pseudonyms (and MRN pseudonyms) for a web-mode batch, in request order.

    Works type by type over the whole batch: digests are hex-decoded in one
    call and the sealed values (48 bytes, a multiple of 3) base64-encoded in
    one call, leaving one AES-SIV call per pseudonym as the per-record work.
    """
    codes = requested_codes(records)
    check_types_allowed(registration, codes)
    _check_inputs(registration.id, records)
    outputs: list[dict[str, str]] = [{} for _ in records]
    seal = keys.temporary.encrypt
    for code in sorted(codes - {MRN}):
        rows = [i for i, record in enumerate(records) if code in record.digests]
        raw = _digest_column(registration.id, code, [records[i].digests[code] for i in rows], rows)
        ad = [keys.temporary_ad[PseudonymType(code)]]
        sealed = b64url_encode(b"".join(seal(raw[k : k + 32], ad) for k in range(0, len(raw), 32)))
        prefix = f"{TEMPORARY_MARKER}:{code}:v{keys.version}:"
        for k, i in enumerate(rows):
            outputs[i][code] = prefix + sealed[64 * k : 64 * k + 64]
    if MRN in codes:
        mrn = MrnWrapper(keys, hospital)
        for index, record in enumerate(records):
            if record.mrn_ciphertext is not None:
                outputs[index][MRN] = mrn.wrap(record.mrn_ciphertext, index)
    return [
        {"ref": record.ref, "pseudonyms": pseudonyms}
        for record, pseudonyms in zip(records, outputs, strict=True)
    ]


def _column_rows(registration: str, code: str, count: int, missing: Sequence[int]) -> list[int]:
    """Rows that have type ``code``: all but ``missing`` (ascending, in range, once)."""
    if any(not 0 <= row < count for row in missing) or any(
        a >= b for a, b in itertools.pairwise(missing)
    ):
        raise Refusal(
            422,
            "invalid_missing_rows",
            f"missing rows of type {code} must be ascending row numbers below {count}",
            registration=registration,
            pseudonym_type=code,
        )
    if not missing:
        return list(range(count))
    absent = set(missing)
    return [row for row in range(count) if row not in absent]


def _column_codes(
    registration: Registration,
    count: int,
    digests: Mapping[str, tuple[str, Sequence[int]]],
    mrn_ciphertexts: Sequence[str | None] | None,
) -> tuple[set[str], dict[str, list[int]]]:
    """Types asked for and each digest type's rows, after the checks of the record form."""
    codes = set(digests)
    if MRN in codes:
        raise Refusal(
            422,
            "mrn_as_digest",
            "MRN is sent as mrn_ciphertexts, not as a digest column",
            registration=registration.id,
            pseudonym_type=MRN,
        )
    covered = [False] * count
    if mrn_ciphertexts is not None:
        if len(mrn_ciphertexts) != count:
            raise Refusal(
                422,
                "invalid_mrn_ciphertext",
                f"{len(mrn_ciphertexts)} MRN ciphertexts for {count} rows",
                registration=registration.id,
                pseudonym_type=MRN,
            )
        covered = [text is not None for text in mrn_ciphertexts]
        if any(covered):
            codes.add(MRN)
    check_types_allowed(registration, codes)
    rows_of = {}
    for code in sorted(codes - {MRN}):
        rows = rows_of[code] = _column_rows(registration.id, code, count, digests[code][1])
        if len(rows) == count:
            covered = [True] * count
        for row in rows if len(rows) < count else ():
            covered[row] = True
    if not all(covered):
        index = covered.index(False)
        raise Refusal(
            422,
            "no_inputs",
            f"record {index} has neither digests nor an MRN ciphertext",
            registration=registration.id,
            index=index,
        )
    return codes, rows_of


def _column_bytes(registration: str, code: str, text: str, rows: Sequence[int]) -> bytes:
    """The concatenated hex digests of one type, decoded in one call (32 bytes each)."""
    if len(text) != 64 * len(rows):
        raise Refusal(
            422,
            "invalid_digest",
            f"type {code}: {len(text)} hex digits for {len(rows)} digests of 64",
            registration=registration,
            pseudonym_type=code,
        )
    raw = b""
    if text.isascii() and text.lower() == text:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = b""
    if len(raw) != 32 * len(rows):  # name the first bad record
        pieces = [text[64 * k : 64 * k + 64] for k in range(len(rows))]
        return _digest_column(registration, code, pieces, rows)
    _check_one_way(registration, code, raw, rows)
    return raw


def issue_temporary_columns(
    registration: Registration,
    keys: VersionKeys,
    hospital: str,
    *,
    count: int,
    digests: Mapping[str, tuple[str, Sequence[int]]],
    mrn_ciphertexts: Sequence[str | None] | None,
) -> dict[str, list[str | None]]:
    """:func:`issue_temporaries` for a column batch: label payloads per type in row order.

    ``digests``: per type, the concatenated hex digests of its rows and the
    rows without one. The same checks as the record form (types the
    registration may receive, MRN only as a ciphertext, every row some input,
    well-formed digests and ciphertexts) and the same sealing: a payload is
    the label :func:`issue_temporaries` makes, after its ``T1:<type>:v<n>:`` head.
    """
    codes, rows_of = _column_codes(registration, count, digests, mrn_ciphertexts)
    out: dict[str, list[str | None]] = {}
    for code, rows in rows_of.items():
        raw = _column_bytes(registration.id, code, digests[code][0], rows)
        ad = [keys.temporary_ad[PseudonymType(code)]]
        # One AES-SIV of the whole column (decision 0301): the sealed rows are
        # 48 bytes, whole base64 groups, so one encoding serves every row.
        sealed_rows = siv_encrypt_rows(
            keys.temporary_secret, ad, np.frombuffer(raw, np.uint8).reshape(len(rows), 32)
        )
        sealed = b64url_encode(sealed_rows.tobytes())
        payloads: list[str | None] = [None] * count
        for k, row in enumerate(rows):
            payloads[row] = sealed[64 * k : 64 * k + 64]
        out[code] = payloads
    if MRN in codes and mrn_ciphertexts is not None:
        out[MRN] = _wrapped_mrns(registration.id, keys, hospital, mrn_ciphertexts)
    return out


def _wrapped_mrns(
    registration: str, keys: VersionKeys, hospital: str, texts: Sequence[str | None]
) -> list[str | None]:
    """:meth:`MrnWrapper.wrap` of every ciphertext without its head, a column at a time.

    Ciphertexts are checked one by one as the wrapper checks them (the first
    bad one is refused with its row); the encryption runs per length over
    all rows of that length (decision 0301).
    """
    decoded = _decoded_mrns(texts)
    if decoded is None:  # something unusual: one by one, refusing the first bad row
        decoded = _decoded_mrns_reference(registration, texts)
    raw, by_length = decoded
    out: list[str | None] = [None] * len(texts)
    ad = [mrn_associated_data(keys.registration, hospital, keys.version)]
    for length, indexes in by_length.items():
        if length % 16:  # not whole AES blocks: one call each, as the wrapper does
            for index in indexes:
                out[index] = b64url_encode(keys.mrn.encrypt(raw[index], ad))
            continue
        rows = np.frombuffer(b"".join(raw[i] for i in indexes), np.uint8).reshape(-1, length)
        for index, token in zip(
            indexes, b64url_rows(siv_encrypt_rows(keys.mrn_secret, ad, rows)), strict=True
        ):
            out[index] = token
    return out


_B64URL_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
_DecodedMrns = tuple[list[bytes], dict[int, list[int]]]


def _decoded_mrns_reference(registration: str, texts: Sequence[str | None]) -> _DecodedMrns:
    """Each ciphertext decoded and checked by :func:`_mrn_ciphertext`, and rows per byte length."""
    raw: list[bytes] = [b""] * len(texts)
    by_length: dict[int, list[int]] = {}
    for index, text in enumerate(texts):
        if text is not None:
            raw[index] = _mrn_ciphertext(registration, text, index)
            by_length.setdefault(len(raw[index]), []).append(index)
    return raw, by_length


def _decoded_mrns(texts: Sequence[str | None]) -> _DecodedMrns | None:
    """:func:`_decoded_mrns_reference` a text length at a time; None unless every text is usual.

    Why: decoding each ciphertext in Python was over half of the TTP's work on
    a batch. Usual means only base64url letters, not one letter more than a
    multiple of four, a byte length within the protocol's bounds and the shape
    of a ciphertext (decision 1023); then the
    texts of one length, each completed with ``A`` to whole groups of four
    (which changes only bits the unpadded decoding drops), decode in one call
    to what each decodes to alone. Anything else is left to the reference,
    which refuses the first bad row as before (pinned by
    ``tests/unit/ttp/test_ttp_mrn_decoding.py``).
    """
    by_text_length: dict[int, list[int]] = {}
    for index, text in enumerate(texts):
        if text is not None:
            by_text_length.setdefault(len(text), []).append(index)
    raw: list[bytes] = [b""] * len(texts)
    by_length: dict[int, list[int]] = {}
    for length, indexes in by_text_length.items():
        size = length * 3 // 4
        if length % 4 == 1 or not MRN_CIPHERTEXT_MIN_BYTES <= size <= MRN_CIPHERTEXT_MAX_BYTES:
            return None
        joined = "".join([texts[i] for i in indexes])  # type: ignore[misc]
        if not joined.isascii():
            return None
        letters = joined.encode("ascii")
        if letters.translate(None, _B64URL_LETTERS):
            return None
        texts_of_length = np.frombuffer(letters, np.uint8).reshape(len(indexes), length)
        rows = texts_of_length
        if length % 4:
            filler = np.full((len(indexes), 4 - length % 4), ord("A"), np.uint8)
            rows = np.concatenate([rows, filler], axis=1)
        whole = binascii.a2b_base64(rows.tobytes().translate(_FROM_URLSAFE))
        cut = np.frombuffer(whole, np.uint8).reshape(len(indexes), -1)[:, :size]
        if not_ciphertext_rows(texts_of_length, cut).any():
            return None  # the reference names the first row that is no ciphertext
        flat = cut.tobytes()
        for k, index in enumerate(indexes):
            raw[index] = flat[k * size : (k + 1) * size]
        by_length.setdefault(size, []).extend(indexes)
    for indexes in by_length.values():
        indexes.sort()
    return raw, by_length


class DefinitiveMaker:
    """Definitive pseudonyms of one registration key version (local mode and exchange)."""

    def __init__(self, keys: VersionKeys) -> None:
        self._keys = keys
        self._prefixes = {ptype.value: f"{ptype.value}:v{keys.version}:" for ptype in PseudonymType}
        self._types = {ptype.value: ptype for ptype in PseudonymType}

    def from_bytes(self, code: str, digest: bytes) -> str:
        """Label of the definitive pseudonym of a 32-byte digest."""
        return self._prefixes[code] + b64url_encode(
            self._keys.definitive(self._types[code], digest)
        )

    def from_hex(self, code: str, digest: str, index: int, where: str | None = None) -> str:
        """Label of the definitive pseudonym of a hex source digest; Refusal if malformed."""
        return self.from_bytes(code, _digest(self._keys.registration, code, digest, index, where))


def _payload_column(
    registration: str, code: str, texts: Sequence[str], rows: Sequence[int]
) -> list[tuple[int, bytes]]:
    """(key version, sealed bytes) of every temporary label of one type, parsed in bulk.

    A label prefix (``T1:<type>:v<n>``) is checked once per distinct prefix and
    the 64-character payloads are base64-decoded in one call; anything unusual
    falls back to the full per-label parse, which names the bad record.
    """
    versions: dict[str, int] = {}
    parsed: list[int] = []
    payloads: list[str] = []
    for text, index in zip(texts, rows, strict=True):
        prefix, _, payload = text.rpartition(":")
        version = versions.get(prefix)
        if version is None:
            version = versions[prefix] = _temporary_label(registration, code, text, index).version
        parsed.append(version)
        payloads.append(payload)
    raw = b""
    if all(len(payload) == 64 for payload in payloads):
        try:
            raw = b64url_decode("".join(payloads))
        except ValueError:
            raw = b""
    if len(raw) != 48 * len(payloads):
        return [
            (label.version, label.payload)
            for label in (
                _temporary_label(registration, code, text, index)
                for text, index in zip(texts, rows, strict=True)
            )
        ]
    return [(version, raw[48 * k : 48 * k + 48]) for k, version in enumerate(parsed)]


def exchange_temporaries(
    registration: Registration,
    keyring: KeyRing,
    records: Sequence[TemporaryInput],
    target_version: int | None,
) -> tuple[list[dict[str, object]], set[int]]:
    """Definitive pseudonyms for temporary ones, and the source key versions seen.

    ``target_version`` None keeps each pseudonym in the key version of its
    temporary; a number converts to that (active or transition) version.
    Works type by type over the whole batch, like :func:`issue_temporaries`.
    """
    codes = {code for record in records for code in record.pseudonyms}
    check_types_allowed(registration, codes)
    if len({record.ref for record in records}) != len(records):
        raise Refusal(
            422,
            "duplicate_ref",
            "record refs must be unique within a request",
            registration=registration.id,
        )
    target = (
        DefinitiveMaker(keyring.version(registration.id, target_version))
        if target_version is not None
        else None
    )
    makers: dict[int, DefinitiveMaker] = {}
    sources: dict[int, VersionKeys] = {}
    outputs: list[dict[str, str]] = [{} for _ in records]
    for code in sorted(codes):
        ptype = PseudonymType(code)
        rows = [i for i, record in enumerate(records) if code in record.pseudonyms]
        column = _payload_column(
            registration.id, code, [records[i].pseudonyms[code] for i in rows], rows
        )
        for index, (version, sealed) in zip(rows, column, strict=True):
            keys = sources.get(version)
            if keys is None:
                keys = sources[version] = keyring.version(registration.id, version, index=index)
            try:
                digest = keys.temporary.decrypt(sealed, [keys.temporary_ad[ptype]])
            except InvalidTag:
                raise Refusal(
                    422,
                    "invalid_pseudonym",
                    f"record {index}: the {code} pseudonym is not a temporary pseudonym of "
                    f"registration {registration.id!r} (other registration, or damaged)",
                    registration=registration.id,
                    pseudonym_type=code,
                    index=index,
                ) from None
            maker = target
            if maker is None:
                maker = makers.get(version)
                if maker is None:
                    maker = makers[version] = DefinitiveMaker(keys)
            outputs[index][code] = maker.from_bytes(code, digest)
    results: list[dict[str, object]] = [
        {"ref": record.ref, "pseudonyms": pseudonyms}
        for record, pseudonyms in zip(records, outputs, strict=True)
    ]
    return results, set(sources)


def _temporary_label(registration: str, code: str, text: str, index: int) -> PseudonymLabel:
    try:
        label = parse_label(text)
    except LabelError as error:
        raise Refusal(
            422,
            "invalid_pseudonym",
            f"record {index}: the {code} value is not a pseudonym label ({error})",
            registration=registration,
            pseudonym_type=code,
            index=index,
        ) from None
    if label.kind != "temporary" or label.type.value != code:
        raise Refusal(
            422,
            "invalid_pseudonym",
            f"record {index}: expected a temporary pseudonym of type {code}, got a "
            f"{label.kind} pseudonym of type {label.type.value}",
            registration=registration,
            pseudonym_type=code,
            index=index,
        )
    return label


def reverse_mrn(
    registration: Registration, keyring: KeyRing, hospital: str, labels: Sequence[str]
) -> tuple[list[str], set[int]]:
    """The hospital's own MRN ciphertexts back, and the key versions used.

    Refused (403) for any pseudonym not made for this hospital: the associated
    data binds each MRN pseudonym to the hospital that asked for it.
    """
    check_types_allowed(registration, [MRN])
    ciphertexts: list[str] = []
    versions: dict[int, tuple[VersionKeys, list[bytes]]] = {}
    for index, text in enumerate(labels):
        try:
            label = parse_label(text)
        except LabelError as error:
            raise Refusal(
                422,
                "invalid_pseudonym",
                f"pseudonym {index} is not a pseudonym label ({error})",
                registration=registration.id,
                pseudonym_type=MRN,
                index=index,
            ) from None
        if label.kind != "mrn":
            raise Refusal(
                422,
                "invalid_pseudonym",
                f"pseudonym {index} is a {label.kind} pseudonym, not an MRN pseudonym",
                registration=registration.id,
                pseudonym_type=MRN,
                index=index,
            )
        entry = versions.get(label.version)
        if entry is None:
            keys = keyring.version(registration.id, label.version, index=index)
            entry = versions[label.version] = (
                keys,
                [mrn_associated_data(registration.id, hospital, label.version)],
            )
        keys, ad = entry
        try:
            ciphertexts.append(b64url_encode(keys.mrn.decrypt(label.payload, ad)))
        except InvalidTag:
            raise Refusal(
                403,
                "mrn_not_yours",
                f"MRN pseudonym {index} of registration {registration.id!r} was not issued to "
                f"organisation {hospital!r}; only the providing hospital can reverse it",
                registration=registration.id,
                pseudonym_type=MRN,
                index=index,
            ) from None
    return ciphertexts, set(versions)
