"""``aanlevering failures``: the patients of a period who will not get (all) their pseudonyms.

    aanlevering failures --registration ID --period P [--input PATH] [--catalogue DIR]

For the hospital only: it prints hospital patient numbers (with the failed
types, the field and the reason, and the records as ``file:line``), so an
engineer can fix them in the EHR. Nothing is logged or stored. Exit 0 when it
could tell (also when nobody fails), 2 on unusable input or config.

Without ``--input`` it reads the export the registration's scheduled runs read
(``AANLEVERING_INPUT__<ID>`` or ``AANLEVERING_INPUT_DIR``; see
:mod:`aanlevering.runs.inputs`), so the list matches what Airflow delivered;
with neither set it exits 2 naming them (never the demo data; decision 0705).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from aanlevering.catalogue.loader import load_registration
from aanlevering.periods import Period
from aanlevering.settings import load_settings
from aanlevering.shown_names import shown_path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``failures`` command."""
    parser = subparsers.add_parser(
        "failures",
        help="patients whose pseudonyms cannot be made, by patient number (hospital only)",
    )
    parser.add_argument("--registration", required=True, metavar="ID")
    parser.add_argument("--period", required=True, help="2026, 2026-Q1 or 2026-01")
    parser.add_argument(
        "--input",
        type=Path,
        help="the EHR export (folder or file); default: where scheduled runs read it",
    )
    parser.add_argument("--catalogue", metavar="DIR", help="catalogue folder")
    parser.set_defaults(handler=_failures)


def _failures(args: argparse.Namespace) -> int:
    from aanlevering.extract import extract
    from aanlevering.pseudonym.failure_list import failing_patients

    settings = load_settings()
    # Its own registration only: another's broken file does not stop it (0421, 0679).
    config = load_registration(args.catalogue or settings.catalogue_dir, args.registration)
    period = Period.parse(args.period)
    source = args.input
    if source is None:
        from aanlevering.runs.inputs import input_path_for

        source = input_path_for(config)
        shown = shown_path(source)  # decision 0730
        print(f"input: {shown} (where scheduled runs of {config.id} read; --input to override)")
    failed = failing_patients(config, extract(config, source, period))
    print(
        f"{config.id} {period.label}: {len(failed)} patient(s) without every pseudonym "
        f"({', '.join(str(t) for t in config.pseudonymisation.types)}); hospital only, "
        "do not forward this list"
    )
    if not failed:
        return 0
    print("patient number\ttype\tfield\treason\trecords")
    for patient in failed:
        records = ", ".join(patient.rows[:5]) + (" ..." if len(patient.rows) > 5 else "")
        for type_, (field, reason) in patient.types.items():
            print(f"{patient.patient_number}\t{type_}\t{field}\t{reason}\t{records}")
    return 0
