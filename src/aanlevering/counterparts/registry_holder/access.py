"""Who may do what at the reference registry holder: one hospital sees only its own deliveries.

Every request is made *as a provider*: a hospital with its own API key, or
a forwarder (the TTP in local mode) that names the provider it acts for in
``On-Behalf-Of``. The provider must be the manifest's provider and the first
part of every idempotency key it touches; file names are plain names. These
rules are HTTP-free so the SFTP inbox applies the same ones (decision 0222).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aanlevering.counterparts.registry_holder.config import ReceiverConfig
from aanlevering.deliver.manifest import Manifest, idempotency_key, is_plain_name


class Denied(Exception):
    """The caller may not do this; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Caller:
    """The provider a request is made for, and the forwarder that made it (if any)."""

    provider: str
    forwarder: str | None = None
    #: A forwarder delivers only to these registrations (None: a hospital, not limited here).
    registrations: frozenset[str] | None = None
    #: The registrations the provider takes part in at this holder (None: all; decision 0724).
    authorised: frozenset[str] | None = None


def identify(
    config: ReceiverConfig,
    api_key: str | None,
    on_behalf_of: str | None,
    *,
    subject: str | None = None,
) -> Caller:
    """The caller of a request; Denied 401 for an unknown key, 403 for a bad On-Behalf-Of.

    ``subject`` is the verified client certificate's subject (mTLS), used
    when no API key is presented.
    """
    if not api_key:
        by_subject = config.hospital_for_subject(subject)
        if by_subject is None:
            raise Denied(401, "missing bearer API key or known client certificate")
        if on_behalf_of and on_behalf_of != by_subject:
            raise Denied(403, f"hospital {by_subject!r} may not act on behalf of {on_behalf_of!r}")
        return Caller(by_subject, authorised=config.registrations_of(by_subject))
    hospital = config.hospital_for_key(api_key)
    if hospital is not None:
        if on_behalf_of and on_behalf_of != hospital:
            raise Denied(403, f"hospital {hospital!r} may not act on behalf of {on_behalf_of!r}")
        return Caller(hospital, authorised=config.registrations_of(hospital))
    forwarder = config.forwarder_for_key(api_key)
    if forwarder is None:
        raise Denied(401, "unknown API key")
    if not on_behalf_of:
        raise Denied(403, f"forwarder {forwarder!r} must name the provider in On-Behalf-Of")
    if on_behalf_of not in config.hospital_key_hashes:
        raise Denied(403, f"forwarder {forwarder!r}: {on_behalf_of!r} is not a known provider")
    allowed = frozenset(config.forwarder_registrations.get(forwarder, ()))
    return Caller(on_behalf_of, forwarder, allowed, config.registrations_of(on_behalf_of))


def check_name(name: str) -> None:
    """Denied 400 unless ``name`` is a plain file name."""
    if not is_plain_name(name):
        raise Denied(400, "file names must be plain names (no folders, no '..')")


def check_authorised(caller: Caller, registration: str) -> None:
    """Denied 403 unless the caller's provider takes part in ``registration`` (decision 0724)."""
    if caller.authorised is not None and registration not in caller.authorised:
        raise Denied(
            403,
            f"provider {caller.provider!r} is not authorised to deliver to registration "
            f"{registration!r} at this registry holder",
        )


def check_key(caller: Caller, registration: str, key: str) -> None:
    """Denied unless ``key`` is one of the caller's keys for ``registration``."""
    check_name(key)
    if caller.registrations is not None and registration not in caller.registrations:
        raise Denied(
            403, f"forwarder {caller.forwarder!r} does not deliver to registration {registration!r}"
        )
    check_authorised(caller, registration)
    if not key.startswith(f"{caller.provider}.{registration}."):
        raise Denied(
            403,
            f"idempotency key {key!r} is not one of provider {caller.provider!r}'s keys "
            f"for registration {registration!r}",
        )


def check_period(caller: Caller, registration: str, period: str) -> None:
    """Denied unless the caller may read ``registration`` and ``period`` is a plain name."""
    if not is_plain_name(period):
        raise Denied(400, "the period must be a plain name such as 2026-Q3")
    if caller.registrations is not None and registration not in caller.registrations:
        raise Denied(
            403, f"forwarder {caller.forwarder!r} does not deliver to registration {registration!r}"
        )
    check_authorised(caller, registration)


def held_versions(
    entries: Sequence[Mapping[str, Any]], registration: str, period: str
) -> list[dict[str, Any]]:
    """One provider's receipted versions of one period, oldest first (no content, no counts)."""
    return [
        {
            "version": entry["version"],
            "idempotency_key": entry["idempotency_key"],
            "kind": entry.get("kind", "delivery"),
            "receipt_id": entry.get("receipt_id", ""),
            "received_at": entry.get("received_at", ""),
        }
        for entry in sorted(entries, key=lambda e: int(e.get("version", 0)))
        if entry.get("registration") == registration and entry.get("period") == period
    ]


def check_manifest(caller: Caller, registration: str, key: str, manifest: Manifest) -> None:
    """Denied unless the manifest is the caller's, for this URL, with plain file names."""
    if manifest.provider_id != caller.provider:
        raise Denied(
            403,
            f"the manifest names provider {manifest.provider_id!r}, "
            f"the caller is {caller.provider!r}",
        )
    unsafe = manifest.unsafe_file_names()
    if unsafe:
        raise Denied(400, f"manifest file names must be plain names: {unsafe[:5]!r}")
    expected = idempotency_key(
        manifest.provider_id, manifest.registration, manifest.period, manifest.version
    )
    if manifest.registration != registration or manifest.idempotency_key != key:
        raise Denied(422, "manifest does not match the URL's registration and key")
    if key != expected:
        raise Denied(
            422, f"idempotency key {key!r} does not match the manifest (expected {expected!r})"
        )
    if manifest.source_manifest_sha256 and caller.forwarder is None:
        raise Denied(400, "only a forwarder may set source_manifest_sha256")
    if manifest.kind == "delivery" and (caller.forwarder is None) == (manifest.ttp_mode == "local"):
        raise Denied(422, _NOT_LOCAL if caller.forwarder else _LOCAL_BY_TTP)  # decision 1064


#: A hospital's own local-mode delivery: no TTP made its pseudonyms (decision 1064).
_LOCAL_BY_TTP = (
    "a local-mode delivery comes through the TTP, which makes its pseudonyms and forwards it: "
    "a hospital's own delivery is a web-mode one (temporary pseudonyms the holder exchanges)"
)
#: A forwarder (the TTP) forwards local-mode deliveries only (decision 1064).
_NOT_LOCAL = (
    "a forwarder forwards local-mode deliveries only: this manifest's ttp_mode is not 'local'"
)


def visible(caller: Caller, entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ledger entries of the caller's provider it may read (decision 0439).

    A forwarder reads only the registrations it delivers to, as it may only
    write and fetch receipts there (:func:`check_key`).
    """
    return [
        dict(entry)
        for entry in entries
        if caller.registrations is None or entry.get("registration") in caller.registrations
    ]
