"""Every read model, projected from the event log in one pass and materialised as JSON.

The log is the system of record; these views (delivery ledger, compliance
calendar, register status, opt-out summary) are derived from it and can be
thrown away and rebuilt at any time (``aanlevering events rebuild``): the
same log always gives the same document, which the digest makes checkable.
The Deliveries page and ``aanlevering status`` read this document.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from aanlevering.catalogue.model import Catalogue
from aanlevering.deliver.ledger import project_ledger
from aanlevering.events.store import EventStore
from aanlevering.obligation.calendar import delivery_calendar
from aanlevering.obligation.permission import may_deliver
from aanlevering.obligation.run_outcomes import project_run_outcomes
from aanlevering.obligation.status import project_statuses
from aanlevering.optout.register import OptOutRegister
from aanlevering.settings import Settings

PROJECTIONS_FILE = "projections.json"


def build_projections(store: EventStore, catalogue: Catalogue, on: date) -> dict[str, Any]:
    """All read models as one JSON-ready document (no patient data, counts only)."""
    records = list(store.read_all())
    ledger = project_ledger(records)
    statuses = project_statuses(records)
    optouts = OptOutRegister.from_records(records)
    outcomes = project_run_outcomes(records)
    registrations: dict[str, Any] = {}
    for config in catalogue:
        status = statuses.get(config.id)
        calendar = delivery_calendar(config, status, ledger, on)
        permission = may_deliver(config, status, on)
        change = status.change_on(on) if status is not None else None
        registrations[config.id] = {
            "name": config.name,
            "registry_holder": config.registry_holder_name,
            "frequency": config.frequency,
            "format": config.delivery.format,
            "channel": config.delivery.channel,
            "register_state": change.state.value if change is not None else "pending",
            "may_deliver": permission.allowed,
            "reason": permission.reason,
            "yearly_check": {"flagged": calendar.yearly.flagged, "reason": calendar.yearly.reason},
            "periods": [
                {
                    "period": entry.period.label,
                    "state": entry.state.value,
                    "owed": entry.owed,
                    "due_by": entry.due_by.isoformat() if entry.due_by else None,
                    "reason": entry.reason,
                    "last_run": outcomes.outcome(config.id, entry.period.label),
                }
                for entry in calendar.entries
            ],
        }
    return {
        "as_of": on.isoformat(),
        "last_position": records[-1].position if records else 0,
        "deliveries": [asdict(entry) for entry in ledger.rows()],
        "registrations": registrations,
        "optouts": {"patients": len(optouts)},
    }


def digest(document: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a projection document."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_projections(settings: Settings, document: dict[str, Any]) -> Path:
    """Materialise the document atomically under ``$AANLEVERING_HOME``."""
    path = settings.home / PROJECTIONS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=2, sort_keys=True, default=str), "utf-8")
    temporary.replace(path)
    return path
