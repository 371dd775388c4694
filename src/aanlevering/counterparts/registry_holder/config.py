"""Configuration of the reference registry holder (YAML file)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aanlevering import yaml_input
from aanlevering.errors import ConfigError
from aanlevering.tls import ClientTLS


@dataclass(frozen=True)
class ReceiverLimits:
    """Bounds that keep one client from exhausting the receiver (docs/registry-holder.md)."""

    max_file_bytes: int = 1024 * 1024 * 1024
    max_manifest_bytes: int = 4 * 1024 * 1024
    requests_per_minute: int = 1200
    failed_auth_per_minute: int = 30
    max_concurrent_uploads: int = 4
    #: Files one delivery (one provider's key) may hold, uploaded or in its manifest.
    max_files_per_delivery: int = 1000
    #: Bytes of all files of one uncommitted delivery together (decision 0433).
    max_delivery_bytes: int = 8 * 1024 * 1024 * 1024
    #: Uploads of a key not committed within this many seconds of its last upload go.
    incoming_max_age_seconds: float = 7 * 24 * 3600


@dataclass(frozen=True)
class ReceiverConfig:
    """Who this receiver is, whom it accepts, and where it keeps deliveries.

    ``hospital_key_hashes`` maps a hospital id to the sha256 hex of its API
    key: the clear key is only known to the hospital.
    ``hospital_subjects`` maps a hospital id to the RFC 4514 subject of its
    client certificate: over mTLS that certificate stands in for the key.
    ``forwarder_key_hashes`` does the same as ``hospital_key_hashes`` for
    forwarders (the TTP in local mode), which deliver on behalf of a named
    hospital. ``sftp_inboxes`` maps each inbox folder to the hospital that
    owns it (its SFTP account writes only there).
    """

    receiver_id: str
    storage_dir: Path
    registrations: frozenset[str]
    hospital_key_hashes: dict[str, str]
    ttp_url: str | None = None
    ttp_api_key_files: dict[str, Path] = field(default_factory=dict)  # registration -> key file
    sftp_inboxes: dict[Path, str] = field(default_factory=dict)  # folder -> hospital
    fault_injection: bool = False
    forwarder_key_hashes: dict[str, str] = field(default_factory=dict)
    #: forwarder id -> the registrations it may deliver to (unlisted: none).
    forwarder_registrations: dict[str, frozenset[str]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    hospital_subjects: dict[str, str] = field(default_factory=dict)
    ttp_tls: ClientTLS = field(default_factory=ClientTLS)
    limits: ReceiverLimits = ReceiverLimits()
    audit_log: Path | None = None
    #: Catalogue the holder knows its registrations' terms from (decision 0435); None: unchecked.
    catalogue_dir: Path | None = None
    #: hospital -> the registrations it takes part in (decision 0724); None: every hospital all.
    hospital_registrations: dict[str, frozenset[str]] | None = None

    def registrations_of(self, hospital: str) -> frozenset[str] | None:
        """The registrations ``hospital`` may deliver to here; None when not restricted.

        Why: a real registry holder takes deliveries only from the hospitals
        that take part in a registration; a hospital unlisted takes part in none.
        """
        if self.hospital_registrations is None:
            return None
        return self.hospital_registrations.get(hospital, frozenset())

    def hospital_for_subject(self, subject: str | None) -> str | None:
        """The hospital whose client certificate has this subject, or None."""
        if subject is None:
            return None
        found = [h for h, s in self.hospital_subjects.items() if s == subject]
        return found[0] if len(found) == 1 else None

    def hospital_for_key(self, api_key: str) -> str | None:
        """The hospital whose API key this is, or None."""
        return _match(api_key, self.hospital_key_hashes)

    def forwarder_for_key(self, api_key: str) -> str | None:
        """The forwarder whose API key this is, or None."""
        return _match(api_key, self.forwarder_key_hashes)


def _match(api_key: str, hashes: dict[str, str]) -> str | None:
    digest = hashlib.sha256(api_key.encode("utf-8")).hexdigest()
    found = None
    for owner, expected in hashes.items():
        if _equal(digest, expected):
            found = owner
    return found


def _equal(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a.encode(), b.encode())


def hash_api_key(api_key: str) -> str:
    """The form in which API keys are stored in the receiver's config."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def _client_tls(base: Path, raw: dict[str, Any]) -> ClientTLS:
    def path(name: str) -> Path | None:
        value = raw.get(name)
        return (base / value).resolve() if value else None

    return ClientTLS(
        ca_bundle=path("ca_bundle"),
        client_cert=path("client_cert"),
        client_key=path("client_key"),
        allow_insecure_http=bool(raw.get("allow_insecure_http", False)),
    )


def load_receiver_config(path: Path) -> ReceiverConfig:
    """Read the YAML config; ConfigError names the file and the missing field."""
    try:
        raw = yaml_input.safe_load(path.read_text(encoding="utf-8"))
        base = path.parent
        if isinstance(raw.get("sftp_inboxes"), list):
            raise ConfigError(
                f"registry holder config {path}: sftp_inboxes must map each hospital id to "
                "its inbox folders (hospital: [folder, ...]), so a delivery is bound to the "
                "hospital whose account wrote it"
            )
        return ReceiverConfig(
            receiver_id=str(raw["receiver_id"]),
            storage_dir=(base / raw["storage_dir"]).resolve(),
            registrations=frozenset(raw["registrations"]),
            hospital_key_hashes={str(k): str(v) for k, v in raw["hospitals"].items()},
            ttp_url=raw.get("ttp_url"),
            ttp_api_key_files={
                str(k): (base / v).resolve() for k, v in raw.get("ttp_api_key_files", {}).items()
            },
            sftp_inboxes={
                (base / path).resolve(): str(hospital)
                for hospital, paths in dict(raw.get("sftp_inboxes") or {}).items()
                for path in paths
            },
            fault_injection=bool(raw.get("fault_injection", False)),
            hospital_subjects={
                str(k): str(v) for k, v in raw.get("hospital_certificate_subjects", {}).items()
            },
            ttp_tls=_client_tls(base, raw.get("ttp_tls", {})),
            limits=ReceiverLimits(**raw.get("limits", {})),
            audit_log=(base / raw.get("audit_log", "audit.jsonl")).resolve(),
            forwarder_key_hashes={
                str(k): str(v) for k, v in dict(raw.get("forwarders") or {}).items()
            },
            catalogue_dir=(base / raw["catalogue_dir"]).resolve()
            if raw.get("catalogue_dir")
            else None,
            hospital_registrations=None
            if raw.get("hospital_registrations") is None
            else {
                str(k): frozenset(str(r) for r in v)
                for k, v in dict(raw["hospital_registrations"]).items()
            },
            forwarder_registrations={
                str(k): frozenset(str(r) for r in v)
                for k, v in dict(raw.get("forwarder_registrations") or {}).items()
            },
        )
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read registry holder config {path}: {error}") from error
    except (KeyError, TypeError) as error:
        raise ConfigError(f"registry holder config {path}: missing or invalid {error}") from error
