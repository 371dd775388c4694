"""``aanlevering optout ingest | list | deliveries``: the opt-out register.

``ingest FILE`` records opt-outs from the EHR: a CSV extract (``.csv``),
FHIR Consent resources (``.ndjson``), or a FHIR export folder holding
Consents next to the Patients they name; patient numbers are hashed while
reading and never printed. A Consent's ``Patient/<id>`` is resolved against
the export's Patients (the folder itself, or ``--patients EXPORT``) to the
hospital patient number, the key every opt-out match uses. Each ingest
records when the export was taken (the file's time, or
``--snapshot-taken-at``, never later than the file's: 0493): a run needs a
recent one (decision 0475). An export with fewer than half the opt-outs of
the last one of its kind is refused unless ``--confirm-shrunk-export``
(0476). ``list`` prints counts per state and scope, and when the newest
ingested export was taken.
``deliveries --mrn MRN`` hashes the MRN locally and prints which deliveries
(registration, period, version) contained that patient; ``--mrn -`` reads
the MRN from standard input, keeping it out of the shell history.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from aanlevering.catalogue.loader import registration_ids
from aanlevering.errors import ConfigError
from aanlevering.events import open_event_store
from aanlevering.optout.deliveries import deliveries_containing
from aanlevering.optout.events import OptOutSource
from aanlevering.optout.ingests import (
    check_not_shrunk,
    check_snapshot_time,
    check_stated_time,
    newest_snapshot,
    parse_snapshot_time,
    record_ingest,
    snapshot_time_of,
)
from aanlevering.optout.register import OptOutRegister
from aanlevering.optout.rules import load_optout_rules
from aanlevering.optout.service import record_optouts
from aanlevering.optout.sources import ReadResult, RowProblem, mrn_hasher, patient_ref_of
from aanlevering.optout.sources.consent import read_consent_ndjson, read_consents_in_export
from aanlevering.optout.sources.ehr_csv import read_optout_csv
from aanlevering.optout.sources.patient_index import load_patient_index
from aanlevering.periods import run_day
from aanlevering.pseudonym.patient_ref import PatientRefHasher
from aanlevering.settings import load_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``optout`` command group."""
    parser = subparsers.add_parser("optout", help="the opt-out register (counts only)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    ingest = actions.add_parser("ingest", help="record opt-outs from a CSV or Consent NDJSON file")
    ingest.add_argument("file", metavar="FILE", type=Path)
    ingest.add_argument(
        "--format",
        choices=("csv", "ndjson"),
        help="source format (default: from the file name: .csv or .ndjson/.jsonl)",
    )
    ingest.add_argument(
        "--patients",
        type=Path,
        metavar="EXPORT",
        help="the FHIR export whose Patients the Consents name (resolves Patient/<id> "
        "to the hospital patient number; default: FILE itself when it is an export folder)",
    )
    ingest.add_argument(
        "--mrn-system",
        action="append",
        default=[],
        metavar="URI",
        help="identifier system of the hospital's MRN in Consent.patient (repeatable)",
    )
    ingest.add_argument(
        "--snapshot-taken-at",
        metavar="DATETIME",
        help="when the EHR took this export (ISO, e.g. 2026-12-05T06:00+01:00; default: the "
        "file's modification time; never later than it). A run needs a recent one "
        "(AANLEVERING_OPTOUT_MAX_AGE_HOURS)",
    )
    ingest.add_argument(
        "--confirm-shrunk-export",
        action="store_true",
        help="record an export holding fewer than half the opt-outs of the last one of its "
        "kind (refused otherwise: an empty or truncated export is almost always a failed one)",
    )
    ingest.set_defaults(handler=_ingest)

    listing = actions.add_parser("list", help="counts per state and scope, never who")
    listing.add_argument("--as-of", type=date.fromisoformat, help="the day (default: today)")
    listing.set_defaults(handler=_list)

    deliveries = actions.add_parser(
        "deliveries", help="which deliveries contained a patient (by MRN, hashed locally)"
    )
    deliveries.add_argument("--mrn", required=True, help="the patient number, or - for stdin")
    deliveries.set_defaults(handler=_deliveries)


def _read(
    path: Path,
    fmt: str | None,
    mrn_systems: list[str],
    hasher: PatientRefHasher,
    patients: Path | None = None,
    *,
    known: frozenset[str] | None = None,
) -> ReadResult:
    mrn_system = mrn_systems[0] if mrn_systems else None
    if path.is_dir():
        return read_consents_in_export(path, mrn_hasher(hasher), mrn_systems, mrn_system, known)
    suffix = path.suffix.lower()
    kind = fmt or (
        "csv" if suffix == ".csv" else "ndjson" if suffix in (".ndjson", ".jsonl") else ""
    )
    if kind == "csv":
        return read_optout_csv(path, mrn_hasher(hasher), known)
    if kind == "ndjson":
        index = load_patient_index(patients, mrn_system) if patients is not None else None
        return read_consent_ndjson(path, mrn_hasher(hasher), mrn_systems, index, known)
    raise ConfigError(
        f"opt-out source {path}: unknown format; name it .csv or .ndjson, or use --format"
    )


def _source_kind(path: Path, fmt: str | None) -> OptOutSource:
    """Which kind of export ``path`` is (shrinkage is judged per kind, decision 0476)."""
    if fmt == "csv" or (fmt is None and not path.is_dir() and path.suffix.lower() == ".csv"):
        return "ehr-csv"
    return "fhir-consent"


def _ingest(args: argparse.Namespace) -> int:
    settings = load_settings()
    name = args.file.name
    if args.snapshot_taken_at:
        taken_at = parse_snapshot_time(args.snapshot_taken_at)
    else:
        taken_at = snapshot_time_of(args.file) if args.file.exists() else datetime.now(UTC)
    check_snapshot_time(taken_at, name)
    if args.snapshot_taken_at and args.file.exists():  # never after the file (decision 0493)
        check_stated_time(taken_at, snapshot_time_of(args.file), name)
    with open_event_store(settings.event_store_url) as store:
        hasher = PatientRefHasher.from_settings(settings, store)
        # A scope names registrations of the catalogue, or it is refused (decision 0732).
        known = registration_ids(settings.catalogue_dir)
        result = _read(args.file, args.format, args.mrn_system, hasher, args.patients, known=known)
        kind = _source_kind(args.file, args.format)
        entries = len(result.entries)
        check_not_shrunk(store, kind, entries, confirmed=args.confirm_shrunk_export, name=name)
        # The kind of export, never its file name: an EHR that sends each objection as a
        # file of its own names it after the patient (decision 0680).
        outcome = record_optouts(
            store,
            result.entries,
            skipped=result.skipped,
            metadata={"actor": "optout ingest", "source": kind},
        )
        record_ingest(
            store,
            taken_at=taken_at,
            source=kind,
            entries=entries,
            patients=outcome.patients,
            shrink_confirmed=args.confirm_shrunk_export,
        )
    print(
        f"{outcome.read} opt-out(s) read for {outcome.patients} patient(s): "
        f"{outcome.appended} event(s) recorded, {outcome.already_recorded} already in the log"
    )
    print(f"export taken {taken_at:%Y-%m-%d %H:%M} UTC")
    for reason, count in sorted(outcome.skipped.items()):
        print(f"skipped {count}: {reason}")
    return 0


def _list(args: argparse.Namespace) -> int:
    settings = load_settings()
    rules = load_optout_rules(settings)
    as_of = args.as_of or run_day()
    with open_event_store(settings.event_store_url) as store:
        summary = OptOutRegister.load(store, rules).summary(as_of)
        newest = newest_snapshot(store)
    regime = "applies" if as_of >= rules.effective_from else "does not apply yet"
    print(f"opt-out rules: {rules.describe()} (on {as_of} the regime {regime})")
    print(f"patients with an opt-out: {summary.patients}")
    print(f"opt-outs in force on {as_of}: {summary.in_force}")
    print(f"withdrawn: {summary.withdrawn}")
    print(f"registered after {as_of}: {summary.registered_later}")
    for scope, count in sorted(summary.by_scope.items()):
        print(f"  scope {scope}: {count}")
    print(
        f"newest export ingested: taken {newest.taken_at:%Y-%m-%d %H:%M} UTC "
        f"({newest.fact.source}, {newest.fact.entries} opt-out(s))"
        if newest
        else "newest export ingested: none (a run of a period the regime covers will stop)"
    )
    return 0


def _deliveries(args: argparse.Namespace) -> int:
    settings = load_settings()
    mrn = sys.stdin.readline().strip() if args.mrn == "-" else args.mrn
    with open_event_store(settings.event_store_url) as store:
        try:
            hasher = PatientRefHasher.from_settings(settings, store)
            ref = patient_ref_of(mrn_hasher(hasher), mrn, "--mrn")
        except RowProblem as problem:
            raise ConfigError(f"--mrn: {problem.expected}") from None
        found = deliveries_containing(store, ref)
    if not found:
        print("no recorded delivery contained this patient")
        return 0
    print("registration\tperiod\tversion\treceipt")
    for delivery in found:
        print(
            f"{delivery.registration}\t{delivery.period}\tv{delivery.version}\t{delivery.receipt}"
        )
    return 0
