"""``aanlevering demo-data``: write deterministic demo EHR extracts for the catalogue."""

from __future__ import annotations

import argparse
from pathlib import Path

from aanlevering.errors import ConfigError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo-data`` command."""
    parser = subparsers.add_parser(
        "demo-data",
        help="generate demo EHR extracts (CSV and FHIR) for the registrations",
        description=(
            "Write realistic, deterministic demo EHR data for every registration of the "
            "catalogue (or those named): CSV exports in UTF-8 with BOM and cp1252, a FHIR "
            "Bulk Data export folder and FHIR Bundles (--formats picks which), "
            "bad-rows.json, optouts.csv and FHIR Consents. The same seed gives "
            "byte-identical files. See docs/demo-data.md."
        ),
    )
    parser.add_argument("--out", type=Path, help="output folder (default: $AANLEVERING_HOME/demo)")
    parser.add_argument(
        "--patients", type=int, default=1000, help="patients per registration (default 1000)"
    )
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument(
        "--registration",
        action="extend",
        nargs="+",
        default=[],
        metavar="ID",
        help="only these registrations (space or comma separated, repeatable); default: all",
    )
    parser.add_argument(
        "--bad-share",
        type=float,
        default=0.02,
        help="share of deliberately bad records (default 0.02; 0 for clean data)",
    )
    parser.add_argument(
        "--formats",
        default="csv,fhir",
        help=(
            "comma separated: csv, fhir (both FHIR shapes), fhir-bulk (only the Bulk Data "
            "folder, with the Consents) or fhir-bundles (only the Bundles); default csv,fhir"
        ),
    )
    parser.add_argument("--catalogue", help="catalogue folder (default: $AANLEVERING_CATALOGUE)")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from aanlevering.catalogue import load_catalogue
    from aanlevering.demo import DemoOptions, generate_demo_data
    from aanlevering.progress import StageProgress
    from aanlevering.settings import load_settings

    settings = load_settings()
    catalogue = load_catalogue(args.catalogue or settings.catalogue_dir)
    registrations = tuple(
        part.strip() for value in args.registration for part in value.split(",") if part.strip()
    )
    formats = frozenset(part.strip() for part in args.formats.split(",") if part.strip())
    if not formats:
        raise ConfigError("--formats is empty; use csv, fhir, fhir-bulk or fhir-bundles")
    options = DemoOptions(
        out_dir=(args.out or settings.home / "demo").expanduser().resolve(),
        patients=args.patients,
        seed=args.seed,
        registrations=registrations,
        bad_share=args.bad_share,
        formats=formats,
    )
    selected = registrations or tuple(config.id for config in catalogue)
    with StageProgress(f"demo-data ({args.patients} patients each)", selected) as progress:

        def report(message: str) -> None:
            # The generator's messages start with the registration it works on.
            registration = message.split(":", 1)[0]
            if registration in selected and registration != progress.current:
                progress.switch(registration)
            progress.note(message.split(": ", 1)[-1])

        result = generate_demo_data(catalogue, options, progress=report)
    for registration, output in result.registrations.items():
        records = ", ".join(f"{name} {count}" for name, count in output.records.items())
        bad = sum(output.bad_rows.values())
        print(f"{registration}: {records} records, {bad} bad on purpose, {output.bundles} bundles")
    print(f"opt-outs: {result.optouts}")
    print(f"written to {result.out_dir} in {result.seconds:.1f} s")
    return 0
