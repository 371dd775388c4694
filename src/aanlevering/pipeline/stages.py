"""The one declaration of a delivery run's stages, in order: :data:`STAGES`.

Why one list: the CLI (:func:`aanlevering.pipeline.run.run_delivery`, every
stage in one process), the Airflow DAG (one task per stage, each in its own
process) and the benchmark all iterate this tuple, so they run the same code
in the same order with the same staging and clean-up rules. Each stage is a
function of a :class:`RunContext` (what the run is and the adapters it talks
to) and a :class:`~aanlevering.pipeline.state.RunState` (what earlier stages
left), and returns a small summary (counts and references, never data or
identifiers) that a scheduler may pass on as XCom.

Light at import time (the DAG files import it to name their tasks): every
heavy module is imported inside the stage that needs it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aanlevering.deliver.accounting import Accounting, TypeFailures, check_thresholds
from aanlevering.errors import AanleveringError, DeliveryError, NoObligation, ValidationBlocked
from aanlevering.periods import Period, run_day
from aanlevering.settings import number_setting
from aanlevering.shown_names import shown_path

if TYPE_CHECKING:
    from aanlevering.catalogue.model import RegistrationConfig
    from aanlevering.deliver.held import Holdings
    from aanlevering.events.model import DomainEvent
    from aanlevering.output.not_names import NotNameRecords
    from aanlevering.pipeline.lock import LockScope
    from aanlevering.pipeline.run import Ports
    from aanlevering.pipeline.state import RunState
    from aanlevering.settings import Settings

log = logging.getLogger(__name__)

Summary = dict[str, Any]

#: Versions the receiver may turn out to hold with unknown content before a run gives up.
MAX_VERSIONS_TAKEN = 3


class AlreadyDelivered(Exception):
    """This period's content was delivered and receipted before: nothing left to do.

    ``summary`` says which version and receipt (counts and keys, no data).
    """

    def __init__(self, message: str, summary: Summary) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass(frozen=True)
class RunContext:
    """What one run is (from its state) and the adapters it talks to."""

    config: RegistrationConfig
    settings: Settings
    ports: Ports
    run_id: str
    period: Period
    today: date
    input_path: Path
    outbox: Path | None
    allow_open_period: bool
    one_process: bool = False  # every stage runs in this process (the CLI path)

    @classmethod
    def from_values(
        cls,
        config: RegistrationConfig,
        settings: Settings,
        ports: Ports,
        values: dict[str, Any],
    ) -> RunContext:
        """The context of a run whose state holds ``values`` (see :func:`initial_values`)."""
        return cls(
            config=config,
            settings=settings,
            ports=ports,
            run_id=str(values["run_id"]),
            period=Period.parse(values["period"]),
            today=date.fromisoformat(values["today"]),
            input_path=Path(values["input_path"]),
            outbox=Path(values["outbox"]) if values.get("outbox") else None,
            allow_open_period=bool(values["allow_open_period"]),
            one_process=bool(values.get("one_process", False)),
        )

    @property
    def lock_scope(self) -> LockScope:
        """The provider, registration and period this run holds while it runs."""
        from aanlevering.pipeline.lock import LockScope

        return LockScope(self.settings.provider_id, self.config.id, self.period.label)

    def summary(self, **extra: Any) -> Summary:
        """The common part of every stage's summary."""
        return {"registration": self.config.id, "period": self.period.label, **extra}


def initial_values(
    *,
    registration_id: str,
    period: Period,
    run_id: str,
    today: date,
    input_path: Path,
    outbox: Path | None,
    allow_open_period: bool,
    one_process: bool = False,
) -> dict[str, Any]:
    """The state a run starts with: what it is, no data."""
    return {
        "registration": registration_id,
        "period": period.label,
        "run_id": run_id,
        "today": today.isoformat(),
        "input_path": str(input_path),
        "outbox": str(outbox) if outbox else None,
        "allow_open_period": allow_open_period,
        "one_process": one_process,
        "status": "started",
    }


def _actor() -> str:
    from aanlevering.actor import current_actor

    return current_actor()


def lock_wait_seconds() -> float:
    """How long a second run of a period waits for the first (``AANLEVERING_RUN_LOCK_WAIT``)."""
    return number_setting("AANLEVERING_RUN_LOCK_WAIT", 30, minimum=0)


def _release(ctx: RunContext, outcome: str) -> None:
    from aanlevering.pipeline.lock import release

    release(ctx.ports.store, ctx.lock_scope, ctx.run_id, outcome)


# -- the stages --------------------------------------------------------------------------


def check_obligation(ctx: RunContext, state: RunState) -> Summary:
    """Refuse a period that is not owed (NoObligation), then take the period's run lock."""
    from aanlevering.pipeline.lock import acquire, lease_length
    from aanlevering.pipeline.operations import check_obligation as check

    try:
        check(
            ctx.config,
            ctx.ports.store,
            ctx.period,
            ctx.today,
            allow_open_period=ctx.allow_open_period,
        )
        acquire(
            ctx.ports.store,
            ctx.lock_scope,
            ctx.run_id,
            lease=lease_length(),
            wait_seconds=lock_wait_seconds(),
            actor=_actor(),
            one_process=ctx.one_process,
        )
    except NoObligation:
        # The register may have stopped a version sent without a receipt: say so (0791), judged
        # on the days this run was judged on (its own and the real day, decision 0960).
        from aanlevering.pipeline.stopped_versions import stop_sent_versions

        state.remove()  # not owed: this run leaves nothing
        stop_sent_versions(ctx.config, ctx.settings, ctx.ports.store, ctx.period, ctx.today)
        raise
    except AanleveringError:
        state.remove()  # not owed, or another run has the period: this run leaves nothing
        raise
    state.update(status="obligation-checked")
    log.info(  # the input as decision 0730 shows it
        "run %s: %s %s from %s",
        ctx.run_id,
        ctx.config.id,
        ctx.period.label,
        shown_path(ctx.input_path),
    )
    return ctx.summary(run_id=ctx.run_id)


def extract(ctx: RunContext, state: RunState) -> Summary:
    """Read the EHR extract for the period."""
    from aanlevering.extract.api import extract as extract_stage
    from aanlevering.extract.options import ExtractOptions
    from aanlevering.pipeline.dead_runs_work import forget_dead_runs_work
    from aanlevering.pipeline.state import WORK
    from aanlevering.temp_folders import sweep_dead_owners

    # A run started by Airflow has no CLI to sweep a killed command's folders (1013), and
    # a killed one-process run left its kept source resources in its work folder (1017).
    sweep_dead_owners()
    forget_dead_runs_work(ctx.ports.store, ctx.settings.staging_dir, ctx.settings.provider_id)
    # Kept FHIR resource texts wait in the run's work folder, removed with the run (0310).
    options = ExtractOptions(work_dir=state.path / WORK)
    # A period that has not closed is delivered up to the run's day (decision 0393).
    covered = ctx.period.up_to(ctx.today)
    if covered != ctx.period:
        log.info("period %s is open: records dated after %s are left out", ctx.period, ctx.today)
    extracted = extract_stage(ctx.config, ctx.input_path, covered, options)
    if covered != ctx.period:  # later stages see the period itself, as a run folder keeps it
        extracted = replace(extracted, period=ctx.period)
    counts = {name: d.num_rows for name, d in extracted.datasets.items()}
    if not sum(counts.values()) and ctx.config.validation.empty_period != "deliver":
        from aanlevering.errors import NothingToDeliver

        so_far = f" up to {ctx.today} (it is open)" if covered != ctx.period else ""
        _release(ctx, "nothing-to-deliver")
        state.remove()
        # Where every record of the source went, not only those outside the period (0754).
        placed = _placed({"placement": _placement(extracted)})
        raise NothingToDeliver(
            f"nothing to deliver for {ctx.period.label}: {ctx.config.id}'s input "
            f"{ctx.input_path} has no records in the period{so_far} "
            f"({placed.describe_source()}); set validation.empty_period: "
            "deliver to send an explicit nil report"
        )
    state.save_extract("extract", extracted)
    state.update(status="extracted", extracted=counts, placement=_placement(extracted))
    return ctx.summary(records=counts)


def _placement(extracted: Any) -> dict[str, Any]:
    """Where the extract's records not in the period went: before, after, orphans (0466),
    and per dataset further copies and records entered in error (0692)."""
    orphans = sum(len(d.orphan_row_refs) for d in extracted.datasets.values())
    before = int(extracted.rows_before_period)
    return {
        "outside_before": before,
        "outside_after": int(extracted.rows_outside_period) - before,
        "orphans": orphans,
        "duplicates": dict(extracted.duplicates),
        "entered_in_error": dict(extracted.entered_in_error),
    }


def apply_optouts(ctx: RunContext, state: RunState) -> Summary:
    """Drop opted-out patients and decide the version; AlreadyDelivered when receipted before.

    A receipted version whose contents were never recorded (the run died
    between receipt and contents) gets them recorded here: the next run repairs it.
    """
    from aanlevering.deliver.ledger import abandon_hint
    from aanlevering.optout.deliveries import record_delivery_contents
    from aanlevering.pipeline.operations import (
        apply_optouts_to_extract,
        delivered_patient_refs,
        identity_columns,
        plan_version,
    )

    extracted, _ = state.load_extract("extract")
    store = ctx.ports.store
    columns = identity_columns(ctx.config, extracted.source_kind)
    filtered, excluded, refs = apply_optouts_to_extract(
        extracted, ctx.settings, store, ctx.today, ctx.run_id, columns=columns
    )
    holdings = _check_receiver(ctx, state)
    plan = plan_version(
        ctx.config, store, ctx.period, filtered, refs, provider=ctx.settings.provider_id
    )
    if plan.already_receipted and _holder_lost(holdings, plan.version):
        log.warning(
            "%s %s: the log records v%d as receipted, but the registry holder does not hold it "
            "(e.g. restored from an older backup): it is sent again under its key",
            ctx.config.id,
            ctx.period.label,
            plan.version,
        )
        plan = replace(plan, same=None)  # resent as a version not yet receipted (0494)
    if plan.same is None:  # a new version replaces what the receiver holds (decision 0461)
        from aanlevering.pipeline.receiver_check import held_supersedes

        supersedes = held_supersedes(
            holdings, ctx.settings.provider_id, plan.version, plan.supersedes
        )
        plan = replace(plan, supersedes=supersedes)
    counts = {name: d.num_rows for name, d in filtered.datasets.items()}
    config_changed = plan.config_changed(ctx.config.config_sha256)
    common = {
        "records": counts,
        "excluded_optouts": excluded,
        "version": plan.version,
        "idempotency_key": plan.idempotency_key,
        "config_changed": config_changed,
    }
    drift = (
        f"; note: the registration config ({ctx.config.source_file or ctx.config.id}) or its "
        "dictionary changed since the period's latest version"
        if config_changed
        else ""
    )
    if drift:
        log.warning("%s %s%s", ctx.config.id, ctx.period.label, drift)
    if plan.already_receipted:
        assert plan.same is not None
        record_delivery_contents(
            store, ctx.config.id, ctx.period.label, plan.version, delivered_patient_refs(refs)
        )
        # An outbox's unconfirmed hand-over is not delivered: the rerun says so (0820).
        unconfirmed = plan.same.awaiting_upload
        _release(ctx, "already-handed-over" if unconfirmed else "already-delivered")
        state.remove()
        raise AlreadyDelivered(
            (
                f"{plan.idempotency_key} was placed in {plan.same.receiver} before "
                f"(receipt {plan.same.receipt_id}) and is not delivered until the registry "
                "holder has it: nothing placed again; upload it, then `aanlevering "
                f"confirm-upload --registration {ctx.config.id} --period {ctx.period.label} "
                f"--version {plan.version}` (decision 0794). "
                + abandon_hint(ctx.config.id, ctx.period.label, plan.version)
                if unconfirmed
                else f"{plan.idempotency_key} was delivered and receipted before "
                f"(receipt {plan.same.receipt_id}); nothing to do"
            )
            + (
                ""
                if holdings is not None
                else " (from this hospital's event log only: the receiver could not be asked "
                "which versions it holds, as its channel or the receiver offers no listing)"
            )
            + (
                f"{drift}, but the delivered data did not: the registry holder keeps the "
                "version it has (retract the period to deliver it again under this config)"
                if drift
                else ""
            ),
            # What the registry holder receipted, not this extract's counts: records of
            # patients without any pseudonym were dropped after these (decision 0592).
            ctx.summary(
                receipt_id=plan.same.receipt_id,
                status="already-handed-over" if unconfirmed else "already-delivered",
                **{
                    **common,
                    "records": dict(plan.same.record_counts),
                    "excluded_optouts": plan.same.excluded_optouts,
                    # In an outbox, nothing delivered yet (0820).
                    "accounting": plan.same.shown_accounting().as_summary(),
                },
            ),
        )
    state.save_extract("filtered", filtered, refs)
    state.update(
        status="optouts-applied",
        supersedes=plan.supersedes,
        fingerprint=plan.fingerprint,
        **common,
    )
    return ctx.summary(records=counts, excluded_optouts=excluded, version=plan.version)


def _holder_lost(holdings: Holdings | None, version: int) -> bool:
    """Whether the registry holder's own ledger says it does not hold ``version`` (0494).

    Only the HTTPS listing is the holder's ledger: an outbox is emptied after a
    manual upload, and an SFTP inbox may be cleared after pickup, so there a
    missing version keeps the log's answer (decision 0460).
    """
    return (
        holdings is not None
        and holdings.channel == "https"
        and all(held.version != version for held in holdings.versions)
    )


def _check_receiver(ctx: RunContext, state: RunState) -> Holdings | None:
    """Ask the receiver once which versions it holds; stop when it holds one the log does not.

    Before "already delivered" and before a version number is picked
    (decision 0460). Returns what the receiver holds, or None for a channel
    that cannot be asked (e.g. ttp-local).
    """
    from aanlevering.deliver.ledger import load_period_ledger
    from aanlevering.pipeline.receiver_check import ReceiverAhead, ask_receiver, check_not_ahead

    registration, period = ctx.config.id, ctx.period.label
    channel = ctx.ports.channel_for(ctx.config, ctx.outbox)
    holdings = ask_receiver(
        channel, ctx.settings.provider_id, registration, period, store=ctx.ports.store
    )
    entries = load_period_ledger(ctx.ports.store, registration, period).versions(
        registration, period
    )
    try:
        check_not_ahead(
            ctx.ports.store,
            holdings,
            entries,
            provider=ctx.settings.provider_id,
            doing="sent",
        )
    except ReceiverAhead:
        _release(ctx, "receiver-ahead")
        state.remove()
        raise
    return holdings


def validate(ctx: RunContext, state: RunState) -> Summary:
    """Validate what will be delivered; a blocked validation ends the run and removes staging."""
    from aanlevering.pipeline.operations import validate_for_delivery

    filtered, _ = state.load_extract("filtered")
    values = state.values()
    report = _report_folder(ctx, values)
    try:
        outcome = validate_for_delivery(
            filtered,
            ctx.config,
            ctx.settings,
            store=ctx.ports.store,
            period=ctx.period,
            version=values["version"],
            excluded=values["excluded_optouts"],
            report_dir=report,
        )
    except ValidationBlocked as blocked:
        log.error("validation blocked the delivery; reports under %s", report)
        # Where the run's records went, in the hospital's report and the error (0753).
        read = sum(int(n) for n in values.get("extracted", {}).values())
        excluded = int(values.get("excluded_optouts", 0))
        stopped = replace(_placed(values), blocked=read - excluded)
        if (report / "hospital-report.json").is_file():
            from aanlevering.validate.hospital_report import add_sections

            add_sections(
                report,
                {
                    "accounting": stopped.as_summary(),
                    "delivery": {"status": "blocked-by-validation", "version": values["version"]},
                },
            )
        _release(ctx, "validation-blocked")
        state.remove()  # new data is needed: nothing of this run is kept
        raise ValidationBlocked(f"{blocked}; records: {stopped.describe()}") from blocked
    reports = {k: str(v) for k, v in outcome.report_paths.items()}
    log.info("validation report: %s", reports.get("html"))
    state.update(
        status="validated",
        validation_reports=reports,
        checks=outcome.checks,
        failed_warnings=outcome.failed_warnings,
    )
    return ctx.summary(
        validation_report=reports.get("html"),
        checks=outcome.checks,
        failed_warnings=outcome.failed_warnings,
    )


def _report_folder(ctx: RunContext, values: dict[str, Any]) -> Path:
    """The folder of the run's version, or one beside it while another run's version owns it.

    A folder whose hospital report says a run staged this very key, which the
    event log does not know (a log restored from an older backup), holds the
    reports of what the registry holder may hold under it: never written over
    (decision 0971).
    """
    from aanlevering.deliver.ledger import load_period_ledger
    from aanlevering.pipeline.operations import report_dir_for
    from aanlevering.pipeline.report_folder import claimed_by_another_run, set_aside

    folder = report_dir_for(ctx.settings, ctx.config, ctx.period, int(values["version"]))
    known = load_period_ledger(ctx.ports.store, ctx.config.id, ctx.period.label).entries
    if claimed_by_another_run(folder, str(values["idempotency_key"]), known):
        aside = set_aside(folder, ctx.run_id)
        log.warning(
            "%s already holds the reports of a run this event log does not know that staged "
            "%s; this run's reports are written to %s until its version is known",
            folder,
            values["idempotency_key"],
            aside,
        )
        return aside
    return folder


def _follow_version(ctx: RunContext, state: RunState, *, receipted: bool = False) -> None:
    """Move the run's reports into the folder of the version it now stages (decision 0971).

    ``receipted``: the registry holder receipted this run's content under the
    version, so its folder is this run's whatever another run left there.
    """
    from aanlevering.pipeline.report_folder import move_reports

    values = state.values()
    reports = values.get("validation_reports") or {}
    if not reports:
        return
    target = (
        _report_folder(ctx, values)
        if not receipted
        else ctx.settings.reports_dir / ctx.config.id / ctx.period.label / f"v{values['version']}"
    )
    moved = move_reports(reports, target)
    if moved != reports:
        log.info("run %s: reports moved to %s, its version's folder", ctx.run_id, target)
        state.update(validation_reports=moved)


def pseudonymise(ctx: RunContext, state: RunState) -> Summary:
    """Pseudonymise at the source and through the TTP; pseudonyms stay in the run state."""
    from aanlevering.pipeline.operations import pseudonymise_extract

    filtered, refs = state.load_extract("filtered")
    _check_still_allowed(ctx, state)  # before the TTP is offered any patient (0640)
    _check_no_new_optouts(ctx, state, refs)
    kept, pseudonyms = pseudonymise_extract(
        ctx.config,
        ctx.settings,
        filtered,
        ttp=ctx.ports.ttp,
        store=ctx.ports.store,
        period=ctx.period,
        run_id=ctx.run_id,
    )
    counts = {name: d.num_rows for name, d in kept.datasets.items()}
    accounting = _account(ctx, state.values(), filtered, counts)
    try:
        check_thresholds(
            accounting,
            max_share=ctx.config.validation.max_unpseudonymised_share,
            registration=ctx.config.id,
            period=ctx.period.label,
        )
    except ValidationBlocked:
        # Nothing of this run is delivered: the records left are counted as blocked (0696).
        left = accounting.records_read - accounting.excluded_optout - accounting.dropped
        _report_failures(ctx, state.values(), filtered, replace(accounting, blocked=left))
        _release(ctx, "validation-blocked")
        state.remove()  # new data is needed: nothing of this run is kept
        raise
    _report_failures(ctx, state.values(), filtered, accounting)
    state.save_extract("pseudonymised", kept)
    state.save_pseudonyms(pseudonyms)
    state.update(
        status="pseudonymised",
        pseudonymised=counts,
        patients=len(pseudonyms),
        accounting=accounting.as_summary(),
    )
    log.info("run %s: %s", ctx.run_id, accounting.describe(built=False))
    return ctx.summary(
        records=counts, patients=len(pseudonyms), accounting=accounting.handed_on(built=False)
    )


def _check_still_allowed(ctx: RunContext, state: RunState) -> None:
    """NoObligation when the register no longer allows delivery (checked as of now); the run ends.

    Like an opt-out that arrived (decision 0640): the lock is released and the
    run's data removed, since nothing of this run may leave the hospital; a
    later decision that allows delivery again needs a new run.
    """
    from aanlevering.pipeline.operations import check_obligation

    try:
        check_obligation(
            ctx.config,
            ctx.ports.store,
            ctx.period,
            ctx.today,
            allow_open_period=ctx.allow_open_period,
        )
    except NoObligation:
        log.error("run %s: the register no longer allows this delivery; nothing sent", ctx.run_id)
        _release(ctx, "no-obligation")
        state.remove()
        raise


def _check_no_new_optouts(ctx: RunContext, state: RunState, refs: dict[str, Any]) -> None:
    """OptOutArrived when a patient of the run opted out since apply_optouts; the run ends.

    Like a blocked validation: the lock is released and the run's data (which
    holds the patient) removed, since only a new run can leave the patient out.
    """
    from aanlevering.errors import OptOutArrived
    from aanlevering.pipeline.operations import check_no_new_optouts

    try:
        check_no_new_optouts(
            ctx.ports.store,
            ctx.settings,
            ctx.config.id,
            ctx.period,
            refs,
            as_of=max(ctx.today, run_day()),
        )
    except OptOutArrived:
        log.error("run %s: a patient opted out during the run; nothing sent", ctx.run_id)
        _release(ctx, "optout-arrived")
        state.remove()
        raise


def _account(
    ctx: RunContext, values: dict[str, Any], filtered: Any, kept_counts: dict[str, int]
) -> Accounting:
    """The run's accounting after pseudonymisation, from the state and the run's event."""
    from aanlevering.pseudonym.events import PseudonymisationCompleted
    from aanlevering.pseudonym.service import pseudonym_stream

    event = None
    for record in ctx.ports.store.read_stream(pseudonym_stream(ctx.config.id, ctx.period.label)):
        candidate = record.to_event()
        if isinstance(candidate, PseudonymisationCompleted) and candidate.run_id == ctx.run_id:
            event = candidate
    filtered_records = sum(d.num_rows for d in filtered.datasets.values())
    failed = (
        tuple(
            TypeFailures(code, count, dict(event.failure_reasons.get(code, {})))
            for code, count in sorted(event.failures_by_type.items())
        )
        if event is not None
        else ()
    )
    return replace(
        _placed(values),
        patients=event.patients if event is not None else 0,
        failed=failed,
        without_pseudonym=event.patients_without_pseudonym if event is not None else 0,
        dropped=filtered_records - sum(kept_counts.values()),
        other_patient={
            name: len(dataset.other_patient_resources)
            for name, dataset in filtered.datasets.items()
            if dataset.other_patient_links
        },
    )


def _placed(values: dict[str, Any]) -> Accounting:
    """The accounting of the run's state before pseudonymisation: placed, read and excluded."""
    placement = values.get("placement") or {}
    return Accounting(
        outside_before=int(placement.get("outside_before", 0)),
        outside_after=int(placement.get("outside_after", 0)),
        orphans=int(placement.get("orphans", 0)),
        duplicates={str(k): int(v) for k, v in (placement.get("duplicates") or {}).items()},
        entered_in_error={
            str(k): int(v) for k, v in (placement.get("entered_in_error") or {}).items()
        },
        records_read=sum(int(n) for n in values.get("extracted", {}).values()),
        excluded_optout=int(values.get("excluded_optouts", 0)),
    )


def _report_failures(
    ctx: RunContext, values: dict[str, Any], filtered: Any, accounting: Accounting
) -> None:
    """The hospital's report gets the accounting and the failing records (no values, no who)."""
    from aanlevering.pseudonym.failure_list import failing_patients
    from aanlevering.validate.hospital_report import add_sections

    hospital = values.get("validation_reports", {}).get("hospital")
    if not hospital:
        return
    listing = []
    if any(f.patients for f in accounting.failed):
        listing = [
            {"types": {t: f"{field}: {reason}" for t, (field, reason) in p.types.items()},
             "rows": list(p.rows)}
            for p in failing_patients(ctx.config, filtered)
        ]  # fmt: skip
    add_sections(
        Path(hospital).parent,
        {"accounting": accounting.as_summary(), "pseudonymisation_failures": listing},
    )


def _place_records(ctx: RunContext, state: RunState, hashed: Any) -> tuple[Any, dict[str, Any]]:
    """This run's record digests, and the periods records moved from; stops a double delivery.

    A record another period's held version carries (its date moved after that
    delivery) would be at the registry holder twice: the run stops like a
    blocked validation (exit 1, lock released, run data removed) and the
    hospital's report names the periods and counts (decision 0465). Returns
    the digests and the accounting fields: ``moved_from``, ``not_followable``
    (records no other period can be checked for, 0495) and
    ``unchecked_periods`` (other periods with no record keys to check, 0496).
    """
    from aanlevering.deliver.ledger import load_registration_ledger
    from aanlevering.deliver.record_digests import (
        held_elsewhere_message,
        place_records,
        record_digests,
        unfollowable_records,
    )

    store = ctx.ports.store
    digests = record_digests(hashed.datasets, ctx.config.dictionary)
    ledger = load_registration_ledger(store, ctx.config.id)
    placement = place_records(store, ledger, ctx.config.id, ctx.period.label, digests)
    if placement.unknown:
        log.warning(
            "%s %s: the held version of %s recorded no record keys (delivered before decision "
            "0465, or taken from the registry holder): records delivered there cannot be "
            "recognised (in the run's accounting as unchecked_periods, decision 0496)",
            ctx.config.id,
            ctx.period.label,
            ", ".join(placement.unknown),
        )
    if placement.held_elsewhere:
        hospital = state.values().get("validation_reports", {}).get("hospital")
        if hospital:
            from aanlevering.validate.hospital_report import add_sections

            held = {
                h.period: {"version": h.version, "records": dict(h.records)}
                for h in placement.held_elsewhere
            }
            stopped = replace(  # nothing of this run is delivered (decision 0696)
                Accounting.from_summary(state.values().get("accounting") or {}),
                blocked=sum(d.num_rows for d in hashed.datasets.values()),
            )
            add_sections(
                Path(hospital).parent,
                {"delivered_in_other_periods": held, "accounting": stopped.as_summary()},
            )
        _release(ctx, "validation-blocked")
        state.remove()  # the other period must be corrected first: nothing of this run is kept
        raise ValidationBlocked(held_elsewhere_message(ctx.config.id, ctx.period.label, placement))
    return digests, {
        "moved_from": dict(placement.moved_from),
        "not_followable": unfollowable_records(hashed.datasets, ctx.config.dictionary),
        "unchecked_periods": placement.unknown,
    }


def build_output(ctx: RunContext, state: RunState) -> Summary:
    """Write the delivery files and manifest into ``out/`` (and record DeliveryStaged)."""
    from aanlevering.pipeline.operations import (
        VersionPlan,
        copy_reports,
        hashed_record_keys,
        stage_delivery,
    )
    from aanlevering.pipeline.state import make_private_dir

    kept, _ = state.load_extract("pseudonymised")
    _follow_version(ctx, state)  # a version taken meanwhile: the reports go with the run (0971)
    # Record keys hashed once: the delivery's keys and the run's record digests (0467).
    kept = hashed_record_keys(ctx.config, ctx.settings, ctx.ports.store, kept)
    pseudonyms = state.load_pseudonyms()
    values = state.values()
    plan = VersionPlan(
        values["version"],
        values["idempotency_key"],
        values["supersedes"],
        values["fingerprint"],
        None,
    )
    digests, placed = _place_records(ctx, state, kept)
    accounting = replace(
        Accounting.from_summary(values.get("accounting") or {}),
        delivered=sum(d.num_rows for d in kept.datasets.values()),
        **placed,
    )
    from aanlevering.deliver.events import record_keys_stream
    from aanlevering.deliver.record_digests import digest_events
    from aanlevering.optout.deliveries import delivery_contents_events
    from aanlevering.optout.events import contents_stream
    from aanlevering.pipeline.operations import delivered_patient_refs

    # With DeliveryStaged, in one transaction: a staged version always has its records'
    # digests (0465) and its patients (0642: a version sent without a receipt may be held
    # all the same), and a run stopped before staging leaves neither behind (0598).
    registration, label, version = ctx.config.id, ctx.period.label, int(values["version"])
    patients = delivered_patient_refs(state.load_patient_refs("filtered"))
    recorded_with: list[tuple[str, Sequence[DomainEvent]]] = [
        (
            record_keys_stream(registration, label, version),
            digest_events(registration, label, version, digests),
        ),
        (
            contents_stream(registration, label, version),
            delivery_contents_events(registration, label, version, patients),
        ),
    ]
    out = state.out
    for stale in [p for p in out.iterdir() if p.is_file()] if out.exists() else []:
        stale.unlink()  # a retried step rewrites its own output
    make_private_dir(out)
    reports = values.get("validation_reports", {})
    if reports:  # the registry holder's copy travels with the data, with the final numbers
        from aanlevering.validate.report import add_accounting

        copy_reports(reports, out)
        add_accounting(out, accounting.as_summary())
    channel = ctx.ports.channel_for(ctx.config, ctx.outbox)
    from aanlevering.output.guard import IdentifiersInFiles

    try:
        staged_delivery = stage_delivery(
            ctx.config,
            ctx.settings,
            store=ctx.ports.store,
            staging=out,
            extracted=kept,
            pseudonyms=pseudonyms,
            plan=plan,
            period=ctx.period,
            channel_name=channel.name,
            validation_report=reports.get("json"),
            excluded=values["excluded_optouts"],
            accounting=accounting,
            keys_hashed=True,
            recorded_with=recorded_with,
            input_path=ctx.input_path,
            outbox=ctx.outbox,
        )
    except IdentifiersInFiles as blocked:  # the hospital's report says where and what to do
        hospital = values.get("validation_reports", {}).get("hospital")
        if hospital:
            from aanlevering.validate.hospital_report import add_sections

            add_sections(Path(hospital).parent, {"output_guard": dict(blocked.section)})
        raise
    manifest = staged_delivery.manifest
    _report_not_names(ctx, state.values(), staged_delivery.not_names)
    counts = dict(manifest.record_counts)
    state.update(status="staged", delivered_records=counts, accounting=accounting.as_summary())
    # Staged is not delivered: until the receipt the records await it (decision 0751).
    staged = accounting.as_version_status("staged")
    _report_delivery(state.values(), staged, "staged", plan.idempotency_key)
    log.info("run %s: %s", ctx.run_id, staged.describe())
    return ctx.summary(
        records=counts, idempotency_key=plan.idempotency_key, accounting=staged.handed_on()
    )


def _report_not_names(
    ctx: RunContext, values: dict[str, Any], cleared: Sequence[NotNameRecords]
) -> None:
    """The run's log line and the hospital's report say what ``not_names`` let through.

    Why: a word the registration lists as not a name clears decisions 0880/0881 for
    it; that must be visible where the hospital looks, never silent (decision 0910).
    Listed words and counts only; not in the summary (XCom), the event log or
    anything the registry holder receives.
    """
    listed = ctx.config.not_names
    if not listed:
        return
    from aanlevering.output.not_names import describe, report_section

    if cleared:
        log.warning("run %s: %s", ctx.run_id, describe(cleared))
    else:
        log.info("run %s: %s", ctx.run_id, describe(cleared))
    hospital = values.get("validation_reports", {}).get("hospital")
    if hospital:
        from aanlevering.validate.hospital_report import add_sections

        add_sections(Path(hospital).parent, {"not_names": report_section(listed, cleared)})


def _report_delivery(
    values: dict[str, Any], accounting: Accounting, status: str, key: str, **facts: Any
) -> None:
    """The hospital's report gets the accounting as the delivery stands, and what to do.

    Why: the report said "delivered N" from the build on, also of a version the
    registry holder then refused or never receipted (decision 0751); it is the
    page an engineer opens after a run. ``status``: staged, delivered, handed-over
    (in an outbox, 0794), refused, not-receipted or aborted. Counts, keys and fixed
    texts only.
    """
    hospital = values.get("validation_reports", {}).get("hospital")
    if not hospital:
        return
    from aanlevering.validate.hospital_report import add_sections

    add_sections(
        Path(hospital).parent,
        {
            "accounting": accounting.as_summary(),
            # The version too: the folder's name is no proof of it (decision 0971).
            "delivery": {
                "status": status,
                "idempotency_key": key,
                "version": values.get("version"),
                **facts,
            },
        },
    )


def deliver(ctx: RunContext, state: RunState) -> Summary:
    """Send through the registration's channel until receipted (obligation re-checked first).

    When the receiver already holds this version with other content (an
    earlier run whose home was wiped), that receipt is never adopted: the
    content becomes the next version, superseding it, and is staged and sent
    again in this run.
    """
    from aanlevering.deliver.manifest import MANIFEST_NAME, Manifest
    from aanlevering.deliver.receipt import VersionTaken
    from aanlevering.deliver.service import send_with_retries
    from aanlevering.pipeline.operations import plan_for_fingerprint

    refs = state.load_patient_refs("filtered")

    def guard() -> None:
        _renew(ctx)  # LeaseLost when another run took the period over: nothing is sent (0477)
        _check_still_allowed(ctx, state)
        _check_no_new_optouts(ctx, state, refs)

    channel = ctx.ports.channel_for(ctx.config, ctx.outbox)
    for _ in range(MAX_VERSIONS_TAKEN):
        manifest = Manifest.from_json((state.out / MANIFEST_NAME).read_text(encoding="utf-8"))
        values = state.values()  # the guard removes the run's state when it stops the run
        try:
            receipt = send_with_retries(channel, state.out, manifest, ctx.ports.store, guard=guard)
            break
        except VersionTaken:
            plan = plan_for_fingerprint(
                ctx.config,
                ctx.ports.store,
                ctx.period,
                state.values()["fingerprint"],
                provider=ctx.settings.provider_id,
            )
            log.warning(
                "the receiver holds %s with content this log does not know (an earlier run, "
                "e.g. before the home was wiped); it is not adopted: this run delivers its "
                "content as version %d, superseding it",
                manifest.idempotency_key,
                plan.version,
            )
            state.update(
                version=plan.version,
                idempotency_key=plan.idempotency_key,
                supersedes=plan.supersedes,
            )
            build_output(ctx, state)
        except AanleveringError as failure:  # refused, not receipted, or stopped (0751)
            _report_not_delivered(ctx, values, manifest.idempotency_key, failure)
            raise
    else:
        raise DeliveryError(
            f"{ctx.config.id} {ctx.period.label}: the receiver holds {MAX_VERSIONS_TAKEN} "
            "versions with content this hospital's log does not know; ask the registry "
            "holder what it holds before delivering again"
        )
    state.update(
        status="receipted",
        receipt_id=receipt.receipt_id,
        receipt=json.loads(receipt.to_json()),
        channel=channel.name,
    )
    return ctx.summary(idempotency_key=manifest.idempotency_key, receipt_id=receipt.receipt_id)


def _report_not_delivered(
    ctx: RunContext, values: dict[str, Any], key: str, failure: Exception
) -> None:
    """Say in the hospital's report that ``key`` was not delivered, and why (decision 0751)."""
    from aanlevering.deliver.ledger import load_period_ledger
    from aanlevering.deliver.receipt import ReceiptMismatch, RejectedDelivery

    entry = load_period_ledger(ctx.ports.store, ctx.config.id, ctx.period.label).entries.get(key)
    if entry is None or entry.status == "receipted":
        return
    accounting = Accounting.from_summary(values.get("accounting") or {})
    shown = accounting.as_version_status(entry.accounting_status)
    registration = ctx.config.id
    if isinstance(failure, ReceiptMismatch) and entry.receipt_mismatch:
        from aanlevering.projections import receipt_mismatch_note

        # Not refused: the holder answered with another receipt and may hold it (0842).
        status, todo = "receipt-mismatch", receipt_mismatch_note(entry)
    elif isinstance(failure, RejectedDelivery):
        status, todo = (
            "refused",
            (
                "the registry holder refused this version (see `aanlevering status --registration "
                f"{registration}`); correct what it names and run the period again"
            ),
        )
    elif entry.status == "aborted" and entry.attempts:  # sent, then stopped (decision 0752)
        from aanlevering.pipeline.stopped_versions import may_be_at_holder

        status, todo = (
            "aborted",
            may_be_at_holder(entry.attempts, key, registration, ctx.period.label),
        )
    elif entry.status == "aborted":
        status, todo = "aborted", "stopped before it was sent; nothing left the hospital"
    else:
        status, todo = (
            "not-receipted",
            ("no receipt yet: the hourly retry-unreceipted DAG sends it again"),
        )
    _report_delivery(values, shown, status, key, attempts=entry.attempts, what_to_do=todo)


def confirm_receipt(ctx: RunContext, state: RunState) -> Summary:
    """Check the ledger holds the receipt, record what the delivery contained, drop staging.

    Staging (which holds identifiers) is removed only here, after the receipt,
    or when validation blocks; a failed run's folder stays for
    ``AANLEVERING_STAGING_RETENTION_DAYS`` so it can be inspected, then is purged.
    """
    from aanlevering.deliver.ledger import abandon_hint, load_period_ledger
    from aanlevering.optout.deliveries import record_delivery_contents
    from aanlevering.optout.events import contents_stream
    from aanlevering.pipeline.operations import delivered_patient_refs

    values = state.values()
    key = values["idempotency_key"]
    store = ctx.ports.store
    entry = next(
        (
            e
            for e in load_period_ledger(store, ctx.config.id, ctx.period.label).versions(
                ctx.config.id, ctx.period.label
            )
            if e.idempotency_key == key
        ),
        None,
    )
    if entry is None or entry.status != "receipted":
        raise DeliveryError(
            f"delivery {key} has no receipt in the ledger "
            f"(status {entry.status if entry else 'unknown'}); run deliver again"
        )
    if entry.content_sha256 != values["fingerprint"]:
        # A version taken by other content (DeliveryVersionTaken) is receipted, but not ours.
        raise DeliveryError(
            f"delivery {key}: the receipt in the ledger ({entry.receipt_id or 'none'}) is of "
            "other content than this run's (the receiver held this version already); this "
            "run's content is NOT delivered: run deliver again"
        )
    version = int(values["version"])
    if not store.stream_version(contents_stream(ctx.config.id, ctx.period.label, version)):
        # Recorded with DeliveryStaged since 0598; a version staged before that gets it here
        # (reading back a million references only to find them recorded costs seconds).
        refs = state.load_patient_refs("filtered")
        record_delivery_contents(
            store, ctx.config.id, ctx.period.label, version, delivered_patient_refs(refs)
        )
    # The outbox's own receipt: the files lie in a folder of the hospital, delivered only
    # once their upload is confirmed (0794); the run never says "delivered" of them (0820).
    handed_over = entry.awaiting_upload
    outcome = "handed-over" if handed_over else "delivered"
    _follow_version(ctx, state, receipted=True)  # receipted as this version: its folder (0971)
    values = state.values()
    state.update(status=outcome)
    # Only now, the receipt being of exactly what was sent, are the records delivered (0751).
    final = Accounting.from_summary(values.get("accounting") or {})
    if handed_over:
        final = final.as_version_status(entry.accounting_status)
        state.update(accounting=final.as_summary())
        _report_delivery(
            values,
            final,
            "handed-over",
            key,
            receipt_id=entry.receipt_id,
            what_to_do=(
                f"placed in {entry.receiver}; not delivered until the registry holder has it: "
                f"upload it, then `aanlevering confirm-upload --registration {ctx.config.id} "
                f"--period {ctx.period.label} --version {entry.version}` (decision 0794). "
                + abandon_hint(ctx.config.id, ctx.period.label, entry.version)
            ),
        )
    else:
        _report_delivery(values, final, "delivered", key, receipt_id=entry.receipt_id)
    log.info("run %s: %s", ctx.run_id, final.describe())
    _release(ctx, outcome)
    summary = ctx.summary(
        status=outcome,
        idempotency_key=key,
        receipt_id=entry.receipt_id,
        records=values.get("delivered_records", {}),
        # The run's last word says where all went; of a hand-over, nothing delivered yet.
        accounting=final.as_summary() if handed_over else values.get("accounting", {}),
    )
    state.remove()
    return summary


@dataclass(frozen=True)
class Stage:
    """One named stage: the DAG's task id and the function both paths call."""

    name: str
    run: Callable[[RunContext, RunState], Summary]
    retries: bool = True  # False: waiting does not help (a blocked validation needs new data)


#: The stages of one delivery run, in order. The only place the order is written.
STAGES: tuple[Stage, ...] = (
    Stage("check_obligation", check_obligation),
    Stage("extract", extract),
    Stage("apply_optouts", apply_optouts),
    Stage("validate", validate, retries=False),
    Stage("pseudonymise", pseudonymise),
    Stage("build_output", build_output),
    Stage("deliver", deliver),
    Stage("confirm_receipt", confirm_receipt),
)

STAGE_NAMES: tuple[str, ...] = tuple(stage.name for stage in STAGES)


def stage_named(name: str) -> Stage:
    """The stage called ``name``; KeyError names the known ones."""
    for stage in STAGES:
        if stage.name == name:
            return stage
    raise KeyError(f"no stage {name!r}; stages: {', '.join(STAGE_NAMES)}")


def _renew(ctx: RunContext) -> None:
    from aanlevering.pipeline.lock import lease_length, renew

    renew(
        ctx.ports.store,
        ctx.lock_scope,
        ctx.run_id,
        lease=lease_length(),
        actor=_actor(),
        one_process=ctx.one_process,
    )


def execute_stage(stage: Stage, ctx: RunContext, state: RunState) -> Summary:
    """Run one stage; every stage after the first renews the run lock and keeps it renewed.

    Renewing before the stage keeps the lease alive across the hours an
    Airflow run may take between retried tasks; a heartbeat renews it while
    the stage runs, however long (decision 0477). A run whose lease was taken
    over stops here with LeaseLost (a RunLocked), also when the other run has
    ended: it never takes its period back.
    """
    if stage.name == STAGES[0].name:
        log.info("run %s: stage %s", ctx.run_id, stage.name)
        return stage.run(ctx, state)
    from aanlevering.pipeline.heartbeat import LeaseHeartbeat
    from aanlevering.pipeline.lock import lease_length

    _renew(ctx)
    log.info("run %s: stage %s", ctx.run_id, stage.name)
    with LeaseHeartbeat(
        ctx.ports.store,
        ctx.lock_scope,
        ctx.run_id,
        lease=lease_length(),
        actor=_actor(),
        one_process=ctx.one_process,
    ):
        return stage.run(ctx, state)
