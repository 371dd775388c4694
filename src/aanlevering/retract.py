"""Retract a delivered period: tell the registry holder to withdraw what it received.

A retraction is a delivery of its own: a manifest of kind ``retraction``
with no data files, the next version of the period, superseding the last
receipted version, sent over the registration's channel with the same
at-least-once guarantees (idempotency key, receipt, retries). Used when data
was delivered without a legal basis or must be withdrawn before a corrected
version is ready.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import uuid
from datetime import date

from aanlevering.actor import current_actor
from aanlevering.catalogue.model import RegistrationConfig
from aanlevering.deliver.events import DeliveryStaged, delivery_stream
from aanlevering.deliver.held import Holdings
from aanlevering.deliver.ledger import LedgerEntry, load_period_ledger
from aanlevering.deliver.manifest import Manifest, idempotency_key, write_manifest
from aanlevering.deliver.receipt import Receipt
from aanlevering.deliver.service import send_with_retries
from aanlevering.errors import ConfigError
from aanlevering.periods import Period
from aanlevering.pipeline.lock import LockScope, acquire, lease_length, release
from aanlevering.pipeline.receiver_check import ask_receiver, check_not_ahead
from aanlevering.pipeline.run import Ports
from aanlevering.pipeline.stages import lock_wait_seconds
from aanlevering.settings import Settings

log = logging.getLogger(__name__)


def retract_period(
    config: RegistrationConfig,
    settings: Settings,
    period: Period,
    ports: Ports,
    *,
    reason: str,
    today: date | None = None,
) -> Receipt:
    """Send a retraction of the period's current receipted version; return its receipt.

    The target is the latest version the receiver holds or the log has
    receipted (decision 0461): a later version sent but never receipted here
    that the receiver holds is the one withdrawn. Raises ReceiverAhead when the
    receiver holds a version the log does not know (decision 0460), and
    ConfigError when nothing receipted is there to retract (or it was
    already retracted), RunLocked when a run of the period holds it longer
    than ``AANLEVERING_RUN_LOCK_WAIT`` (nothing sent). Unlike a delivery, a
    retraction is never refused for lack of an obligation: withdrawing data
    is always allowed.
    """
    scope = LockScope(settings.provider_id, config.id, period.label)
    run_id = f"retract-{uuid.uuid4()}"
    # A delivery run of the period may be staging or sending its next version: the
    # retraction waits for it, never numbering or targeting beside it (decision 0491).
    acquire(
        ports.store,
        scope,
        run_id,
        lease=lease_length(),
        wait_seconds=lock_wait_seconds(),
        actor=current_actor(),
        one_process=True,
    )
    outcome = "failed"
    try:
        receipt = _retract(config, settings, period, ports, reason)
        outcome = "retracted"
        return receipt
    finally:
        release(ports.store, scope, run_id, outcome)


def _retract(
    config: RegistrationConfig, settings: Settings, period: Period, ports: Ports, reason: str
) -> Receipt:
    """The retraction itself, with the period's run lock held."""
    store = ports.store
    channel = ports.channel_for(config, None)
    holdings = ask_receiver(channel, settings.provider_id, config.id, period.label, store=store)
    versions = load_period_ledger(store, config.id, period.label).versions(config.id, period.label)
    check_not_ahead(store, holdings, versions, provider=settings.provider_id, doing="retracted")
    target = _latest_held(versions, holdings)
    if target is None or target.kind == "retraction":
        raise ConfigError(
            f"registration {config.id}, period {period.label}: no receipted delivery to retract"
        )
    version = versions[-1].version + 1
    key = idempotency_key(settings.provider_id, config.id, period.label, version)
    staging = settings.staging_dir / config.id / period.label / f"v{version}"
    staging.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(
        idempotency_key=key,
        registration=config.id,
        registry_holder=config.registry_holder_id,
        period=period.label,
        period_start=period.start.isoformat(),
        period_end=period.end.isoformat(),
        version=version,
        dictionary_id=config.dictionary.id,
        dictionary_version=config.dictionary.version,
        format=config.delivery.format,
        normalisation_profile=config.pseudonymisation.profile,
        pseudonym_types=(),
        key_versions={},
        ttp_mode=config.pseudonymisation.ttp_mode,
        provider_id=settings.provider_id,
        files=(),
        record_counts={},
        kind="retraction",
        supersedes=target.idempotency_key,
    )
    write_manifest(staging, manifest)
    store.append(
        delivery_stream(config.id, period.label),
        [
            DeliveryStaged(
                registration=config.id,
                period=period.label,
                version=version,
                idempotency_key=key,
                channel=channel.name,
                format=config.delivery.format,
                manifest_sha256=hashlib.sha256(manifest.to_json().encode()).hexdigest(),
                supersedes=target.idempotency_key,
                kind="retraction",
                content_sha256=f"retraction:{reason[:200]}",
                provider=settings.provider_id,
                actor=current_actor(),
            )
        ],
        None,
    )
    log.info("retracting %s (%s)", target.idempotency_key, reason)
    receipt = send_with_retries(channel, staging, manifest, store)
    shutil.rmtree(staging)
    return receipt


def _latest_held(versions: list[LedgerEntry], holdings: Holdings | None) -> LedgerEntry | None:
    """The latest version receipted in the log or held by the receiver (None: none is).

    Why the receiver's: a version whose receipt never came back (pending in
    the log) may still be the one the registry holder has as current.
    """
    held = {h.version for h in holdings.versions} if holdings is not None else set()
    candidates = [v for v in versions if v.status == "receipted" or v.version in held]
    return candidates[-1] if candidates else None
