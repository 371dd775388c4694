"""One hospital, one set of local keys: a machine with another key is refused, not trusted.

The patient-reference key and the resource-id key are made on first use in
``$AANLEVERING_HOME/secrets``. Everything the event log says about patients
(opt-outs, delivery contents, failure references) is keyed with the first of
them. A second Airflow worker started with an empty secrets folder, or a
home restored without its secrets next to a shared PostgreSQL log, would
quietly make a new key; its references would match nothing in the log, and
a patient who opted out would be delivered. So the first use records the
key's check value in the log (stream ``hospital-keys-<provider>``), and every
later use compares: another key is a configuration error that names both
check values and what to do, before any patient is looked up.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from aanlevering.errors import ConcurrencyConflict, ConfigError
from aanlevering.events.store import EventStore
from aanlevering.pseudonym.events import HospitalKeyInUse

_CHECK_MESSAGE = b"aanlevering hospital key check v1"


def key_stream(provider_id: str) -> str:
    """The stream holding the check values of one provider's local keys."""
    return f"hospital-keys-{provider_id}"


def check_value(key: bytes) -> str:
    """16 hex digits of an HMAC of a constant: tells keys apart, reveals nothing of them."""
    return hmac.new(key, _CHECK_MESSAGE, hashlib.sha256).hexdigest()[:16]


#: What another patient-reference or resource-id key would break.
REFERENCES_MISMATCH = (
    "Patient references made with another key match nothing in the log "
    "(opt-outs would be missed), so nothing is done."
)


def check_one_provider(store: EventStore, provider_id: str) -> None:
    """ConfigError when the log's keys were recorded by another provider id (decision 0452).

    Why: deliveries, register decisions and opt-out counts are not kept
    apart by provider, so a second hospital on one log would take the
    other's receipts for its own deliveries; and a changed provider id would
    start an empty key stream that accepts any key. Every use of a
    hospital-local key passes here first, so neither can write a patient fact.
    """
    others = sorted(
        {
            event.provider_id
            for event in (r.to_event() for r in store.read_types([HospitalKeyInUse.event_type]))
            if isinstance(event, HospitalKeyInUse) and event.provider_id != provider_id
        }
    )
    if others:
        raise ConfigError(
            f"this event log belongs to provider {', '.join(others)}, and "
            f"AANLEVERING_PROVIDER_ID is {provider_id}: one event log holds one hospital's "
            "deliveries (another's receipts would count as this one's), so nothing is done. "
            "Give each hospital its own AANLEVERING_EVENT_STORE (a database or schema of its "
            "own); if this hospital's id changed, set the id the log was written with."
        )


def check_key_continuity(
    store: EventStore,
    provider_id: str,
    key_name: str,
    key: bytes,
    key_file: Path,
    *,
    consequence: str = REFERENCES_MISMATCH,
) -> None:
    """Record the key's check value on first use; ConfigError when the log knows another key.

    ``consequence`` says in the error what using another key would break.
    """
    check_one_provider(store, provider_id)
    mine = check_value(key)
    stream = key_stream(provider_id)
    for _ in range(3):  # a racing first use by another process: read again
        records = store.read_stream(stream)
        known = {
            event.key_name: event.check_value
            for event in (r.to_event() for r in records)
            if isinstance(event, HospitalKeyInUse)
        }
        if key_name in known:
            if known[key_name] != mine:
                raise ConfigError(
                    f"{key_file} is not the {key_name} key this hospital's event log was "
                    f"written with (check value {mine}; the log has {known[key_name]}). "
                    f"{consequence} Restore the key file "
                    "from backup or copy it from the machine that has it (every Airflow "
                    "worker needs the same secrets; docs/airflow.md)."
                )
            return
        try:
            store.append(
                stream,
                [HospitalKeyInUse(provider_id=provider_id, key_name=key_name, check_value=mine)],
                records[-1].version if records else 0,
            )
            return
        except ConcurrencyConflict:
            continue
    raise ConfigError(f"could not record the check value of {key_file}: the log kept changing")
