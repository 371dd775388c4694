"""Typed configuration of the reference TTP, read from one YAML file.

The file names organisations (with a SHA-256 hash of their API key, never the
key), registrations (allowed pseudonym types, key versions and where local-mode
results are forwarded) and where key material lives. Relative paths are
resolved against the config file's folder, so a config directory can be moved
as a whole. Every problem is reported at once, naming the file and JSON path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from jsonschema import Draft202012Validator, ValidationError

from aanlevering import yaml_input
from aanlevering.errors import ConfigError
from aanlevering.pseudonym_types import PseudonymType
from aanlevering.settings import checkout_root
from aanlevering.tls import ClientTLS

Role = Literal["hospital", "registry_holder", "admin"]
KeyStatus = Literal["active", "transition", "retired"]

#: Normalisation profile accepted when a registration names none.
DEFAULT_PROFILES: tuple[str, ...] = ("nl-2026.1",)


@dataclass(frozen=True)
class Organisation:
    """A party that may call the TTP, identified by its API key."""

    id: str
    role: Role
    api_key_sha256: str
    name: str = ""
    #: RFC 4514 subject of its client certificate: mTLS stands in for the API key.
    certificate_subject: str | None = None
    #: Hospitals: the registrations it delivers to; any other is refused (403).
    registrations: frozenset[str] = frozenset()


@dataclass(frozen=True)
class KeyVersion:
    """One version of a registration's keys (no ``secret_file``: derived from the master key)."""

    version: int
    status: KeyStatus
    secret_file: Path | None = None


@dataclass(frozen=True)
class Registration:
    """What the TTP knows about one registration."""

    id: str
    registry_holder: str
    types: frozenset[PseudonymType]
    profiles: tuple[str, ...]
    keys: tuple[KeyVersion, ...]
    forward_url: str | None = None
    forward_api_key_file: Path | None = None
    #: Source key version -> key check value every hospital must send (else learned).
    source_key_checks: Mapping[int, str] = field(default_factory=dict)

    @property
    def active_version(self) -> int:
        """The version new pseudonyms are made under (config guarantees exactly one)."""
        return next(key.version for key in self.keys if key.status == "active")

    def key_status(self, version: int) -> KeyStatus | None:
        """Status of a key version, None when the version does not exist."""
        return next((key.status for key in self.keys if key.version == version), None)


@dataclass(frozen=True)
class Limits:
    """Bounds that keep one request from exhausting the service."""

    max_batch_records: int = 20_000
    max_upload_bytes: int = 256 * 1024 * 1024
    #: Records (data rows, NDJSON lines, Bundle entries) in one local upload (decision 1051).
    max_upload_records: int = 10_000_000
    idempotency_cache_bytes: int = 128 * 1024 * 1024
    max_json_body_bytes: int = 32 * 1024 * 1024
    requests_per_minute: int = 1200
    failed_auth_per_minute: int = 30
    max_concurrent_uploads: int = 4


@dataclass(frozen=True)
class ForwardingPolicy:
    """Retry policy for forwarding local-mode results to the registry holder."""

    max_attempts: int = 4
    backoff_seconds: float = 0.5
    timeout_seconds: float = 30.0
    tls: ClientTLS = field(default_factory=ClientTLS)


@dataclass(frozen=True)
class TTPConfig:
    """The whole configuration of one TTP process."""

    path: Path
    organisations: Mapping[str, Organisation]
    registrations: Mapping[str, Registration]
    audit_log: Path
    master_key_file: Path | None = None
    limits: Limits = Limits()
    forwarding: ForwardingPolicy = ForwardingPolicy()
    fault_injection: bool = False


def _schema_file() -> Path:
    root = checkout_root()
    base = root / "schemas" if root is not None else Path(__file__).resolve().parent
    return base / "ttp" / "ttp-config.schema.json"


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(_schema_file().read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def _json_path(parts: Iterable[object]) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _message(error: ValidationError) -> str:
    # Never echo the offending value: someone may have pasted a clear API key
    # where its hash belongs.
    if error.validator == "pattern":
        return f"does not match the pattern {error.validator_value}"
    if error.validator in ("enum", "const"):
        return f"must be one of {error.validator_value}"
    if error.validator == "type":
        return f"must be of type {error.validator_value}"
    return str(error.message)


def read_config_document(path: Path) -> dict[str, Any]:
    """The raw YAML mapping of a config file; ConfigError names the file and line."""
    try:
        data = yaml_input.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read TTP config: {error.strerror}") from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}: invalid YAML{where}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def _resolve(base: Path, value: str | None) -> Path | None:
    if value is None:
        return None
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else (base / candidate).resolve()


def _semantic_problems(data: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    roles: dict[str, str] = {}
    for index, org in enumerate(data["organisations"]):
        if org["id"] in roles:
            problems.append(f"$.organisations[{index}].id: duplicate organisation {org['id']!r}")
        roles[org["id"]] = org["role"]
    known = {reg["id"] for reg in data["registrations"]}
    for index, org in enumerate(data["organisations"]):
        for unknown in sorted(set(org.get("registrations", ())) - known):
            problems.append(f"$.organisations[{index}].registrations: no registration {unknown!r}")
    seen: set[str] = set()
    has_master = "master_key_file" in data
    for index, reg in enumerate(data["registrations"]):
        where = f"$.registrations[{index}]"
        if reg["id"] in seen:
            problems.append(f"{where}.id: duplicate registration {reg['id']!r}")
        seen.add(reg["id"])
        holder = reg["registry_holder"]
        if roles.get(holder) != "registry_holder":
            problems.append(
                f"{where}.registry_holder: {holder!r} is not an organisation "
                "with role registry_holder"
            )
        versions = [key["version"] for key in reg["keys"]]
        if len(set(versions)) != len(versions):
            problems.append(f"{where}.keys: key versions must be unique")
        active = [key for key in reg["keys"] if key["status"] == "active"]
        if len(active) != 1:
            problems.append(f"{where}.keys: exactly one key version must be active")
        elif active[0]["version"] != max(versions):
            problems.append(f"{where}.keys: the active key version must be the newest")
        for key_index, key in enumerate(reg["keys"]):
            if "secret_file" not in key and not has_master:
                problems.append(
                    f"{where}.keys[{key_index}]: no secret_file, and no master_key_file "
                    "to derive from"
                )
    return problems


def load_config(path: Path | str) -> TTPConfig:
    """Read and check a TTP config; ConfigError lists every problem found.

    Key files are not read here (see :mod:`.keys`), so a config can be checked
    on a machine without the key material.
    """
    path = Path(path).expanduser().resolve()
    data = read_config_document(path)
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    problems = [f"{_json_path(e.absolute_path)}: {_message(e)}" for e in errors]
    if not problems:
        problems = _semantic_problems(data)
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise ConfigError(f"{path}: {len(problems)} problem(s) in TTP config:\n{listing}")
    return _build(path, data)


def _build(path: Path, data: Mapping[str, Any]) -> TTPConfig:
    base = path.parent
    organisations = {
        org["id"]: Organisation(
            id=org["id"],
            role=org["role"],
            api_key_sha256=org["api_key_sha256"],
            name=org.get("name", ""),
            certificate_subject=org.get("certificate_subject"),
            registrations=frozenset(org.get("registrations", ())),
        )
        for org in data["organisations"]
    }
    registrations = {}
    for reg in data["registrations"]:
        keys = tuple(
            sorted(
                (
                    KeyVersion(
                        version=key["version"],
                        status=key["status"],
                        secret_file=_resolve(base, key.get("secret_file")),
                    )
                    for key in reg["keys"]
                ),
                key=lambda key: key.version,
            )
        )
        registrations[reg["id"]] = Registration(
            id=reg["id"],
            registry_holder=reg["registry_holder"],
            types=frozenset(PseudonymType(code) for code in reg["types"]),
            profiles=tuple(reg.get("profiles", DEFAULT_PROFILES)),
            keys=keys,
            forward_url=reg.get("forward_url"),
            forward_api_key_file=_resolve(base, reg.get("forward_api_key_file")),
            source_key_checks={
                int(version): str(value)
                for version, value in reg.get("source_key_checks", {}).items()
            },
        )
    limits = data.get("limits", {})
    forwarding = dict(data.get("forwarding", {}))
    forwarding["tls"] = ClientTLS(
        ca_bundle=_resolve(base, forwarding.pop("ca_bundle", None)),
        client_cert=_resolve(base, forwarding.pop("client_cert", None)),
        client_key=_resolve(base, forwarding.pop("client_key", None)),
        allow_insecure_http=bool(forwarding.pop("allow_insecure_http", False)),
    )
    audit = _resolve(base, data.get("audit_log", "audit.jsonl"))
    assert audit is not None
    return TTPConfig(
        path=path,
        organisations=organisations,
        registrations=registrations,
        audit_log=audit,
        master_key_file=_resolve(base, data.get("master_key_file")),
        limits=Limits(**limits),
        forwarding=ForwardingPolicy(**forwarding),
        fault_injection=bool(data.get("testing", {}).get("fault_injection", False)),
    )
