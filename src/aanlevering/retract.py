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
from collections.abc import Callable
from datetime import date
from pathlib import Path

from aanlevering.actor import current_actor
from aanlevering.catalogue.model import RegistrationConfig
from aanlevering.deliver.channels import Channel
from aanlevering.deliver.events import DeliveryStaged, delivery_stream
from aanlevering.deliver.held import Holdings
from aanlevering.deliver.ledger import LedgerEntry, load_period_ledger
from aanlevering.deliver.manifest import Manifest, idempotency_key, write_manifest
from aanlevering.deliver.outbox_place import recorded_outbox
from aanlevering.deliver.receipt import Receipt
from aanlevering.deliver.service import send_with_retries
from aanlevering.errors import ConfigError
from aanlevering.events.store import EventStore
from aanlevering.operator_text import checked_operator_text
from aanlevering.periods import Period
from aanlevering.pipeline.handover_lock import acquire_for_command
from aanlevering.pipeline.lock import LockScope, release
from aanlevering.pipeline.receiver_check import ask_receiver, check_not_ahead
from aanlevering.pipeline.run import Ports
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
    reason = checked_operator_text(reason, "--reason")  # kept in the event log (0882)
    return _with_period_lock(
        settings, config, period, ports, lambda: _retract(config, settings, period, ports, reason)
    )


def _with_period_lock(
    settings: Settings,
    config: RegistrationConfig,
    period: Period,
    ports: Ports,
    send: Callable[[], Receipt],
) -> Receipt:
    """Run ``send`` with the period's run lock held, released "retracted" or "retract-failed".

    Neither is a run's outcome: the calendar keeps the last run's (decision 0931).

    A delivery run of the period may be staging or sending its next version: a
    retraction waits for it, never numbering or targeting beside it (decision 0491).
    """
    scope = LockScope(settings.provider_id, config.id, period.label)
    run_id = f"retract-{uuid.uuid4()}"
    acquire_for_command(ports.store, scope, run_id)
    # Not a run's outcome: the calendar keeps the period's last run (a validation block, 0931).
    outcome = "retract-failed"
    try:
        receipt = send()
        outcome = "retracted"
        return receipt
    finally:
        release(ports.store, scope, run_id, outcome)


def _versions_checked(
    config: RegistrationConfig, settings: Settings, period: Period, ports: Ports, channel: Channel
) -> tuple[list[LedgerEntry], Holdings | None]:
    """The period's versions in the log, after asking the receiver what it holds.

    Raises ReceiverAhead when the receiver holds a version the log does not know
    (decision 0460): nothing is retracted beside it.
    """
    store = ports.store
    holdings = ask_receiver(channel, settings.provider_id, config.id, period.label, store=store)
    versions = load_period_ledger(store, config.id, period.label).versions(config.id, period.label)
    check_not_ahead(store, holdings, versions, provider=settings.provider_id, doing="retracted")
    return versions, holdings


def _retract(
    config: RegistrationConfig, settings: Settings, period: Period, ports: Ports, reason: str
) -> Receipt:
    """The retraction itself, with the period's run lock held."""
    store = ports.store
    outbox, recorded = _outbox_of_latest(store, config, period)
    channel = ports.channel_for(config, outbox)
    versions, holdings = _versions_checked(config, settings, period, ports, channel)
    target = _latest_held(versions, holdings)
    if target is None or target.kind == "retraction":
        raise ConfigError(
            f"registration {config.id}, period {period.label}: no receipted delivery to retract"
        )
    version = versions[-1].version + 1
    key = idempotency_key(settings.provider_id, config.id, period.label, version)
    manifest = _retraction_manifest(
        config, settings, period, key=key, version=version, supersedes=target.idempotency_key
    )
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
                # Where it went, so a resend goes there too (decision 0678), as the log
                # keeps the version's own outbox (0903).
                outbox=recorded[0],
                outbox_withheld=recorded[1],
            )
        ],
        None,
    )
    log.info("retracting %s (%s)", target.idempotency_key, reason)
    return _send(channel, settings, manifest, ports)


def resend_retraction(
    config: RegistrationConfig,
    settings: Settings,
    period: Period,
    ports: Ports,
    pending: LedgerEntry,
) -> Receipt:
    """Send the period's unreceipted retraction ``pending`` again, under its own key.

    Why: a retraction whose process stopped before the receipt is the
    period's latest version, unreceipted; the retry of unreceipted versions
    reran the period's delivery for it, which sent the withdrawn data again
    as the next version and never the retraction (decision 0590). The same
    manifest goes again (the receiver dedupes on the key), with the period's
    run lock held and the receiver asked first, as :func:`retract_period`
    does. ConfigError when ``pending`` is no longer the period's latest,
    unreceipted retraction (nothing is sent).
    """
    return _with_period_lock(
        settings, config, period, ports, lambda: _resend(config, settings, period, ports, pending)
    )


def _resend(
    config: RegistrationConfig,
    settings: Settings,
    period: Period,
    ports: Ports,
    pending: LedgerEntry,
) -> Receipt:
    """The resend itself, with the period's run lock held."""
    outbox = recorded_outbox(
        pending.outbox,
        pending.outbox_withheld,
        registration=config.id,
        key=pending.idempotency_key,
    )
    channel = ports.channel_for(config, outbox)
    versions, _ = _versions_checked(config, settings, period, ports, channel)
    latest = versions[-1] if versions else None
    if (
        latest is None
        or latest.idempotency_key != pending.idempotency_key
        or latest.kind != "retraction"
        or latest.status == "receipted"
        or latest.supersedes is None
    ):
        raise ConfigError(
            f"registration {config.id}, period {period.label}: "
            f"{pending.idempotency_key} is no longer an unreceipted retraction and the "
            "period's latest version; nothing was sent"
        )
    manifest = _retraction_manifest(
        config,
        settings,
        period,
        key=latest.idempotency_key,
        version=latest.version,
        supersedes=latest.supersedes,
    )
    log.info("retracting %s again (%s)", latest.supersedes, latest.idempotency_key)
    return _send(channel, settings, manifest, ports)


def _retraction_manifest(
    config: RegistrationConfig,
    settings: Settings,
    period: Period,
    *,
    key: str,
    version: int,
    supersedes: str,
) -> Manifest:
    """The manifest of a retraction: no data files, the version it withdraws."""
    return Manifest(
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
        supersedes=supersedes,
    )


def _send(channel: Channel, settings: Settings, manifest: Manifest, ports: Ports) -> Receipt:
    """Stage the retraction's manifest, send it until receipted, drop the staging folder."""
    folder = settings.staging_dir / manifest.registration / manifest.period
    staging = folder / f"v{manifest.version}"
    staging.mkdir(parents=True, exist_ok=True)
    write_manifest(staging, manifest)
    receipt = send_with_retries(channel, staging, manifest, ports.store)
    shutil.rmtree(staging)
    return receipt


def _outbox_of_latest(
    store: EventStore, config: RegistrationConfig, period: Period
) -> tuple[Path | None, tuple[str, bool]]:
    """The outbox the period's latest version went to (None: the configured channel).

    Why: a version delivered with ``run --outbox DIR`` or ``AANLEVERING_OUTBOX__<ID>``
    is held in that folder; a retraction over the configured channel reached a
    receiver that never had the version and was reported "retracted", while the
    folder kept the data (decision 0678). The latest version is the one a
    retraction withdraws, or the receiver holds beyond the log's receipt (0461),
    and every version of a period goes where its run was told to deliver.
    """
    versions = load_period_ledger(store, config.id, period.label).versions(config.id, period.label)
    latest = versions[-1] if versions else None
    if latest is None or not latest.outbox:
        return None, ("", False)
    folder = recorded_outbox(
        latest.outbox,
        latest.outbox_withheld,
        registration=config.id,
        key=latest.idempotency_key,
    )
    # The log keeps it as it was recorded, its name perhaps withheld (decision 0903).
    return folder, (latest.outbox, latest.outbox_withheld)


def _latest_held(versions: list[LedgerEntry], holdings: Holdings | None) -> LedgerEntry | None:
    """The latest version receipted in the log or held by the receiver (None: none is).

    Why the receiver's: a version whose receipt never came back (pending in
    the log) may still be the one the registry holder has as current.
    """
    held = {h.version for h in holdings.versions} if holdings is not None else set()
    candidates = [v for v in versions if v.status == "receipted" or v.version in held]
    return candidates[-1] if candidates else None
