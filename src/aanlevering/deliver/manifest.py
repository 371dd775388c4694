"""The manifest that travels with every delivery.

It lets the receiver check a delivery without trusting the channel (sha256
and size per file, record counts) and dedupe retries (the idempotency key is
stable per registration, period and dataset version). It carries no patient
data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from aanlevering.errors import DeliveryError
from aanlevering.json_input import JsonInputError, parse

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
_CHUNK = 1 << 20


def idempotency_key(provider_id: str, registration_id: str, period_label: str, version: int) -> str:
    """Stable key of one provider's dataset version of one period: retries reuse it.

    Receivers dedupe on it, so it names the provider: two hospitals delivering
    the same registration and period must never share a key (decision 0220).
    """
    return f"{provider_id}.{registration_id}.{period_label}.v{version}"


def is_plain_name(name: str) -> bool:
    """A file or folder name without separators, ``..`` or control characters.

    Why: names travel from the hospital to receivers that join them onto
    their own folders; anything else could point outside the delivery.
    """
    return (
        bool(name)
        and name not in {".", ".."}
        and not any(c in name for c in "/\\\x00")
        and ".." not in name
        and all(c.isprintable() for c in name)
        and len(name) <= 255
    )


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class ManifestFile:
    """One data file of a delivery."""

    name: str
    sha256: str
    bytes: int
    records: int
    media_type: str


@dataclass(frozen=True)
class Manifest:
    """What a delivery contains and how it was made; no patient data."""

    idempotency_key: str
    registration: str
    registry_holder: str
    period: str
    period_start: str
    period_end: str
    version: int
    dictionary_id: str
    dictionary_version: str
    format: str
    normalisation_profile: str
    pseudonym_types: tuple[str, ...]
    key_versions: Mapping[str, int]
    ttp_mode: str
    provider_id: str
    files: tuple[ManifestFile, ...]
    record_counts: Mapping[str, int]
    kind: Literal["delivery", "retraction"] = "delivery"
    supersedes: str | None = None
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    manifest_version: int = MANIFEST_VERSION
    #: Set by a TTP that rewrote the manifest (local mode): sha256 of the provider's own.
    source_manifest_sha256: str | None = None
    #: The registry holder's validation report (JSON and HTML, counts only) travelling with
    #: the data: checksummed like the data files, but no records and not bound by the receipt.
    reports: tuple[ManifestFile, ...] = ()

    def to_json(self) -> str:
        """Canonical JSON (sorted keys) so the manifest itself can be hashed."""
        return json.dumps(asdict(self), sort_keys=True, indent=2, ensure_ascii=False)

    def sha256(self) -> str:
        """Hex sha256 of the canonical JSON without time and reports: what a receipt is bound to.

        Why without the time and the reports: a run that restages an
        unreceipted version makes the same manifest at another moment, with a
        validation report generated at that moment; it must match the receipt
        of the same content, and only of the same content. The reports are
        still checked by the receiver against their checksums here.
        """
        data = asdict(self)
        data.pop("created_at")
        data.pop("reports")
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def provider_sha256(self) -> str:
        """sha256 of the manifest the provider made (the source one when a TTP rewrote it)."""
        return self.source_manifest_sha256 or self.sha256()

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        """Parse a manifest; DeliveryError names the missing or malformed field.

        Receivers parse manifests they did not write, so every field's JSON type is
        checked here: nothing downstream meets a number where a name belongs.
        """
        try:
            raw = parse(text)
        except JsonInputError as error:
            raise DeliveryError(f"invalid delivery manifest: not valid JSON ({error})") from None
        if not isinstance(raw, dict):
            raise DeliveryError("invalid delivery manifest: expected a JSON object")
        _check_fields(raw, _MANIFEST_FIELDS, "")
        files = raw["files"]
        raw["files"] = _parse_files(files, "files")
        raw["reports"] = _parse_files(raw.get("reports", []), "reports")
        raw["pseudonym_types"] = tuple(raw["pseudonym_types"])
        return cls(**raw)

    def transferred(self) -> tuple[ManifestFile, ...]:
        """Every file a channel moves: the data files, then the reports."""
        return (*self.files, *self.reports)

    def unsafe_file_names(self) -> list[str]:
        """File names a receiver must refuse (see :func:`is_plain_name`)."""
        return [item.name for item in self.transferred() if not is_plain_name(item.name)]


def _parse_files(items: object, field_name: str) -> tuple[ManifestFile, ...]:
    if not isinstance(items, list):
        raise DeliveryError(f"invalid delivery manifest: {field_name}: expected a list")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise DeliveryError(
                f"invalid delivery manifest: {field_name}[{index}]: expected an object"
            )
        _check_fields(item, _FILE_FIELDS, f"{field_name}[{index}].")
    return tuple(ManifestFile(**item) for item in items)


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63


def _is_counts(value: object) -> bool:
    return isinstance(value, dict) and all(_is_int(v) for v in value.values())


def _is_strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


#: Field -> (required, type check, what is expected), for messages.
_Check = tuple[bool, Callable[[object], bool], str]
_TEXT_FIELDS = (
    "idempotency_key", "registration", "registry_holder", "period", "period_start",
    "period_end", "dictionary_id", "dictionary_version", "format",
    "normalisation_profile", "ttp_mode", "provider_id",
)  # fmt: skip
_MANIFEST_FIELDS: dict[str, _Check] = {
    **{name: (True, _is_str, "text") for name in _TEXT_FIELDS},
    "version": (True, _is_int, "an integer"),
    "pseudonym_types": (True, _is_strings, "a list of texts"),
    "key_versions": (True, _is_counts, "an object of integers"),
    "files": (True, lambda v: isinstance(v, list), "a list"),
    "record_counts": (True, _is_counts, "an object of integers"),
    "kind": (False, lambda v: v in ("delivery", "retraction"), "delivery or retraction"),
    "supersedes": (False, lambda v: v is None or isinstance(v, str), "text or null"),
    "created_at": (False, _is_str, "text"),
    "manifest_version": (False, _is_int, "an integer"),
    "source_manifest_sha256": (False, lambda v: v is None or isinstance(v, str), "text or null"),
    "reports": (False, lambda v: isinstance(v, list), "a list"),
}
_FILE_FIELDS: dict[str, _Check] = {
    "name": (True, _is_str, "text"),
    "sha256": (True, _is_str, "text"),
    "bytes": (True, _is_int, "an integer"),
    "records": (True, _is_int, "an integer"),
    "media_type": (True, _is_str, "text"),
}


def _check_fields(raw: Mapping[str, object], fields: Mapping[str, _Check], prefix: str) -> None:
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:5])
        raise DeliveryError(f"invalid delivery manifest: unknown field(s) {prefix}{shown}")
    for name, (required, check, expected) in fields.items():
        if name not in raw:
            if required:
                raise DeliveryError(f"invalid delivery manifest: {prefix}{name} is missing")
            continue
        if not check(raw[name]):
            raise DeliveryError(f"invalid delivery manifest: {prefix}{name}: expected {expected}")


def describe_files(
    folder: Path, records: Mapping[str, int], media_types: Mapping[str, str]
) -> tuple[ManifestFile, ...]:
    """Checksum and size every data file named in ``records`` (file name -> record count)."""
    files = []
    for name in sorted(records):
        path = folder / name
        if not path.is_file():
            raise DeliveryError(f"staged delivery file missing: {path}")
        files.append(
            ManifestFile(
                name=name,
                sha256=sha256_of(path),
                bytes=path.stat().st_size,
                records=records[name],
                media_type=media_types.get(name, "application/octet-stream"),
            )
        )
    return tuple(files)


def verify_files(folder: Path, manifest: Manifest) -> list[str]:
    """Problems with the files of ``folder`` against ``manifest`` (empty when all match)."""
    return [
        problem
        for item in manifest.transferred()
        if (problem := arrival_problem(folder, item)) is not None
    ]


def arrival_problem(folder: Path, item: ManifestFile) -> str | None:
    """Why ``folder``'s file ``item.name`` is not the one ``item`` describes (None: it is).

    Missing, another size or another sha256: what arrived is not what was sent.
    """
    path = folder / item.name
    if not path.is_file():
        return f"{item.name}: missing"
    size = path.stat().st_size
    if size != item.bytes:
        return f"{item.name}: {size} bytes, manifest says {item.bytes}"
    if sha256_of(path) != item.sha256:
        return f"{item.name}: sha256 differs from the manifest"
    return None


def write_manifest(folder: Path, manifest: Manifest) -> Path:
    """Write ``manifest.json`` atomically (temp file + rename), last, after the data files."""
    target = folder / MANIFEST_NAME
    temporary = folder / f".{MANIFEST_NAME}.tmp"
    temporary.write_text(manifest.to_json(), encoding="utf-8")
    temporary.replace(target)
    return target


def file_names(manifest: Manifest) -> Sequence[str]:
    """Data file names in manifest order."""
    return [item.name for item in manifest.files]
