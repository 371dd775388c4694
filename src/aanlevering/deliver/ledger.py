"""The delivery ledger: registration x period x version, projected from the event log.

It answers what the pipeline and the engineer ask: was this period
delivered (receipted), with which content, which version is current, what
is still unreceipted. It also serves the delivery calendar
(:class:`aanlevering.obligation.calendar.DeliveryLedger`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from aanlevering.deliver.accounting import Accounting
from aanlevering.deliver.events import delivery_stream
from aanlevering.errors import EventStoreError
from aanlevering.events.model import RecordedEvent
from aanlevering.events.registry import resolve
from aanlevering.events.store import EventStore
from aanlevering.periods import run_day

#: "staged" | "failed" | "receipted" | "aborted" | "rejected" | "abandoned" (an outbox
#: hand-over given up before its upload was confirmed, decision 0843)
Status = str


@dataclass(frozen=True)
class LedgerEntry:
    """One dataset version of one period of one registration."""

    registration: str
    period: str
    version: int
    idempotency_key: str
    status: Status = "staged"
    channel: str = ""
    format: str = ""
    record_counts: dict[str, int] = field(default_factory=dict)
    excluded_optouts: int = 0
    content_sha256: str = ""
    #: The registration config's print it was built under ("" for older versions).
    config_sha256: str = ""
    supersedes: str | None = None
    kind: str = "delivery"
    validation_report: str | None = None
    receipt_id: str | None = None
    receiver: str | None = None
    received_at: str | None = None
    attempts: int = 0
    last_error: str | None = None
    staged_at: str = ""
    #: Read, excluded, failed per type, dropped, delivered (counts; empty for older versions).
    accounting: dict[str, Any] = field(default_factory=dict)
    #: The receiver holds other content under this version (DeliveryVersionTaken): unknown.
    taken: bool = False
    #: The extract the run read and its outbox ("": not recorded / none; decision 0665).
    input_path: str = ""
    outbox: str = ""
    #: ``input_path`` names the input only as decision 0730 shows it: a retry cannot read it.
    input_withheld: bool = False
    #: ``outbox`` names the folder only as decision 0730 shows it (0903).
    outbox_withheld: bool = False
    #: Receipted by an outbox, not the registry holder: placed for a manual upload (0794).
    handed_over: bool = False
    #: The day the hospital confirmed the registry holder received it (HandOffConfirmed).
    confirmed_on: str | None = None
    #: The day the hospital gave the unconfirmed hand-over up (HandOffAbandoned, 0843).
    abandoned_on: str | None = None
    #: ``rejected`` by the pipeline's receipt check, not by the receiver: the receipt that
    #: came back did not match what was sent, so the holder may hold it (decision 0842).
    receipt_mismatch: bool = False

    @property
    def at_holder(self) -> bool:
        """Receipted by the registry holder, or an outbox hand-off whose upload was confirmed.

        Why: an outbox's receipt says the files lie in a folder of the hospital;
        counting it as delivered told the calendar the registry holder had them (0794).
        """
        return self.status == "receipted" and not self.awaiting_upload

    @property
    def delivered(self) -> bool:
        """A delivery of this log's own content that the registry holder has (0794, 0841).

        Why not every version at the holder: one taken by other content (0380)
        holds what an earlier run this log does not know sent, so it proves no
        delivery of the period; it still replaces the versions before it.
        """
        return self.at_holder and self.kind == "delivery" and not self.taken

    @property
    def awaiting_upload(self) -> bool:
        """Placed in an outbox, its upload not confirmed: nothing at the holder yet (0794, 0820).

        Not once it was abandoned (0843): nobody is waiting for that upload any more.
        """
        return self.status == "receipted" and self.handed_over and not self.confirmed_on

    @property
    def accounting_status(self) -> Status:
        """The status its accounting is shown under (:meth:`Accounting.as_version_status`).

        An unconfirmed hand-over awaits the holder's receipt as a staged version
        does (0794, 0820); an abandoned one was stopped, as an aborted one (0843);
        one whose receipt did not match awaits a matching one (0842).
        """
        if self.awaiting_upload:
            return "staged"
        if self.status == "abandoned":
            return "aborted"
        if self.status == "rejected" and self.receipt_mismatch:  # not refused (0842)
            return "failed"
        return self.status

    def shown_accounting(self) -> Accounting:
        """Its accounting as :attr:`accounting_status` makes it: delivered only if at the holder.

        One place for the rule an unconfirmed hand-over needs in the projection,
        the rerun's summary and the run's last step (decisions 0751, 0820).
        """
        return Accounting.from_summary(self.accounting).as_version_status(self.accounting_status)

    @property
    def may_reach_holder(self) -> bool:
        """Not receipted, yet sent or still to be sent: the holder may hold it (0752, 0840).

        Staged or failed (the retry sends it), aborted after an attempt (the
        attempt may have been stored, only its answer lost), or an outbox hand-over
        abandoned unconfirmed (it may have been uploaded all the same; 0843), or
        answered by a receipt that did not match what was sent (0842). Not: aborted
        before any attempt (nothing left the hospital), or refused by the holder.
        """
        return (
            self.status in {"staged", "failed", "abandoned"}
            or (self.status == "aborted" and self.attempts > 0)
            or (self.status == "rejected" and self.receipt_mismatch)
        )

    @property
    def received_on(self) -> str:
        """The day the registry holder received it (ISO; "" when unknown)."""
        if self.handed_over:
            return self.confirmed_on or ""
        return (self.received_at or "")[:10]


@dataclass
class DeliveryLedgerView:
    """All ledger entries; build with :func:`project_ledger` or :func:`load_ledger`."""

    entries: dict[str, LedgerEntry] = field(default_factory=dict)  # by idempotency key

    def apply(self, record: RecordedEvent) -> None:
        """Fold one event into the view (events of other kinds are ignored).

        A payload without the fields its type must have (a damaged or foreign
        row) is an :class:`EventStoreError` naming the row, not a bare
        ``KeyError``: the ledger decides what counts as delivered.
        """
        if not isinstance(record.payload, Mapping):
            raise EventStoreError(f"{record.place}: {record.event_type}: payload is no JSON object")
        _check_known_shape(record)
        try:
            self._apply(record)
        except KeyError as missing:
            raise EventStoreError(
                f"{record.place}: {record.event_type}: the payload has no field {missing}"
            ) from None
        except (TypeError, ValueError, AttributeError):
            # The message may quote the value; say which event, not what it held.
            raise EventStoreError(
                f"{record.place}: {record.event_type}: a field of the payload has the wrong type"
            ) from None

    def _apply(self, record: RecordedEvent) -> None:
        p = record.payload
        kind = record.event_type
        if kind == "deliver.DeliveryStaged":
            self.entries[p["idempotency_key"]] = LedgerEntry(
                registration=p["registration"],
                period=p["period"],
                version=int(p["version"]),
                idempotency_key=p["idempotency_key"],
                channel=p.get("channel", ""),
                format=p.get("format", ""),
                record_counts=dict(p.get("record_counts", {})),
                excluded_optouts=int(p.get("excluded_optouts", 0)),
                content_sha256=p.get("content_sha256", ""),
                config_sha256=p.get("config_sha256", ""),
                supersedes=p.get("supersedes"),
                kind=p.get("kind", "delivery"),
                validation_report=p.get("validation_report"),
                staged_at=record.occurred_at.isoformat(),
                accounting=_accounting(p.get("accounting")),
                input_path=str(p.get("input_path") or ""),
                outbox=str(p.get("outbox") or ""),
                input_withheld=p.get("input_withheld") is True,
                outbox_withheld=p.get("outbox_withheld") is True,
            )
            return
        entry = self.entries.get(p.get("idempotency_key", ""))
        if entry is None and kind == "deliver.DeliveryVersionTaken":
            # Held by the receiver, never staged by this log (a log restored from an
            # older backup, decision 0460): known from here on, content unknown.
            entry = LedgerEntry(
                registration=p["registration"],
                period=p["period"],
                version=int(p["version"]),
                idempotency_key=p["idempotency_key"],
                channel="",
            )
        if entry is None:
            return
        if kind == "deliver.DeliveryReceipted":
            self.entries[entry.idempotency_key] = replace(
                entry,
                status="receipted",
                receipt_id=p["receipt_id"],
                receiver=p["receiver"],
                received_at=p["received_at"],
                handed_over=_by_outbox(p),
            )
        elif kind == "deliver.HandOffAbandoned" and entry.awaiting_upload:
            self.entries[entry.idempotency_key] = replace(
                entry,
                status="abandoned",
                abandoned_on=run_day(record.occurred_at).isoformat(),
                last_error=str(p.get("reason") or ""),
            )
        elif (
            kind == "deliver.HandOffConfirmed" and entry.handed_over and entry.status == "receipted"
        ):
            self.entries[entry.idempotency_key] = replace(
                entry, confirmed_on=date.fromisoformat(str(p["received_on"])).isoformat()
            )
        elif kind == "deliver.DeliveryVersionTaken":
            # Receipted at the receiver with content this log never had. Its counts are
            # unknown too: the staged ones are the run's, which re-stages them as the
            # next version (shown twice otherwise; decision 0380).
            self.entries[entry.idempotency_key] = replace(
                entry,
                status="receipted",
                content_sha256="",
                record_counts={},
                excluded_optouts=0,
                accounting={},
                taken=True,
                receipt_id=p["receipt_id"],
                receiver=p["receiver"],
                received_at=p["received_at"],
                # What the receiver said it is (decision 0456): a taken retraction leaves
                # the period owed. Unsaid (older events): what the log knew, a delivery.
                kind=p["kind"] if p.get("kind") in {"delivery", "retraction"} else entry.kind,
                last_error="receiver holds this version with other content (earlier run)",
                handed_over=_by_outbox(p),
            )
        elif kind == "deliver.DeliveryAttemptFailed" and entry.status != "receipted":
            self.entries[entry.idempotency_key] = replace(
                entry,
                status="failed" if p.get("retryable") else "rejected",
                attempts=entry.attempts + 1,
                last_error=p.get("reason"),
                # Sticky: once a receipt did not match, the holder may hold the version.
                receipt_mismatch=entry.receipt_mismatch or p.get("receipt_mismatch") is True,
            )
        elif kind == "deliver.DeliveryAborted" and entry.status != "receipted":
            self.entries[entry.idempotency_key] = replace(
                entry, status="aborted", last_error=p.get("reason")
            )

    def versions(self, registration: str, period: str) -> list[LedgerEntry]:
        """Every version of one period, oldest first."""
        found = [
            e
            for e in self.entries.values()
            if e.registration == registration and e.period == period
        ]
        return sorted(found, key=lambda e: e.version)

    def current(self, registration: str, period: str) -> LedgerEntry | None:
        """The latest version of the period (receipted or not)."""
        versions = self.versions(registration, period)
        return versions[-1] if versions else None

    def unreceipted(self) -> list[LedgerEntry]:
        """Versions staged but never receipted (to retry), oldest first."""
        return sorted(
            (e for e in self.entries.values() if e.status in {"staged", "failed"}),
            key=lambda e: (e.registration, e.period, e.version),
        )

    def delivered_periods(self, registration: str) -> frozenset[str]:
        """Labels of periods whose latest receipted version is a delivery (for the calendar).

        Why the latest: after a receipted retraction the registry holder holds
        nothing of the period, so it is owed again (not delivered) until a
        later delivery is receipted, whatever receipts older versions have.
        A version an outbox receipted counts once its upload is confirmed (0794);
        one taken by other content never does (decision 0841).
        """
        latest = self._latest_receipted(registration)
        return frozenset(period for period, e in latest.items() if e.delivered)

    def last_receipted_on(self, registration: str) -> date | None:
        """Day of the latest receipted delivery the registry holder still holds (decision 0790).

        Why not any receipted delivery: one a receipted retraction withdrew
        (directly, or a later version of its period was withdrawn) leaves the
        holder with nothing of the period, so it must not reset the yearly
        check. A delivery counts when no receipted retraction of a later
        version of its period followed it; a retraction is never one.
        """
        days = [
            date.fromisoformat(e.received_on)
            for e in self._standing_deliveries(registration)
            if e.received_on
        ]
        return max(days, default=None)

    def last_retracted_on(self, registration: str) -> date | None:
        """Day of the latest receipted retraction still standing (its period holds nothing).

        Why: the yearly check says "last delivery retracted on ..." when a
        withdrawal, not silence, is why no delivery counts (decision 0790).
        """
        days = [
            date.fromisoformat(e.received_on)
            for e in self._latest_receipted(registration).values()
            if e.kind == "retraction" and e.received_on
        ]
        return max(days, default=None)

    def _latest_receipted(self, registration: str) -> dict[str, LedgerEntry]:
        """Per period of ``registration``, its version of the highest number the holder has.

        Receipted by the registry holder, or handed over by an outbox and confirmed (0794);
        also one taken by other content, which replaced the ones before it (0841).
        """
        latest: dict[str, LedgerEntry] = {}
        for e in sorted(self.entries.values(), key=lambda e: e.version):
            if e.registration == registration and e.at_holder:
                latest[e.period] = e
        return latest

    def _standing_deliveries(self, registration: str) -> list[LedgerEntry]:
        """Receipted deliveries of ``registration`` no receipted retraction withdrew since.

        A version taken by other content is none (0841); a taken retraction withdraws.
        """
        withdrawn_up_to: dict[str, int] = {}
        for e in self.entries.values():
            if (e.registration, e.at_holder, e.kind) == (registration, True, "retraction"):
                withdrawn_up_to[e.period] = max(withdrawn_up_to.get(e.period, 0), e.version)
        return [
            e
            for e in self.entries.values()
            if e.registration == registration
            and e.delivered
            and e.version > withdrawn_up_to.get(e.period, 0)
        ]

    def rows(self) -> list[LedgerEntry]:
        """Entries sorted by registration, period and version."""
        return sorted(self.entries.values(), key=lambda e: (e.registration, e.period, e.version))


def _by_outbox(payload: Mapping[str, Any]) -> bool:
    """Whether a receipt is an outbox's own (the files placed for a manual upload; 0794)."""
    return payload.get("channel") == "outbox" or str(payload.get("receiver", "")).startswith(
        "outbox:"
    )


def _check_known_shape(record: RecordedEvent) -> None:
    """Refuse a payload of a newer schema version than this code's class of its type.

    Why: the ledger folds payloads as stored (no decoding, for speed), so a
    worker not yet upgraded would read a newer release's shape as its own
    and could count a version as receipted that is not. Older versions are
    folded as always (their fields are read with defaults).
    """
    cls = resolve(record.event_type)
    if cls is not None and record.schema_version > cls.schema_version:
        raise EventStoreError(
            f"{record.place}: {record.event_type}: stored schema version "
            f"{record.schema_version} is newer than this code's {cls.schema_version}; "
            "upgrade aanlevering before reading this log"
        )


def project_ledger(records: Iterable[RecordedEvent]) -> DeliveryLedgerView:
    """Fold events (in global order) into the ledger."""
    view = DeliveryLedgerView()
    for record in records:
        if record.event_type.startswith("deliver."):
            view.apply(record)
    return view


#: The event types the ledger folds (every other ``deliver.`` type is ignored by ``apply``).
LEDGER_EVENT_TYPES = frozenset(
    {
        "deliver.DeliveryStaged",
        "deliver.DeliveryReceipted",
        "deliver.DeliveryVersionTaken",
        "deliver.DeliveryAttemptFailed",
        "deliver.DeliveryAborted",
        "deliver.HandOffConfirmed",
        "deliver.HandOffAbandoned",
    }
)


def load_ledger(store: EventStore) -> DeliveryLedgerView:
    """Project the ledger from every delivery event (read by type, not the whole log)."""
    return project_ledger(store.read_types(LEDGER_EVENT_TYPES))


def load_period_ledger(store: EventStore, registration: str, period: str) -> DeliveryLedgerView:
    """The ledger of one registration and period, from that period's stream only.

    Why: a run asks about its own period (which version next, is it
    receipted); every delivery fact of a period is in
    ``delivery-<registration>-<period>``, so one indexed stream read answers
    it whatever the size of the log. Same entries as :func:`load_ledger`
    gives for the period (pinned by a test).
    """
    view = project_ledger(store.read_stream(delivery_stream(registration, period)))
    view.entries = {
        key: entry
        for key, entry in view.entries.items()
        if entry.registration == registration and entry.period == period
    }
    return view


def load_registration_ledger(store: EventStore, registration: str) -> DeliveryLedgerView:
    """The ledger of every period of one registration, from its delivery streams only.

    Why: a run looks its records up in the registration's other periods
    (decision 0465); reading every registration's delivery facts for that
    made the run's cost grow with the whole log (decision 0497). The streams
    ``delivery-<registration>-*`` are read by one prefix range; a longer
    registration id sharing the prefix (``x`` and ``x-y``) is filtered out
    by the entries' own registration. Same entries as :func:`load_ledger`
    gives for the registration (pinned by a test).
    """
    prefix = delivery_stream(registration, "")
    view = project_ledger(store.read_stream_prefix(prefix))
    view.entries = {
        key: entry for key, entry in view.entries.items() if entry.registration == registration
    }
    return view


def _accounting(raw: Any) -> dict[str, Any]:
    """The staged event's accounting as a plain summary (see deliver/accounting.py)."""
    if not isinstance(raw, dict):
        return {}
    failed = raw.get("failed") or ()
    return {
        "records_read": int(raw.get("records_read", 0)),
        "excluded_optout": int(raw.get("excluded_optout", 0)),
        "patients": int(raw.get("patients", 0)),
        "failed": {
            str(item["type"]): {"patients": int(item["patients"]), "reasons": item["reasons"]}
            for item in failed
        },
        "without_pseudonym": int(raw.get("without_pseudonym", 0)),
        "dropped": int(raw.get("dropped", 0)),
        "delivered": int(raw.get("delivered", 0)),
        "records_in_source": int(raw.get("records_read", 0))
        + int(raw.get("outside_before", 0))
        + int(raw.get("outside_after", 0))
        + int(raw.get("orphans", 0))
        + sum(int(v) for v in (raw.get("duplicates") or {}).values())
        + sum(int(v) for v in (raw.get("entered_in_error") or {}).values()),
        "outside_before": int(raw.get("outside_before", 0)),
        "outside_after": int(raw.get("outside_after", 0)),
        "orphans": int(raw.get("orphans", 0)),
        "moved_from": {str(k): int(v) for k, v in sorted((raw.get("moved_from") or {}).items())},
        "not_followable": {
            str(k): int(v) for k, v in sorted((raw.get("not_followable") or {}).items())
        },
        "unchecked_periods": sorted(str(p) for p in raw.get("unchecked_periods") or ()),
        "other_patient": {
            str(k): int(v) for k, v in sorted((raw.get("other_patient") or {}).items())
        },
        "duplicates": {str(k): int(v) for k, v in sorted((raw.get("duplicates") or {}).items())},
        "entered_in_error": {
            str(k): int(v) for k, v in sorted((raw.get("entered_in_error") or {}).items())
        },
        "blocked": int(raw.get("blocked", 0)),
        "unreceipted": int(raw.get("unreceipted", 0)),
        "refused": int(raw.get("refused", 0)),
    }


def abandon_hint(registration: str, period: str, version: int) -> str:
    """What to run when an unconfirmed hand-over will not be uploaded (decision 0843).

    Why: a registration switched from the outbox to HTTPS (or whose outbox was
    removed) stopped at ``already-handed-over`` on every rerun, with only
    "upload it, then confirm-upload" to go by.
    """
    return (
        "If it will not be uploaded (e.g. the registration now delivers over https), give it "
        f"up with `aanlevering abandon-handover --registration {registration} --period "
        f"{period} --version {version} --reason ...`; the next run then sends the period as "
        f"v{version + 1}"
    )


def abandoned_retraction_advice(registration: str, period: str, withdrawn: str | None) -> str:
    """What an abandoned retraction means and what to do (decisions 0884, 0900).

    Why: a retraction placed in an outbox and given up withdrew nothing; the
    delivery's advice ("the next run delivers the period as vN+1") would send
    the data the hospital meant to withdraw again. One text for the command's
    outcome, the hospital report, ``status`` and the Deliveries page.
    """
    held = withdrawn or "the version before it"
    return (
        f"the retraction was not sent and withdraws nothing; {held} "
        "is still at the registry holder. To withdraw it, `aanlevering retract --registration "
        f"{registration} --period {period} --reason ...` again; do not run the period. If the "
        "retraction's files were uploaded after all, the registry holder may have withdrawn it "
        "already"
    )
