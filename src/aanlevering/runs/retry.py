"""Resend deliveries that were staged but never receipted (receiver or network was down).

A rerun of the period through :func:`aanlevering.pipeline.run.run_delivery`
rebuilds the same content, hence the same idempotency key, so the receiver
dedupes it; if the EHR data changed meanwhile it becomes a new version that
supersedes the old one. Either way there is one code path. A period whose
latest version is an unreceipted retraction gets that retraction again,
never its data (decision 0590).

The rerun reads the extract the failed run read and delivers into its outbox,
as recorded with DeliveryStaged, not the registration's default input: a
one-off ``--input`` export is retried from that export, and a retry whose
export is gone fails naming it instead of sending whatever the default folder
holds now (decision 0665). Versions staged before 0665 recorded neither and
are retried from the registration's input setting; without one they fail
naming it, never reading the demo data (decision 0705).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from aanlevering.deliver.outbox_place import recorded_outbox
from aanlevering.errors import AanleveringError, ConfigError
from aanlevering.periods import Period, run_day
from aanlevering.runs.inputs import input_path_for, outbox_for
from aanlevering.shown_names import shown_text

if TYPE_CHECKING:
    from pathlib import Path

    from aanlevering.catalogue.model import RegistrationConfig
    from aanlevering.deliver.ledger import LedgerEntry
    from aanlevering.pipeline.run import RunResult
    from aanlevering.runs.credentials import CredentialsSource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryOutcome:
    """What became of one unreceipted delivery (no patient data).

    ``status`` is about ``idempotency_key``, the version retried: ``delivered``
    only when that very version was receipted. ``new-version``: it was not sent
    again, the period's current content went out as another version,
    ``delivered_key`` (decision 0750).
    """

    idempotency_key: str
    #: delivered | already-delivered | new-version | retracted | failed | no-obligation
    status: str
    detail: str = ""
    #: The version the registry holder receipted in this retry ("" when none was).
    delivered_key: str = ""


def retry_unreceipted(
    today: date | None = None, credentials: CredentialsSource | None = None
) -> list[RetryOutcome]:
    """Rerun each period whose latest delivery has no receipt; a failure stops no other.

    ``credentials``: the scheduler's source (Airflow Connections); the environment otherwise.
    """
    from aanlevering.catalogue.loader import load_registrations, pick_registration
    from aanlevering.deliver.ledger import load_ledger
    from aanlevering.errors import NoObligation
    from aanlevering.events.factory import open_event_store
    from aanlevering.pipeline.run import RunRequest, run_delivery
    from aanlevering.retract import resend_retraction
    from aanlevering.runs.ports import open_ports
    from aanlevering.settings import load_settings

    today = today or run_day()
    settings = load_settings()
    registrations, problems = load_registrations(settings.catalogue_dir)
    outcomes: list[RetryOutcome] = []
    with open_event_store(settings.event_store_url) as store:
        ledger = load_ledger(store)
        pending = {(e.registration, e.period): e for e in ledger.unreceipted()}
        for (registration, label), entry in sorted(pending.items()):
            current = ledger.current(registration, label)
            if current is not None and current.status == "receipted":
                continue
            try:
                # Inside the try: an entry whose registration left the catalogue (or whose
                # config no longer loads) fails on its own and stops no other retry.
                config = pick_registration(
                    settings.catalogue_dir, registrations, problems, registration
                )
                period = Period.parse(label)
                with open_ports(settings, store, credentials) as ports:
                    if current is not None and current.kind == "retraction":
                        # The retraction goes again, never the data it withdraws (0590).
                        receipt = resend_retraction(config, settings, period, ports, current)
                        outcomes.append(
                            RetryOutcome(
                                entry.idempotency_key,
                                "retracted",
                                receipt.receipt_id,
                                current.idempotency_key,
                            )
                        )
                        continue
                    source, outbox = _inputs_of(current or entry, config)
                    request = RunRequest(
                        registration_id=registration,
                        input_path=source,
                        period=period,
                        today=today,
                        outbox=outbox,
                        allow_open_period=period.end > today,
                    )
                    result = run_delivery(config, settings, request, ports)
            except NoObligation as refusal:
                detail = shown_text(str(refusal))
                outcomes.append(RetryOutcome(entry.idempotency_key, "no-obligation", detail))
                continue
            except AanleveringError as error:
                # The detail fails the Airflow task: an input name or URL as 0730/0731 show it
                # (a version staged before 0730 recorded its input path as it was).
                detail = shown_text(str(error))
                log.warning("retry of %s failed: %s", entry.idempotency_key, detail)
                outcomes.append(RetryOutcome(entry.idempotency_key, "failed", detail))
                continue
            outcomes.append(_outcome_of(entry, result))
    return outcomes


def _outcome_of(entry: LedgerEntry, result: RunResult) -> RetryOutcome:
    """The retried version's outcome: "delivered" only when that version was receipted.

    Why: a rerun whose export changed since the failed run builds other content,
    a new version; the outcome named the old version "delivered" with the new
    key as its detail, though the old one never reached the registry holder
    (decision 0750).
    """
    if result.idempotency_key == entry.idempotency_key:
        return RetryOutcome(
            entry.idempotency_key, result.status, result.idempotency_key, result.idempotency_key
        )
    return RetryOutcome(
        entry.idempotency_key,
        "new-version",
        f"v{entry.version} ({entry.idempotency_key}) was not delivered: the period's input "
        f"holds other content now, {result.status} as v{result.version} "
        f"({result.idempotency_key})",
        result.idempotency_key,
    )


def _inputs_of(entry: LedgerEntry, config: RegistrationConfig) -> tuple[Path, Path | None]:
    """The extract and outbox the unreceipted version was built from (decision 0665).

    Why: rerunning the registration's default input would send whatever export
    it holds now (another one, a later one) in place of the one the hospital
    delivered; an export that is gone is refused by name, never replaced.
    """
    from pathlib import Path

    if not entry.input_path:  # staged before 0665: only the setting is known (none: 0705)
        return input_path_for(config), outbox_for(config)
    if entry.input_withheld:  # the name may name a patient: not in the log (decision 0730)
        raise ConfigError(
            f"{entry.idempotency_key} was built from {entry.input_path}, an input whose name "
            "was withheld from the event log as it may name a patient, so the retry cannot "
            "find it; the retry does not send another export in its place. Deliver the period "
            f"again with `aanlevering run --registration {entry.registration} --period "
            f"{entry.period} --input <export>`"
        )
    source = Path(entry.input_path)
    if not source.exists():
        raise ConfigError(
            f"{entry.idempotency_key} was built from {source}, which no longer exists; "
            "the retry does not send another export in its place. Put that export back, "
            f"or deliver the period again with `aanlevering run --registration "
            f"{entry.registration} --period {entry.period} --input <export>`"
        )
    outbox = recorded_outbox(  # where it went, its name perhaps withheld (0678, 0903)
        entry.outbox,
        entry.outbox_withheld,
        registration=entry.registration,
        key=entry.idempotency_key,
    )
    return source, outbox
