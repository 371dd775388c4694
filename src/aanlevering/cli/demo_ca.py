"""``aanlevering demo-ca``: a throwaway CA with server and client certificates for the demo."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo-ca`` command."""
    parser = subparsers.add_parser(
        "demo-ca", help="write a throwaway CA, server and client certificates (demo/tests only)"
    )
    parser.add_argument("--out", required=True, type=Path, help="folder for the PEM files")
    parser.add_argument(
        "--server-name",
        action="append",
        help="DNS name or IP of the server certificate (repeatable; default loopback + compose)",
    )
    parser.add_argument(
        "--client", action="append", default=[], help="organisation to issue a client cert to"
    )
    parser.add_argument("--days", type=int, default=30)
    parser.set_defaults(handler=_demo_ca)


def _demo_ca(args: argparse.Namespace) -> int:
    from aanlevering.counterparts.common.demo_ca import DEFAULT_SERVER_NAMES, make_demo_ca

    written = make_demo_ca(
        args.out,
        server_names=tuple(args.server_name or DEFAULT_SERVER_NAMES),
        clients=tuple(args.client),
        days=args.days,
    )
    clients = len(written.clients)
    print(f"wrote {written.ca_cert}, {written.server_cert} and {clients} client cert(s)")
    return 0
