"""Configuration of the reference registry holder (YAML file)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aanlevering.errors import ConfigError


@dataclass(frozen=True)
class ReceiverConfig:
    """Who this receiver is, whom it accepts, and where it keeps deliveries.

    ``hospital_key_hashes`` maps a hospital id to the sha256 hex of its API
    key: the clear key is only known to the hospital.
    """

    receiver_id: str
    storage_dir: Path
    registrations: frozenset[str]
    hospital_key_hashes: dict[str, str]
    ttp_url: str | None = None
    ttp_api_key_files: dict[str, Path] = field(default_factory=dict)  # registration -> key file
    sftp_inboxes: tuple[Path, ...] = ()
    fault_injection: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def hospital_for_key(self, api_key: str) -> str | None:
        """The hospital whose API key this is, or None."""
        digest = hashlib.sha256(api_key.encode("utf-8")).hexdigest()
        for hospital, expected in self.hospital_key_hashes.items():
            if _equal(digest, expected):
                return hospital
        return None


def _equal(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a.encode(), b.encode())


def hash_api_key(api_key: str) -> str:
    """The form in which API keys are stored in the receiver's config."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def load_receiver_config(path: Path) -> ReceiverConfig:
    """Read the YAML config; ConfigError names the file and the missing field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        base = path.parent
        return ReceiverConfig(
            receiver_id=str(raw["receiver_id"]),
            storage_dir=(base / raw["storage_dir"]).resolve(),
            registrations=frozenset(raw["registrations"]),
            hospital_key_hashes={str(k): str(v) for k, v in raw["hospitals"].items()},
            ttp_url=raw.get("ttp_url"),
            ttp_api_key_files={
                str(k): (base / v).resolve() for k, v in raw.get("ttp_api_key_files", {}).items()
            },
            sftp_inboxes=tuple((base / p).resolve() for p in raw.get("sftp_inboxes", ())),
            fault_injection=bool(raw.get("fault_injection", False)),
        )
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read registry holder config {path}: {error}") from error
    except (KeyError, TypeError) as error:
        raise ConfigError(f"registry holder config {path}: missing or invalid {error}") from error
