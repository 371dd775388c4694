"""Request and response bodies of the TTP protocol (they make the OpenAPI document).

Requests are parsed straight from the raw body with pydantic's JSON parser
(one pass, no intermediate dicts); responses are written by the service as
JSON bytes and only described here. Validation errors are reported by field
path and never echo the offending value.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

RegistrationId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
RequestId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,199}$"),
    Field(description="Idempotency key chosen by the caller: a retry reuses it."),
]
Ref = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128),
    Field(description="The caller's reference of the record; never an identifier."),
]
ProfileVersion = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    Field(description="Normalisation profile the source digests were made with."),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PseudonymInputRecord(_Strict):
    """One person in web mode: a source digest per type, and optionally an MRN ciphertext."""

    ref: Ref
    digests: dict[str, str] = Field(
        default_factory=dict,
        description="Pseudonym type -> source digest (64 lowercase hex, HMAC-SHA256 at the "
        "hospital). MRN goes in mrn_ciphertext instead.",
    )
    mrn_ciphertext: str | None = Field(
        default=None,
        description="Unpadded base64url AES-SIV ciphertext of the MRN under a key only the "
        "hospital holds.",
    )


class SourceKeyCheckBody(_Strict):
    """Which shared source key made the digests: its version and key check value."""

    version: int = Field(ge=1, description="Version of the registration's shared source key.")
    check_value: str = Field(
        pattern=r"^[0-9a-f]{16}$",
        description="First 16 hex digits of HMAC-SHA256(source key, "
        "'aanlevering-source-key-check|<registration>|v<version>').",
    )


class TemporaryPseudonymRequest(_Strict):
    """Web mode: temporary pseudonyms for a batch of persons."""

    registration: RegistrationId
    request_id: RequestId
    profile_version: ProfileVersion
    source_key: SourceKeyCheckBody
    records: list[PseudonymInputRecord] = Field(min_length=1)


class PseudonymRecord(_Strict):
    """Pseudonym labels of one record, by type."""

    ref: Ref
    pseudonyms: dict[str, str] = Field(
        description="Pseudonym type -> label: T1:<type>:v<n>:<b64url> (temporary), "
        "<type>:v<n>:<b64url> (definitive) or MRN:v<n>:<b64url>."
    )


class TemporaryPseudonymResponse(_Strict):
    """Temporary pseudonyms in request order."""

    registration: str
    request_id: str
    batch_id: str
    key_version: int
    record_count: int
    records: list[PseudonymRecord]


class TypeDigests(_Strict):
    """One type's source digests of a column batch: every row's, in row order."""

    digests: str = Field(
        description="The 64-hex-digit source digests of the rows that have this type, "
        "concatenated in row order (64 x (count - len(missing)) lower-case hex digits)."
    )
    missing: list[int] = Field(
        default_factory=list,
        description="Rows (0-based, ascending) without a digest of this type.",
    )


class TemporaryColumnsRequest(_Strict):
    """Web mode in columns: the same request as /pseudonyms/temporary, one field per type.

    Rows stand for records: row ``i`` of every type is the same person, and the
    answer's lists are in row order. Nothing per record but the values travels.
    """

    registration: RegistrationId
    request_id: RequestId
    profile_version: ProfileVersion
    source_key: SourceKeyCheckBody
    count: int = Field(ge=1, description="Rows in the batch.")
    types: dict[str, TypeDigests] = Field(
        default_factory=dict, description="Pseudonym type (not MRN) -> its digests."
    )
    mrn_ciphertexts: list[str | None] | None = Field(
        default=None,
        description="Per row the MRN ciphertext (unpadded base64url), null where a row has "
        "none; absent when no row asks for MRN.",
    )


class TemporaryColumnsResponse(_Strict):
    """Temporary (and MRN) pseudonym payloads per type, in row order.

    A label is ``T1:<type>:v<key_version>:<payload>`` (MRN: ``MRN:v<key_version>:<payload>``).
    """

    registration: str
    request_id: str
    batch_id: str
    key_version: int
    record_count: int
    payloads: dict[str, list[str | None]]


class ExchangeRequest(_Strict):
    """Registry holder: temporary pseudonyms -> definitive ones."""

    registration: RegistrationId
    request_id: RequestId
    target_version: int | None = Field(
        default=None,
        ge=1,
        description="Key version of the definitive pseudonyms; default: the version of each "
        "temporary pseudonym. Must be active or in transition.",
    )
    records: list[PseudonymRecord] = Field(min_length=1)


class ExchangeResponse(_Strict):
    """Definitive pseudonyms in request order."""

    registration: str
    request_id: str
    batch_id: str
    source_key_versions: list[int]
    target_version: int | None
    record_count: int
    records: list[PseudonymRecord]


class MrnReverseRequest(_Strict):
    """Hospital: its own MRN ciphertexts back from MRN pseudonyms."""

    registration: RegistrationId
    pseudonyms: list[str] = Field(min_length=1)


class MrnReverseResponse(_Strict):
    """The hospital's MRN ciphertexts, in request order."""

    registration: str
    key_versions: list[int]
    ciphertexts: list[str]


class LocalFileResult(_Strict):
    """What the TTP did to one uploaded file (counts only)."""

    name: str
    records: int
    pseudonyms: dict[str, int] = Field(description="Pseudonyms made, per type.")


class LocalUploadResponse(_Strict):
    """Local-client mode: pseudonymised, forwarded and receipted."""

    registration: str
    request_id: str
    batch_id: str
    key_version: int
    files: list[LocalFileResult]
    forward_attempts: int
    receipt: dict[str, Any] = Field(description="The registry holder's receipt.")


class Health(_Strict):
    """Liveness of the service."""

    status: Literal["ok"]
    service: str
    version: str


class ErrorDetail(_Strict):
    """Why a request was refused; never contains digests, ciphertexts or pseudonyms."""

    code: str
    message: str
    registration: str | None = None
    pseudonym_type: str | None = None
    index: int | None = None


class ErrorResponse(_Strict):
    """Body of every 4xx/5xx answer."""

    detail: ErrorDetail


class FaultRequest(_Strict):
    """Arm fault injection (testing only)."""

    count: int = Field(ge=0, le=1000)
    mode: Literal["error", "hang", "error_after"] = "error"
    hang_seconds: float = Field(default=5.0, ge=0, le=120)
    path_prefix: str = "/"


class AuditEntries(_Strict):
    """The tail of the audit log."""

    entries: list[dict[str, Any]]
