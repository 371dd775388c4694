"""The operations the stages of a delivery run are made of (see :mod:`.stages`).

Why apart from the stages: each operation takes plain values (config,
settings, an extract, the store) and returns plain values, so it can be
tested, pinned and benchmarked on its own; the stages only move their inputs
and outputs through the run state.

Idempotent: the content fingerprint of a period's data decides whether a run
is a no-op (already receipted), a resend of an unreceipted version (same
idempotency key), or a correction (new version superseding the old one).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from aanlevering.actor import current_actor
from aanlevering.catalogue.model import RegistrationConfig
from aanlevering.deliver.accounting import Accounting
from aanlevering.deliver.channels.ttp_local import mark_pseudonym_inputs
from aanlevering.deliver.events import DeliveryStaged, delivery_stream
from aanlevering.deliver.ledger import LedgerEntry, load_period_ledger
from aanlevering.deliver.manifest import (
    Manifest,
    describe_files,
    idempotency_key,
    write_manifest,
)
from aanlevering.deliver.outbox_place import outbox_as_recorded
from aanlevering.errors import OptOutArrived, ValidationBlocked
from aanlevering.events.model import DomainEvent
from aanlevering.events.store import EventStore
from aanlevering.extract.fhir_resources import restricted
from aanlevering.extract.model import Extract, ExtractedDataset
from aanlevering.extract.patient_key import patient_numbers
from aanlevering.obligation.freshness import require_current_decisions
from aanlevering.obligation.permission import check_may_deliver, judged_days
from aanlevering.obligation.status import load_status
from aanlevering.optout.bsn_check import check_patient_numbers_are_no_bsns
from aanlevering.optout.filter import (
    MrnRefCache,
    apply_optouts,
    patient_refs_for_mrns,
    record_optouts_applied,
)
from aanlevering.optout.freshness import require_current_register
from aanlevering.optout.register import OptOutRegister
from aanlevering.optout.rules import load_checked_optout_rules
from aanlevering.optout.swap_check import check_mrn_not_swapped
from aanlevering.output.not_names import NotNameRecords, merged
from aanlevering.periods import Period, require_frequency, run_day
from aanlevering.pipeline.one_bsn_per_patient import refuse_two_bsns_per_patient
from aanlevering.pipeline.one_person_per_patient import refuse_two_persons_per_patient
from aanlevering.pipeline.source_digest import hash_rows_read_ahead
from aanlevering.pseudonym.keys import load_checked_keys
from aanlevering.pseudonym.model import PatientPseudonyms, PseudonymTable
from aanlevering.pseudonym.patient_ref import PatientRefHasher, checked_local_key
from aanlevering.pseudonym.service import pseudonymise
from aanlevering.pseudonym.ttp.client import TTPClient
from aanlevering.settings import Settings
from aanlevering.shown_names import shown_path, withholds
from aanlevering.validate.decision import ValidationOutcome

log = logging.getLogger(__name__)


def _filter(dataset: ExtractedDataset, keep: pa.BooleanArray) -> ExtractedDataset:
    if keep.null_count == 0 and pc.all(keep).as_py() is not False:
        return dataset  # every row kept: the same tables, no copy (a run folder links them)
    row_refs = pc.filter(dataset.row_refs, keep)
    problems = dataset.type_problems
    if problems:  # keep the problems of kept rows; only problem rows go through Python
        wanted = pa.array([p.row_ref for p in problems], type=row_refs.type)
        kept = set(pc.filter(row_refs, pc.is_in(row_refs, value_set=wanted)).to_pylist())
        problems = tuple(p for p in problems if p.row_ref in kept)
    others = dataset.other_patient_links
    if others:  # findings of linked resources go with their record (decision 0570)
        kept_refs = set(row_refs.to_pylist())
        others = tuple(pair for pair in others if pair[0] in kept_refs)
    return replace(
        dataset,
        clinical=dataset.clinical.filter(keep),
        identity=dataset.identity.filter(keep),
        row_refs=row_refs,
        type_problems=problems,
        other_patient_links=others,
    )


def apply_optouts_to_extract(
    extract: Extract,
    settings: Settings,
    store: EventStore,
    today: date,
    run_id: str,
    *,
    columns: Mapping[str, tuple[str, str]] | None = None,
) -> tuple[Extract, int, dict[str, pa.Array]]:
    """Remove opted-out patients from every dataset before anything else sees them.

    Returns the filtered extract, the number of records removed, and the
    patient references (keyed hashes) of the remaining rows per dataset.
    First stops (ConfigError) a run whose patient numbers are BSNs (decision
    0641) or whose MRN and patient-number columns look swapped (decision
    0610); ``columns`` names them per dataset for that message. Also stops
    (ExtractError) an export giving one patient number two BSNs (decision 1015)
    or two birth dates, sexes or birth names (decision 1018).
    """
    numbers = {
        name: patient_numbers(dataset, extract.source_kind)
        for name, dataset in extract.datasets.items()
    }
    check_patient_numbers_are_no_bsns(  # never a BSN as the MRN (decision 0641)
        extract.registration_id, extract.period.label, numbers, extract.source_kind
    )
    refuse_two_bsns_per_patient(extract)  # one patient number, one BSN (decision 1015)
    refuse_two_persons_per_patient(extract)  # ... one birth date, sex, birth name (1018)
    hasher = PatientRefHasher.from_settings(settings, store)
    known = MrnRefCache()  # for this call only (it holds MRNs; patients recur across datasets)
    refs_of = {
        name: patient_refs_for_mrns(
            numbers[name],
            hasher,
            f"dataset {name}",
            known,
            dataset.row_refs,
        )
        for name, dataset in extract.datasets.items()
    }
    rules = load_checked_optout_rules(settings, store)
    require_current_register(store, rules, extract.registration_id, extract.period)
    # Only this run's patients: their opt-out streams, not the whole log (decision 0250).
    run_refs = pa.chunked_array([refs for refs in refs_of.values() if len(refs)], pa.string())
    register = OptOutRegister.load_for_column(store, run_refs, rules)
    check_mrn_not_swapped(
        extract,
        refs_of,
        register,
        store=store,
        hasher=hasher,
        known=known,
        rules=rules,
        as_of=today,
        columns=columns,
    )
    datasets: dict[str, ExtractedDataset] = {}
    refs_by_dataset: dict[str, pa.Array] = {}
    excluded = considered = 0
    for name, dataset in extract.datasets.items():
        refs = refs_of[name]
        keep, removed = apply_optouts(
            refs, extract.registration_id, extract.period, register=register, as_of=today
        )
        datasets[name] = _filter(dataset, keep)
        refs_by_dataset[name] = pc.filter(refs, keep)
        excluded += removed
        considered += dataset.num_rows
    record_optouts_applied(
        store,
        extract.registration_id,
        extract.period,
        excluded_count=excluded,
        considered_count=considered,
        register=register,
        as_of=today,
        run_id=run_id,
    )
    return restricted(replace(extract, datasets=datasets)), excluded, refs_by_dataset


def identity_columns(config: RegistrationConfig, source_kind: str) -> dict[str, tuple[str, str]]:
    """Per dataset, where its ``mrn`` and ``patient_id`` come from, as the config names them.

    Why: the swap check (decision 0610) tells the data engineer which two
    columns of ``source.csv.datasets`` to compare; for FHIR, which elements.
    """
    if source_kind == "fhir":
        return {
            name: ("the MRN identifier (source.fhir.mrn_system, or type MR)", "Patient.id")
            for name in (config.fhir_source.datasets if config.fhir_source else {})
        }
    found: dict[str, tuple[str, str]] = {}
    for name, source in (config.csv_source.datasets if config.csv_source else {}).items():
        column_of = {field: column for column, field in source.identity.items()}
        if "mrn" in column_of and "patient_id" in column_of:
            found[name] = (column_of["mrn"], column_of["patient_id"])
    return found


def check_no_new_optouts(
    store: EventStore,
    settings: Settings,
    registration_id: str,
    period: Period,
    refs: Mapping[str, pa.Array],
    *,
    as_of: date,
) -> None:
    """Refuse (OptOutArrived) a run still holding a patient who opted out since apply_optouts.

    Why: the stages of an Airflow run are separate tasks, hours or days apart;
    an opt-out recorded after ``apply_optouts`` would otherwise reach the TTP
    and the registry holder. Called right before pseudonymisation and before
    every send attempt (like the register decision); ``as_of`` is the later of
    the run's delivery day and today. The message carries counts only.
    """
    arrays = [array for array in refs.values() if len(array)]
    if not arrays:
        return
    rules = load_checked_optout_rules(settings, store)
    require_current_register(store, rules, registration_id, period)  # still current (0475)
    column = pa.chunked_array(arrays, pa.string())
    register, candidates = OptOutRegister.load_naming(store, column, rules)
    if not candidates:
        return
    _, removed = apply_optouts(
        pa.array(candidates, pa.string()), registration_id, period, register=register, as_of=as_of
    )
    if removed:
        raise OptOutArrived(
            f"registration {registration_id}, period {period.label}: {removed} patient(s) of "
            "this run opted out after its opt-outs were applied; nothing of this run is "
            "pseudonymised or sent: run the period again (a new run leaves them out)"
        )


def content_fingerprint(extract: Extract, refs: Mapping[str, pa.Array]) -> str:
    """sha256 over the delivered clinical data, patient refs and source resources.

    Same data, same print; without source resources (CSV) the print is what it always was.
    """
    digest = hashlib.sha256()
    for name in sorted(extract.datasets):
        table = extract.datasets[name].clinical.append_column("__patient_ref", refs[name])
        digest.update(name.encode())
        # The IPC stream goes straight into the hash: same bytes, never held whole.
        with pa.ipc.new_stream(_HashingSink(digest), table.schema) as writer:
            writer.write_table(table)
    resources = extract.source_resources
    if resources is not None and resources.num_rows:
        # Delivered resources are content too (decision 0231): a changed one is a new version.
        # Their texts are read back from disk a window at a time (decision 0310), the
        # next window while this one is hashed (decision 0323).
        digest.update(b"\x00source_resources")
        hash_rows_read_ahead(resources, digest.update)
    return digest.hexdigest()


class _HashingSink:
    """A write-only file object that feeds what is written to a hash."""

    closed = False

    def __init__(self, digest: hashlib._Hash) -> None:
        self._digest = digest

    def write(self, data: bytes | memoryview) -> int:
        self._digest.update(data)
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered."""

    def close(self) -> None:
        self.closed = True


def identity_for_pseudonymisation(extract: Extract) -> pa.Table:
    """All datasets' identity rows, richest datasets first, as one table."""
    tables = sorted(
        (d.identity for d in extract.datasets.values() if d.num_rows),
        key=lambda t: -t.num_columns,
    )
    if not tables:
        return pa.table({"patient_id": pa.array([], pa.string())})
    return pa.concat_tables(tables, promote_options="default")


def _drop_unpseudonymised(extract: Extract, pseudonyms: PseudonymTable) -> tuple[Extract, int]:
    known = pseudonyms.patient_ids
    datasets = {}
    dropped = 0
    for name, dataset in extract.datasets.items():
        keep = pc.fill_null(pc.is_in(dataset.identity.column("patient_id"), value_set=known), False)
        kept = _filter(dataset, keep)
        dropped += dataset.num_rows - kept.num_rows
        datasets[name] = kept
    return restricted(replace(extract, datasets=datasets)), dropped


def _next_version(
    entries: list[LedgerEntry], fingerprint: str
) -> tuple[int, str | None, LedgerEntry | None]:
    """(version to use, key it supersedes, latest entry if it carries this content).

    Only the latest version counts: the same content receipted is a no-op,
    the same content not (yet) receipted is resent under the same key; any
    other content is the next version, superseding the last receipted one
    (a delivery, a correction or a retraction). An abandoned outbox hand-over
    is never sent again under its key: its content too is the next version (0843).
    """
    if not entries:
        return 1, None, None
    latest = entries[-1]
    if latest.content_sha256 == fingerprint and latest.status != "abandoned":
        return latest.version, latest.supersedes, latest
    receipted = [e for e in entries if e.status == "receipted"]
    supersedes = receipted[-1].idempotency_key if receipted else None
    return latest.version + 1, supersedes, None


@dataclass(frozen=True)
class VersionPlan:
    """Which version of a period this content is, and whether it is already receipted."""

    version: int
    idempotency_key: str
    supersedes: str | None
    fingerprint: str
    same: LedgerEntry | None
    #: The config print of the period's latest version ("" when none or not recorded).
    previous_config_sha256: str = ""

    @property
    def already_receipted(self) -> bool:
        """The same content was delivered and acknowledged before: nothing to do."""
        return self.same is not None and self.same.status == "receipted"

    def config_changed(self, config_sha256: str) -> bool:
        """The latest version was built under another registration config (decision 0425)."""
        return bool(self.previous_config_sha256 and config_sha256) and (
            self.previous_config_sha256 != config_sha256
        )


def check_obligation(
    config: RegistrationConfig,
    store: EventStore,
    period: Period,
    today: date,
    *,
    allow_open_period: bool = False,
) -> None:
    """Refuse (NoObligation) a period the register or the calendar does not allow.

    Checked first, again before the TTP is offered any patient and before
    every send attempt, so a negative decision that arrives mid-run stops the
    delivery. ``today`` is the run's day, which its folder keeps: the stages
    of an Airflow run may run days later (a cleared task), so the register
    must also allow delivery on the day the check runs (decision 0640). A
    period of another length than the registration's frequency is refused
    first (ConfigError, decision 0391): it would deliver records of the
    registration's own periods a second time.
    """
    require_frequency(period, config.frequency, config.id)
    require_current_decisions(store, config.id)  # RegisterStale: the feed unread too long (0643)
    status = load_status(store, config.id)
    check_may_deliver(config, status, today, period, require_closed=not allow_open_period)
    # The decision in force now too, not only on the day the run began (0640); a register
    # stop of the period asks the same days (judged_days, decision 0960).
    for day in judged_days(today, run_day())[1:]:
        check_may_deliver(config, status, day, period, require_closed=False)


def plan_version(
    config: RegistrationConfig,
    store: EventStore,
    period: Period,
    extracted: Extract,
    refs: Mapping[str, pa.Array],
    *,
    provider: str,
) -> VersionPlan:
    """Decide the version from the content fingerprint and the ledger (idempotent reruns)."""
    return plan_for_fingerprint(
        config, store, period, content_fingerprint(extracted, refs), provider=provider
    )


def plan_for_fingerprint(
    config: RegistrationConfig,
    store: EventStore,
    period: Period,
    fingerprint: str,
    *,
    provider: str,
) -> VersionPlan:
    """The version for content with this fingerprint, as the ledger stands now.

    Called again when the receiver turns out to hold the planned version with
    other content (a home wiped and re-run): the ledger then records that
    version as taken, and the content becomes the next version.
    """
    entries = load_period_ledger(store, config.id, period.label).versions(config.id, period.label)
    version, supersedes, same = _next_version(entries, fingerprint)
    key = idempotency_key(provider, config.id, period.label, version)
    previous = entries[-1].config_sha256 if entries else ""
    return VersionPlan(version, key, supersedes, fingerprint, same, previous)


def report_dir_for(
    settings: Settings, config: RegistrationConfig, period: Period, version: int
) -> Path:
    """Where the hospital's copy of a version's validation report lives (stays home)."""
    return settings.reports_dir / config.id / period.label / f"v{version}"


def validate_for_delivery(
    extracted: Extract,
    config: RegistrationConfig,
    settings: Settings,
    *,
    store: EventStore,
    period: Period,
    version: int,
    excluded: int,
    report_dir: Path | None = None,
) -> ValidationOutcome:
    """Validate what will be delivered; ValidationBlocked names the report to read.

    ``report_dir``: where the reports go (default: the version's folder; decision 0971).
    """
    from aanlevering.validate.service import validate_extract

    outcome = validate_extract(
        extracted,
        config,
        provider_type=settings.provider_type,
        provider_id=settings.provider_id,
        report_dir=report_dir or report_dir_for(settings, config, period, version),
        event_store=store,
        counts={"excluded_optout": excluded},
    )
    if outcome.blocked:
        raise ValidationBlocked(
            f"registration {config.id}, period {period.label}: validation failed "
            f"({outcome.failed_errors} failing error check(s)); "
            f"report: {outcome.report_paths.get('html')}"
        )
    return outcome


def copy_reports(report_paths: Mapping[str, str], staging: Path) -> None:
    """The registry holder's report travels with the delivery (GX data docs stay home).

    It sits next to the data files and is listed in the manifest's ``reports``,
    so every channel (outbox, HTTPS, SFTP, through the TTP) moves and
    checksums it like the data.
    """
    for kind in ("json", "html"):
        shutil.copy2(report_paths[kind], staging)


#: Media types of the travelling report, by file name.
REPORT_MEDIA_TYPES = {
    "validation-report.json": "application/json",
    "validation-report.html": "text/html; charset=utf-8",
}


def pseudonymise_extract(
    config: RegistrationConfig,
    settings: Settings,
    extracted: Extract,
    *,
    ttp: TTPClient,
    store: EventStore,
    period: Period,
    run_id: str,
) -> tuple[Extract, PseudonymTable]:
    """Pseudonyms for every patient; records without one are left out (and counted)."""
    source_key, mrn_key = load_checked_keys(settings, store, config.id)
    hasher = PatientRefHasher.from_settings(settings, store)
    pseudonymised = pseudonymise(
        config,
        period.label,
        identity_for_pseudonymisation(extracted),
        client=ttp,
        source_key=source_key,
        mrn_key=mrn_key,
        patient_ref=lambda mrn: hasher.ref(mrn, scheme="mrn"),
        store=store,
        run_id=run_id,
    )
    extracted, unpseudonymised = _drop_unpseudonymised(extracted, pseudonymised.by_patient)
    if unpseudonymised:
        log.warning("%d record(s) left out: no pseudonym could be made", unpseudonymised)
    return extracted, pseudonymised.by_patient


@dataclass(frozen=True)
class StagedDelivery:
    """What :func:`stage_delivery` staged: the manifest, and the records delivered only
    because the registration lists a word under ``not_names`` (decision 0910: for the
    hospital's report and the run's log line, never for the registry holder)."""

    manifest: Manifest
    not_names: tuple[NotNameRecords, ...] = ()


def stage_delivery(
    config: RegistrationConfig,
    settings: Settings,
    *,
    store: EventStore,
    staging: Path,
    extracted: Extract,
    pseudonyms: Mapping[str, PatientPseudonyms],
    plan: VersionPlan,
    period: Period,
    channel_name: str,
    validation_report: str | None,
    excluded: int,
    accounting: Accounting | None = None,
    keys_hashed: bool = False,
    recorded_with: Sequence[tuple[str, Sequence[DomainEvent]]] = (),
    input_path: Path | None = None,
    outbox: Path | None = None,
) -> StagedDelivery:
    """Write the delivery files and manifest into ``staging`` and record DeliveryStaged.

    ``keys_hashed``: the key variables of ``extracted`` hold their delivered
    keys already (:func:`hashed_record_keys`; the run reads its record digests
    from them), so the writer does not hash them a second time.
    ``recorded_with``: (stream, events) recorded in the same transaction as
    DeliveryStaged (the version's record digests and patients): all or none, so
    a run stopped before staging leaves nothing a later run's same version
    number would find and keep as its own (decision 0598).
    ``input_path``/``outbox``: what the run read and delivered into, recorded so
    the hourly retry reruns exactly that (decision 0665).
    """
    from aanlevering.fhir.context import DeliveryContext
    from aanlevering.fhir.ids import RecordKeys, derive_salt
    from aanlevering.output.birth_dates import refuse_birth_date_columns
    from aanlevering.output.content import DeliveryInput
    from aanlevering.output.guard import check_delivery
    from aanlevering.output.own_identifiers import refuse_own_identifier_columns
    from aanlevering.output.own_names_in_text import refuse_own_names_in_text
    from aanlevering.output.probable_bsns import refuse_probable_bsns
    from aanlevering.output.sources import delivered_sources, delivers_records
    from aanlevering.output.swapped_identity import refuse_swapped_columns
    from aanlevering.output.writer import write_delivery

    # Before anything is written: a birth date column mapped to a variable (exit 2).
    refuse_birth_date_columns(config.id, extracted.datasets)
    # ... or a number that passes the BSN eleven-test, not the run's own BSN (exit 2).
    refuse_probable_bsns(config.id, extracted.datasets, config.dictionary)
    # ... or a name column holding a variable's codes: two export columns swapped (exit 2).
    refuse_swapped_columns(config.id, extracted.datasets, config.dictionary)
    # ... or a column of each record's own patient's name, address or number (exit 2).
    # A word the registration lists as not a name clears no identifier: counted (0910).
    listed = config.not_names
    cleared = refuse_own_identifier_columns(
        config.id, extracted.datasets, config.dictionary, listed
    )
    secret = checked_local_key(settings, store, "resource-ids.key", "resource-ids")
    context = DeliveryContext.for_registration(
        config,
        derive_salt(secret, plan.idempotency_key),
        record_keys=None if keys_hashed else RecordKeys(secret, config.id, settings.provider_id),
    )
    fhir_content = config.delivery.fhir_content
    content = DeliveryInput(
        context=context,
        datasets=extracted.datasets,
        pseudonyms=pseudonyms,
        source_resources=delivered_sources(extracted, fhir_content),
        records=delivers_records(extracted, fhir_content),
        closed=True,
    )
    output = write_delivery(staging, content, config.delivery.format)
    check_delivery(staging, output, content)  # exit 2 if a file holds the run's identifiers
    # ... or a free text its own patient's short or plain family name (exit 2, decision 0881).
    written = [staging / item.name for item in output.files]
    cleared += refuse_own_names_in_text(
        config.id, extracted.datasets, config.dictionary, written, listed
    )
    files = output.manifest_files()
    if config.pseudonymisation.ttp_mode == "local":
        # The TTP replaces the digests at upload; checksums are of what is uploaded.
        mark_pseudonym_inputs(staging, [f.name for f in files])
        files = describe_files(
            staging, {f.name: f.records for f in files}, {f.name: f.media_type for f in files}
        )
    manifest = Manifest(
        idempotency_key=plan.idempotency_key,
        registration=config.id,
        registry_holder=config.registry_holder_id,
        period=period.label,
        period_start=period.start.isoformat(),
        period_end=period.end.isoformat(),
        version=plan.version,
        dictionary_id=config.dictionary.id,
        dictionary_version=config.dictionary.version,
        format=config.delivery.format,
        normalisation_profile=config.pseudonymisation.profile,
        pseudonym_types=tuple(str(t) for t in config.pseudonymisation.types),
        key_versions={t: max(v) for t, v in output.key_versions.items()},
        ttp_mode=config.pseudonymisation.ttp_mode,
        provider_id=settings.provider_id,
        files=files,
        record_counts=dict(output.record_counts),
        supersedes=plan.supersedes,
        reports=describe_files(
            staging,
            {name: 0 for name in REPORT_MEDIA_TYPES if (staging / name).is_file()},
            REPORT_MEDIA_TYPES,
        ),
    )
    write_manifest(staging, manifest)
    shown_outbox, outbox_withheld = outbox_as_recorded(outbox)
    staged = DeliveryStaged(
        registration=config.id,
        period=period.label,
        version=plan.version,
        idempotency_key=plan.idempotency_key,
        channel=channel_name,
        format=config.delivery.format,
        record_counts=dict(output.record_counts),
        files=tuple(f.name for f in manifest.files),
        manifest_sha256=hashlib.sha256(manifest.to_json().encode()).hexdigest(),
        supersedes=plan.supersedes,
        validation_report=validation_report,
        excluded_optouts=excluded,
        content_sha256=plan.fingerprint,
        config_sha256=config.config_sha256,
        provider=settings.provider_id,
        actor=current_actor(),
        accounting=accounting,
        input_path=shown_path(input_path.absolute()) if input_path is not None else "",
        input_withheld=input_path is not None and withholds(input_path.absolute()),
        # The folder as decision 0730 shows it, never as typed (0903).
        outbox=shown_outbox,
        outbox_withheld=outbox_withheld,
    )
    store.append_streams(
        [
            (delivery_stream(config.id, period.label), [staged], None),
            *((stream, events, None) for stream, events in recorded_with),
        ]
    )
    return StagedDelivery(manifest, tuple(merged(cleared)))


def hashed_record_keys(
    config: RegistrationConfig, settings: Settings, store: EventStore, extracted: Extract
) -> Extract:
    """``extracted`` with its key variables (and relations to them) as delivered keys."""
    from aanlevering.fhir.ids import RecordKeys
    from aanlevering.output.record_keys import hash_record_keys

    secret = checked_local_key(settings, store, "resource-ids.key", "resource-ids")
    keys = RecordKeys(secret, config.id, settings.provider_id)
    return replace(
        extracted, datasets=hash_record_keys(extracted.datasets, config.dictionary, keys)
    )


def delivered_patient_refs(refs: Mapping[str, pa.Array]) -> list[str]:
    """The distinct patient references a delivery contained (for later opt-out requests)."""
    arrays = [a for a in refs.values() if len(a)]
    if not arrays:
        return []
    # Patient refs are ASCII (pr_ + hex): Arrow's byte order is Python's str order.
    distinct: list[str] = pc.unique(pa.chunked_array(arrays, pa.string())).sort().to_pylist()
    return distinct
