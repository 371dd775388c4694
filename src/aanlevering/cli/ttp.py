"""``aanlevering ttp``: run and manage the reference TTP.

``serve`` starts the service; ``init-config`` writes a working demo setup;
``rotate`` / ``retire`` manage a registration's key versions; ``check-config``
loads a config and its keys; ``openapi`` writes (or checks) the committed
protocol document. Also runnable as ``python -m aanlevering.cli.ttp`` with the
same sub-commands.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aanlevering.counterparts.common.tls import add_tls_arguments
from aanlevering.errors import AanleveringError, ConfigError

log = logging.getLogger(__name__)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from aanlevering.counterparts.common.tls import server_tls_from_args
    from aanlevering.counterparts.ttp.api import create_app
    from aanlevering.counterparts.ttp.config import load_config
    from aanlevering.counterparts.ttp.service import TTPService

    tls = server_tls_from_args(args)
    config = load_config(args.config)
    service = TTPService(config)
    if config.fault_injection:
        log.warning("fault injection is ENABLED (testing only): POST /admin/faults is open")
    uvicorn.run(
        create_app(service),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=args.access_log,
        **tls.uvicorn_options(),
    )
    return 0


def _init_config(args: argparse.Namespace) -> int:
    from aanlevering.counterparts.ttp import demo_config

    if args.catalogue and args.registration:
        raise ConfigError("give either --catalogue or --registration, not both")
    registrations = demo_config.DEFAULT_REGISTRATIONS
    if args.catalogue:
        registrations = demo_config.registrations_from_catalogue(Path(args.catalogue))
    elif args.registration:
        registrations = tuple(demo_config.parse_registration(s) for s in args.registration)
    setup = demo_config.write_demo_config(
        Path(args.out),
        registrations=registrations,
        hospitals=args.hospital or demo_config.DEMO_HOSPITALS,
        forward_base_url=args.forward_base_url,
        fault_injection=args.fault_injection,
        forward_ca_bundle=Path(args.forward_ca_bundle) if args.forward_ca_bundle else None,
    )
    print(f"wrote {setup.config}")
    for organisation, path in sorted(setup.api_key_files.items()):
        print(f"  API key of {organisation}: {path}")
    return 0


def _rotate(args: argparse.Namespace) -> int:
    from aanlevering.counterparts.ttp.rotation import rotate

    version = rotate(Path(args.config), args.registration)
    print(f"{args.registration}: key version {version} is active; restart the TTP to use it")
    return 0


def _retire(args: argparse.Namespace) -> int:
    from aanlevering.counterparts.ttp.rotation import retire

    retire(Path(args.config), args.registration, args.version)
    print(f"{args.registration}: key version {args.version} retired; restart the TTP")
    return 0


def _check_config(args: argparse.Namespace) -> int:
    from aanlevering.counterparts.ttp.config import load_config
    from aanlevering.counterparts.ttp.keys import KeyRing

    config = load_config(args.config)
    KeyRing(config)
    print(
        f"{config.path}: {len(config.organisations)} organisations, "
        f"{len(config.registrations)} registrations, keys readable"
    )
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from aanlevering.counterparts.ttp.openapi import default_path, openapi_text

    target = Path(args.out) if args.out else default_path()
    text = openapi_text()
    if args.check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target} is out of date; run: aanlevering ttp openapi", file=sys.stderr)
            return 1
        print(f"{target} is up to date")
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    from aanlevering.counterparts.common.audit import verify_command
    from aanlevering.counterparts.ttp.config import load_config

    return verify_command(Path(args.log) if args.log else load_config(args.config).audit_log)


def register(subparsers: Any) -> None:
    """Add the ``ttp`` command group."""
    ttp = subparsers.add_parser("ttp", help="run and manage the reference TTP")
    commands = ttp.add_subparsers(dest="ttp_command", metavar="SUBCOMMAND", required=True)

    serve = commands.add_parser("serve", help="start the reference TTP (HTTP)")
    serve.add_argument("--config", required=True, help="TTP config YAML")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    serve.add_argument("--access-log", action="store_true", help="log every request line")
    add_tls_arguments(serve)
    serve.set_defaults(handler=_serve)

    init = commands.add_parser("init-config", help="write a demo config with fresh keys")
    init.add_argument("--out", required=True, help="new folder for config, keys, client keys")
    init.add_argument("--catalogue", help="take registrations from this catalogue folder")
    init.add_argument(
        "--registration",
        action="append",
        metavar="ID:HOLDER:TYPES",
        help="a registration, e.g. ldtr:lnaz:NGG,C,MRN (repeatable; default: the three demos)",
    )
    init.add_argument(
        "--hospital",
        action="append",
        help="hospital organisation id, optionally ID:REG,REG (the registrations it delivers to; "
        "default all); repeatable",
    )
    init.add_argument("--forward-base-url", default="http://127.0.0.1:8766")
    init.add_argument("--forward-ca-bundle", help="PEM CA that signs the registry holder's cert")
    init.add_argument("--fault-injection", action="store_true", help="testing only")
    init.set_defaults(handler=_init_config)

    rotate = commands.add_parser("rotate", help="add and activate a new key version")
    rotate.add_argument("--config", required=True)
    rotate.add_argument("--registration", required=True)
    rotate.set_defaults(handler=_rotate)

    retire = commands.add_parser("retire", help="retire a transition key version")
    retire.add_argument("--config", required=True)
    retire.add_argument("--registration", required=True)
    retire.add_argument("--version", type=int, required=True)
    retire.set_defaults(handler=_retire)

    check = commands.add_parser("check-config", help="load a config and its key files")
    check.add_argument("--config", required=True)
    check.set_defaults(handler=_check_config)

    audit = commands.add_parser("audit", help="the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = audit_commands.add_parser("verify", help="check the audit log's hash chain")
    source = verify.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", help="TTP config YAML (its audit_log)")
    source.add_argument("--log", help="the audit log file itself")
    verify.set_defaults(handler=_audit_verify)

    openapi = commands.add_parser("openapi", help="write schemas/openapi/ttp.openapi.json")
    openapi.add_argument("--out", help="target file (default: the committed one)")
    openapi.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    openapi.set_defaults(handler=_openapi)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a ``ttp`` sub-command without the other command groups."""
    parser = argparse.ArgumentParser(prog="python -m aanlevering.cli.ttp")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["ttp", *(sys.argv[1:] if argv is None else argv)])
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.handler(args))
    except AanleveringError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
