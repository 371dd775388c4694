"""``aanlevering optout ingest | list | deliveries``: the opt-out register.

``ingest FILE`` records opt-outs from the EHR: a CSV extract (``.csv``),
FHIR Consent resources (``.ndjson``), or a FHIR export folder holding
Consents next to the Patients they name; patient numbers are hashed while
reading and never printed. A Consent's ``Patient/<id>`` is resolved against
the export's Patients (the folder itself, or ``--patients EXPORT``) to the
hospital patient number, the key every opt-out match uses. ``list`` prints
counts per state and scope.
``deliveries --mrn MRN`` hashes the MRN locally and prints which deliveries
(registration, period, version) contained that patient; ``--mrn -`` reads
the MRN from standard input, keeping it out of the shell history.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from aanlevering.errors import ConfigError
from aanlevering.events import open_event_store
from aanlevering.optout.deliveries import deliveries_containing
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
) -> ReadResult:
    mrn_system = mrn_systems[0] if mrn_systems else None
    if path.is_dir():
        return read_consents_in_export(path, mrn_hasher(hasher), mrn_systems, mrn_system)
    suffix = path.suffix.lower()
    kind = fmt or (
        "csv" if suffix == ".csv" else "ndjson" if suffix in (".ndjson", ".jsonl") else ""
    )
    if kind == "csv":
        return read_optout_csv(path, mrn_hasher(hasher))
    if kind == "ndjson":
        index = load_patient_index(patients, mrn_system) if patients is not None else None
        return read_consent_ndjson(path, mrn_hasher(hasher), mrn_systems, index)
    raise ConfigError(
        f"opt-out source {path}: unknown format; name it .csv or .ndjson, or use --format"
    )


def _ingest(args: argparse.Namespace) -> int:
    settings = load_settings()
    with open_event_store(settings.event_store_url) as store:
        hasher = PatientRefHasher.from_settings(settings, store)
        result = _read(args.file, args.format, args.mrn_system, hasher, args.patients)
        outcome = record_optouts(
            store,
            result.entries,
            skipped=result.skipped,
            metadata={"actor": "optout ingest", "source": args.file.name},
        )
    print(
        f"{outcome.read} opt-out(s) read for {outcome.patients} patient(s): "
        f"{outcome.appended} event(s) recorded, {outcome.already_recorded} already in the log"
    )
    for reason, count in sorted(outcome.skipped.items()):
        print(f"skipped {count}: {reason}")
    return 0


def _list(args: argparse.Namespace) -> int:
    settings = load_settings()
    rules = load_optout_rules(settings)
    as_of = args.as_of or run_day()
    with open_event_store(settings.event_store_url) as store:
        summary = OptOutRegister.load(store, rules).summary(as_of)
    regime = "applies" if as_of >= rules.effective_from else "does not apply yet"
    print(f"opt-out rules: {rules.describe()} (on {as_of} the regime {regime})")
    print(f"patients with an opt-out: {summary.patients}")
    print(f"opt-outs in force on {as_of}: {summary.in_force}")
    print(f"withdrawn: {summary.withdrawn}")
    print(f"registered after {as_of}: {summary.registered_later}")
    for scope, count in sorted(summary.by_scope.items()):
        print(f"  scope {scope}: {count}")
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
    print("registration\tperiod\tversion")
    for delivery in found:
        print(f"{delivery.registration}\t{delivery.period}\tv{delivery.version}")
    return 0
