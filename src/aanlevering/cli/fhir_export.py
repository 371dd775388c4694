"""``aanlevering fhir-export``: pull a FHIR Bulk Data export into a folder.

Engineers use it to fetch an EHR's FHIR data for a registration; the folder
it fills is what the extract stage reads. The access token is read from an
environment variable, never from the command line (which lands in shell
history and process lists).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from aanlevering.errors import ConfigError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``fhir-export`` command."""
    parser = subparsers.add_parser(
        "fhir-export", help="download a FHIR Bulk Data ($export) export into a folder"
    )
    parser.add_argument("--base-url", required=True, help="FHIR server base URL")
    parser.add_argument("--out", required=True, help="target folder (new or empty)")
    level = parser.add_mutually_exclusive_group()
    level.add_argument("--patient", action="store_true", help="Patient/$export")
    level.add_argument("--group", metavar="ID", help="Group/ID/$export")
    parser.add_argument("--type", dest="types", help="_type: resource types, comma separated")
    parser.add_argument("--since", help="_since: only resources changed after this instant")
    parser.add_argument(
        "--token-env",
        metavar="VAR",
        help="environment variable holding the bearer token (default: none)",
    )
    parser.add_argument(
        "--max-wait", type=float, default=3600.0, help="seconds to wait for the export"
    )
    parser.add_argument(
        "--keep-on-server", action="store_true", help="do not DELETE the export when done"
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from aanlevering.extract.bulk_client import Level, PollPolicy, bulk_export
    from aanlevering.progress import StageProgress

    token = None
    if args.token_env:
        token = os.environ.get(args.token_env)
        if not token:
            raise ConfigError(f"environment variable {args.token_env} holds no token")
    level: Level = "group" if args.group else "patient" if args.patient else "system"
    types = [t.strip() for t in (args.types or "").split(",") if t.strip()]
    with StageProgress("fhir-export", ("kick-off", "wait", "download")) as progress:
        result = bulk_export(
            args.base_url,
            Path(args.out),
            level=level,
            group_id=args.group,
            types=types,
            since=args.since,
            token=token,
            policy=PollPolicy(max_wait_seconds=args.max_wait),
            delete_when_done=not args.keep_on_server,
            progress=progress.switch,
        )
    counts: dict[str, int] = {}
    for path in result.files:
        resource_type = path.name.split(".", 1)[0]
        counts[resource_type] = counts.get(resource_type, 0) + 1
    summary = ", ".join(f"{t} {n}" for t, n in sorted(counts.items())) or "no files"
    print(f"exported to {result.folder}: {summary} file(s)")
    if result.error_files:
        print(f"the server reported errors: {len(result.error_files)} file(s) in errors/")
    return 0
