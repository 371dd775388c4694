"""The stages of :func:`aanlevering.pipeline.run_delivery`, one call per step, over a run folder.

Each step opens the run folder by path, reads what the previous step left
there, runs the same pipeline stage function the CLI runs, writes its output
and returns a small summary (the folder path and counts: never data or
identifiers) that a scheduler may pass on. Steps are safe to retry: each
rewrites its own output from its input.

Raises what the stages raise (NoObligation, ExtractError, ValidationBlocked,
TTPError, DeliveryError, ...) and :class:`AlreadyDelivered` when this content
was delivered and receipted before, so the rest of the run has nothing to do.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aanlevering.catalogue import load_catalogue
from aanlevering.catalogue.model import RegistrationConfig
from aanlevering.errors import DeliveryError
from aanlevering.periods import Period
from aanlevering.runs.folder import RunFolder
from aanlevering.runs.inputs import input_path_for, outbox_for
from aanlevering.settings import Settings, load_settings

if TYPE_CHECKING:
    from aanlevering.events.store import EventStore
    from aanlevering.pipeline import Ports

log = logging.getLogger(__name__)

Summary = dict[str, Any]


class AlreadyDelivered(Exception):
    """This period's content was delivered and receipted before: nothing left to do."""


@dataclass(frozen=True)
class _Run:
    folder: RunFolder
    state: dict[str, Any]
    settings: Settings
    config: RegistrationConfig

    @property
    def period(self) -> Period:
        return Period.parse(self.state["period"])

    @property
    def today(self) -> date:
        return date.fromisoformat(self.state["today"])

    def summary(self, **extra: Any) -> Summary:
        return {
            "run_dir": str(self.folder.path),
            "registration": self.config.id,
            "period": self.state["period"],
            **extra,
        }


def _open(run_dir: str | Path) -> _Run:
    folder = RunFolder(Path(run_dir))
    state = folder.state()
    settings = load_settings()
    config = load_catalogue(settings.catalogue_dir).get(state["registration"])
    return _Run(folder, state, settings, config)


@contextmanager
def _ports(settings: Settings) -> Iterator[tuple[EventStore, Ports]]:
    from aanlevering.cli.wiring import default_ports
    from aanlevering.events.factory import open_event_store

    with open_event_store(settings.event_store_url) as store:
        yield store, default_ports(settings, store)


@contextmanager
def _store(settings: Settings) -> Iterator[EventStore]:
    from aanlevering.events.factory import open_event_store

    with open_event_store(settings.event_store_url) as store:
        yield store


def start_run(
    registration_id: str,
    period_label: str,
    *,
    today: date | None = None,
    allow_open_period: bool = False,
    input_path: Path | None = None,
    run_id: str | None = None,
) -> Summary:
    """Check the obligation (NoObligation: nothing to do) and create the run folder.

    The folder is ``staging/<registration>/<period>/run-<run_id>``; a scheduler
    passes its own run id so a retried first step reuses the folder.
    """
    from aanlevering.pipeline import check_obligation

    settings = load_settings()
    config = load_catalogue(settings.catalogue_dir).get(registration_id)
    period = Period.parse(period_label)
    if period.frequency != config.frequency:
        log.info(
            "%s: %s is a %s period; delivering it anyway", config.id, period.label, period.frequency
        )
    today = today or date.today()
    with _store(settings) as store:
        check_obligation(config, store, period, today, allow_open_period=allow_open_period)
    run_id = run_id or uuid.uuid4().hex[:12]
    safe_id = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)
    folder = RunFolder(settings.staging_dir / config.id / period.label / f"run-{safe_id}")
    folder.path.mkdir(parents=True, exist_ok=True)
    source = input_path or input_path_for(config, settings)
    folder.update(
        registration=config.id,
        period=period.label,
        run_id=safe_id,
        today=today.isoformat(),
        allow_open_period=allow_open_period,
        input_path=str(source),
        status="started",
    )
    log.info("run %s: %s %s from %s", safe_id, config.id, period.label, source)
    return {"run_dir": str(folder.path), "registration": config.id, "period": period.label}


def extract(run_dir: str | Path) -> Summary:
    """Read the EHR extract for the period into the run folder."""
    from aanlevering.extract.api import extract as extract_stage

    run = _open(run_dir)
    extracted = extract_stage(run.config, Path(run.state["input_path"]), run.period)
    run.folder.save_extract("extract", extracted)
    counts = {name: d.num_rows for name, d in extracted.datasets.items()}
    run.folder.update(status="extracted", extracted=counts)
    return run.summary(records=counts)


def apply_optouts(run_dir: str | Path) -> Summary:
    """Drop opted-out patients and decide the version; AlreadyDelivered when receipted before."""
    from aanlevering.pipeline import apply_optouts_to_extract, plan_version

    run = _open(run_dir)
    extracted, _ = run.folder.load_extract("extract")
    with _store(run.settings) as store:
        filtered, excluded, refs = apply_optouts_to_extract(
            extracted, run.settings, store, run.today, run.state["run_id"]
        )
        plan = plan_version(
            run.config, store, run.period, filtered, refs, provider=run.settings.provider_id
        )
    counts = {name: d.num_rows for name, d in filtered.datasets.items()}
    if plan.already_receipted:
        run.folder.remove()
        raise AlreadyDelivered(
            f"{plan.idempotency_key} was delivered and receipted before "
            f"(receipt {plan.same.receipt_id if plan.same else '-'}); nothing to do"
        )
    run.folder.save_extract("filtered", filtered, refs)
    run.folder.update(
        status="optouts-applied",
        records=counts,
        excluded_optouts=excluded,
        version=plan.version,
        idempotency_key=plan.idempotency_key,
        supersedes=plan.supersedes,
        fingerprint=plan.fingerprint,
    )
    return run.summary(records=counts, excluded_optouts=excluded, version=plan.version)


def validate(run_dir: str | Path) -> Summary:
    """Validate what will be delivered; ValidationBlocked names the report (logged too)."""
    from aanlevering.errors import ValidationBlocked
    from aanlevering.pipeline import copy_reports, report_dir_for, validate_for_delivery

    run = _open(run_dir)
    filtered, _ = run.folder.load_extract("filtered")
    with _store(run.settings) as store:
        try:
            outcome = validate_for_delivery(
                filtered,
                run.config,
                run.settings,
                store=store,
                period=run.period,
                version=run.state["version"],
                excluded=run.state["excluded_optouts"],
            )
        except ValidationBlocked:
            report = report_dir_for(run.settings, run.config, run.period, run.state["version"])
            log.error("validation blocked the delivery; reports under %s", report)
            run.folder.update(status="validation-blocked", report_dir=str(report))
            raise
    run.folder.out.mkdir(parents=True, exist_ok=True)
    copy_reports(outcome.report_paths, run.folder.out)
    reports = {k: str(v) for k, v in outcome.report_paths.items()}
    log.info("validation report: %s", reports.get("html"))
    run.folder.update(
        status="validated",
        validation_reports=reports,
        failed_warnings=outcome.failed_warnings,
    )
    return run.summary(
        validation_report=reports.get("html"),
        checks=outcome.checks,
        failed_warnings=outcome.failed_warnings,
    )


def pseudonymise(run_dir: str | Path) -> Summary:
    """Pseudonymise at the source and through the TTP; pseudonyms stay in the run folder."""
    from aanlevering.pipeline import pseudonymise_extract

    run = _open(run_dir)
    filtered, _ = run.folder.load_extract("filtered")
    with _ports(run.settings) as (store, ports):
        kept, pseudonyms = pseudonymise_extract(
            run.config,
            run.settings,
            filtered,
            ttp=ports.ttp,
            store=store,
            period=run.period,
            run_id=run.state["run_id"],
        )
    run.folder.save_extract("pseudonymised", kept)
    run.folder.save_pseudonyms(pseudonyms)
    counts = {name: d.num_rows for name, d in kept.datasets.items()}
    run.folder.update(status="pseudonymised", pseudonymised=counts, patients=len(pseudonyms))
    return run.summary(records=counts, patients=len(pseudonyms))


def build_output(run_dir: str | Path) -> Summary:
    """Write the delivery files and manifest (and record DeliveryStaged)."""
    from aanlevering.pipeline import VersionPlan, stage_delivery

    run = _open(run_dir)
    kept, _ = run.folder.load_extract("pseudonymised")
    pseudonyms = run.folder.load_pseudonyms()
    state = run.state
    plan = VersionPlan(
        state["version"], state["idempotency_key"], state["supersedes"], state["fingerprint"], None
    )
    out = run.folder.out
    for stale in [p for p in out.iterdir() if p.is_file()] if out.exists() else []:
        stale.unlink()
    out.mkdir(parents=True, exist_ok=True)
    with _ports(run.settings) as (store, ports):
        channel = ports.channel_for(run.config, outbox_for(run.config))
        manifest = stage_delivery(
            run.config,
            run.settings,
            store=store,
            staging=out,
            extracted=kept,
            pseudonyms=pseudonyms,
            plan=plan,
            period=run.period,
            channel_name=channel.name,
            validation_report=state.get("validation_reports", {}).get("json"),
            excluded=state["excluded_optouts"],
        )
    counts = dict(manifest.record_counts)
    run.folder.update(status="staged", delivered_records=counts)
    return run.summary(records=counts, idempotency_key=plan.idempotency_key)


def deliver(run_dir: str | Path) -> Summary:
    """Send through the registration's channel until receipted (obligation re-checked first)."""
    from aanlevering.deliver.manifest import MANIFEST_NAME, Manifest
    from aanlevering.deliver.service import send_with_retries
    from aanlevering.pipeline import check_obligation

    run = _open(run_dir)
    manifest = Manifest.from_json((run.folder.out / MANIFEST_NAME).read_text(encoding="utf-8"))
    with _ports(run.settings) as (store, ports):

        def guard() -> None:
            check_obligation(
                run.config,
                store,
                run.period,
                run.today,
                allow_open_period=bool(run.state["allow_open_period"]),
            )

        channel = ports.channel_for(run.config, outbox_for(run.config))
        receipt = send_with_retries(channel, run.folder.out, manifest, store, guard=guard)
    run.folder.update(status="receipted", receipt_id=receipt.receipt_id)
    return run.summary(idempotency_key=manifest.idempotency_key, receipt_id=receipt.receipt_id)


def confirm_receipt(run_dir: str | Path) -> Summary:
    """Check the ledger holds the receipt, record what the delivery contained, drop staging.

    The staging folder (which holds identifiers) is removed only here, after
    the receipt; a failed run's folder stays for ``AANLEVERING_STAGING_RETENTION_DAYS``.
    """
    from aanlevering.deliver.ledger import load_ledger
    from aanlevering.optout.deliveries import record_delivery_contents
    from aanlevering.pipeline import delivered_patient_refs

    run = _open(run_dir)
    key = run.state["idempotency_key"]
    _, refs = run.folder.load_extract("filtered")
    with _store(run.settings) as store:
        entry = next(
            (
                e
                for e in load_ledger(store).versions(run.config.id, run.state["period"])
                if e.idempotency_key == key
            ),
            None,
        )
        if entry is None or entry.status != "receipted":
            raise DeliveryError(
                f"delivery {key} has no receipt in the ledger "
                f"(status {entry.status if entry else 'unknown'}); run deliver again"
            )
        record_delivery_contents(
            store,
            run.config.id,
            run.state["period"],
            run.state["version"],
            delivered_patient_refs(refs),
        )
    summary = run.summary(
        idempotency_key=key,
        receipt_id=entry.receipt_id,
        records=run.state.get("delivered_records", {}),
    )
    run.folder.remove()
    return summary
