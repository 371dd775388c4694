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
