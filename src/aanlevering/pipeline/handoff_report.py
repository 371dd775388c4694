"""A version's hospital report follows its hand-over once it is confirmed or abandoned.

Why: the run that placed a version in an outbox wrote its hospital report as
``handed-over`` ("not delivered until the registry holder has it: upload it,
then confirm-upload", decisions 0794, 0820). ``confirm-upload`` and
``abandon-handover`` changed the ledger, status and the Deliveries page, but the
report an engineer hands on kept saying the version waited for its upload
(decision 0845). Counts, keys, days and fixed texts only.
"""

from __future__ import annotations

from pathlib import Path

from aanlevering.deliver.ledger import LedgerEntry, abandoned_retraction_advice
from aanlevering.settings import Settings
from aanlevering.validate.hospital_report import HOSPITAL_REPORT, add_sections


def report_handoff(settings: Settings, entry: LedgerEntry) -> Path | None:
    """Rewrite the version's delivery and accounting sections; None when it has no report.

    ``entry`` is the ledger entry after ``HandOffConfirmed`` or ``HandOffAbandoned``.
    """
    folder = settings.reports_dir / entry.registration / entry.period / f"v{entry.version}"
    if not (folder / HOSPITAL_REPORT).is_file():
        return None
    delivery: dict[str, object] = {"idempotency_key": entry.idempotency_key}
    if entry.kind == "retraction":  # it carries no data: what it withdrew, or not (0900)
        retraction = _retraction(entry)
        if not retraction:
            return None
        delivery.update(retraction)
    elif entry.confirmed_on:
        delivery.update(
            status="delivered",
            receipt_id=entry.receipt_id,
            received_on=entry.confirmed_on,
            what_to_do=(
                f"placed in {entry.receiver}; the hospital confirmed the registry holder "
                f"received it on {entry.confirmed_on} (decision 0794)"
            ),
        )
    elif entry.status == "abandoned":
        delivery.update(
            status="abandoned",
            abandoned_on=entry.abandoned_on,
            what_to_do=(
                f"placed in {entry.receiver}, never confirmed, abandoned on "
                f"{entry.abandoned_on}: not delivered; the next run delivers the period as "
                f"v{entry.version + 1}. If its files were uploaded after all, the registry "
                "holder may hold them until that version replaces them (decision 0843)"
            ),
        )
    else:
        return None
    sections: dict[str, object] = {"delivery": delivery}
    if entry.accounting and entry.kind != "retraction":
        sections["accounting"] = entry.shown_accounting().as_summary()
    return add_sections(folder, sections)


def _retraction(entry: LedgerEntry) -> dict[str, object]:
    """The delivery section of a retraction confirmed or abandoned (decision 0900).

    Why: a retraction's version folder may hold the report of a run that was
    blocked under the same number; rewritten as a delivery's, an abandoned
    retraction told the hospital "the next run delivers the period as vN+1":
    followed, that sends the data it meant to withdraw again (0884).
    """
    withdrawn = entry.supersedes or "the version before it"
    if entry.confirmed_on:
        return {
            "status": "retraction-delivered",
            "receipt_id": entry.receipt_id,
            "received_on": entry.confirmed_on,
            "what_to_do": (
                f"the retraction of {withdrawn}, placed in {entry.receiver}; the hospital "
                f"confirmed the registry holder received it on {entry.confirmed_on}: "
                f"{withdrawn} is withdrawn (decision 0794)"
            ),
        }
    if entry.status == "abandoned":
        return {
            "status": "retraction-abandoned",
            "abandoned_on": entry.abandoned_on,
            "what_to_do": (
                f"placed in {entry.receiver}, never confirmed, abandoned on "
                f"{entry.abandoned_on}: "
                + abandoned_retraction_advice(entry.registration, entry.period, entry.supersedes)
                + " (decisions 0884, 0900)"
            ),
        }
    return {}
