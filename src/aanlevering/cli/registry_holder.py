"""``aanlevering registry-holder serve | init-config``: the reference registry holder."""

from __future__ import annotations

import argparse
import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from aanlevering.catalogue import load_catalogue
from aanlevering.counterparts.common.tls import add_tls_arguments

if TYPE_CHECKING:
    from aanlevering.counterparts.registry_holder.config import ReceiverConfig
    from aanlevering.counterparts.registry_holder.store import Exchanger
    from aanlevering.pseudonym.ttp.client import TTPClient
from aanlevering.cli.catalogue_option import add_catalogue_option, settings_for


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``registry-holder`` command group."""
    parser = subparsers.add_parser("registry-holder", help="run the reference registry holder")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    serve = actions.add_parser("serve", help="serve the delivery endpoint over HTTP")
    serve.add_argument("--config", required=True, type=Path)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8766)
    add_tls_arguments(serve)
    serve.set_defaults(handler=_serve)
    init = actions.add_parser("init-config", help="write a working demo config and API key")
    init.add_argument("--out", required=True, type=Path)
    init.add_argument(
        "--hospital",
        action="append",
        default=None,
        help="hospital id; repeat for several hospitals (default: AANLEVERING_PROVIDER_ID)",
    )
    init.add_argument("--fault-injection", action="store_true", help="enable /_faults (tests)")
    init.add_argument("--ttp-url", default=None, help="TTP for web-mode exchange")
    init.add_argument("--ttp-ca-bundle", type=Path, default=None, help="PEM CA of the TTP's cert")
    init.add_argument(
        "--ttp-forwarding",
        type=Path,
        default=None,
        help="folder with <registry-holder-id>.key: keys the TTP forwards local deliveries with",
    )
    init.add_argument(
        "--ttp-clients",
        type=Path,
        default=None,
        help="folder with <registry-holder-id>.key API keys at the TTP (from `ttp init-config`)",
    )
    add_catalogue_option(init)
    init.set_defaults(handler=_init_config)
    audit = actions.add_parser("audit", help="the audit trail")
    audit_actions = audit.add_subparsers(dest="audit_action", metavar="ACTION", required=True)
    verify = audit_actions.add_parser("verify", help="check the audit log's hash chain")
    source = verify.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", type=Path, help="registry holder config YAML")
    source.add_argument("--log", type=Path, help="the audit log file itself")
    verify.set_defaults(handler=_audit_verify)
    openapi = actions.add_parser("openapi", help="print or write the OpenAPI document")
    openapi.add_argument("--out", type=Path, default=None)
    openapi.set_defaults(handler=_openapi)


def _read_key_file(path: Path, what: str) -> str:
    """A key from a file only the owner may read (ConfigError names file and mode otherwise)."""
    from aanlevering.private_files import check_key_file

    check_key_file(path, what)
    return path.read_text(encoding="utf-8").strip()


def _new_key_file(path: Path) -> str:
    """A fresh API key in ``path`` (mode 0600 from the start); the existing one if there."""
    if path.is_file():
        return _read_key_file(path, "registry holder API key")
    api_key = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(api_key + "\n")
    return api_key


def write_demo_config(
    out: Path,
    hospitals: str | Sequence[str],
    registrations: list[str],
    *,
    fault_injection: bool = False,
    ttp_url: str | None = None,
    ttp_api_key_files: dict[str, Path] | None = None,
    forwarder_key_files: dict[str, Path] | None = None,
    forwarder_registrations: dict[str, list[str]] | None = None,
    ttp_ca_bundle: Path | None = None,
    catalogue_dir: Path | None = None,
) -> Path:
    """Write config + an API key file per hospital (``<id>.api-key``, 0600); return the config.

    Each hospital gets its own SFTP inbox per registration,
    ``sftp-inbox/<hospital>/<registration>``. Key files already there are
    kept, so adding a hospital does not change the others' keys. Each
    forwarder key (the TTP's, per registry holder) may deliver only to that
    holder's registrations (``forwarder_registrations``; default: all).
    """
    from aanlevering.counterparts.registry_holder.config import hash_api_key

    ids = [hospitals] if isinstance(hospitals, str) else list(dict.fromkeys(hospitals))
    out.mkdir(parents=True, exist_ok=True)
    hashes = {h: hash_api_key(_new_key_file(out / f"{h}.api-key")) for h in ids}
    config: dict[str, object] = {
        "receiver_id": "reference-registry-holder",
        "storage_dir": "storage",
        "registrations": registrations,
        "hospitals": hashes,
        # The TTP forwards local-mode deliveries with its own key per registry holder,
        # always on behalf of a named hospital.
        "forwarders": {
            f"ttp-forwarder-{holder}": hash_api_key(_read_key_file(path, "TTP forwarder API key"))
            for holder, path in (forwarder_key_files or {}).items()
        },
        # Each forwarder key delivers only to its registry holder's registrations.
        "forwarder_registrations": {
            f"ttp-forwarder-{holder}": list(
                (forwarder_registrations or {}).get(holder, registrations)
            )
            for holder in (forwarder_key_files or {})
        },
        "sftp_inboxes": {h: [f"sftp-inbox/{h}/{r}" for r in registrations] for h in ids},
        "fault_injection": fault_injection,
    }
    if catalogue_dir is not None:
        # The registrations' terms (pseudonym types, dictionary columns) it checks against.
        config["catalogue_dir"] = str(catalogue_dir.resolve())
    if ttp_url:
        config["ttp_url"] = ttp_url
        config["ttp_api_key_files"] = {k: str(v) for k, v in (ttp_api_key_files or {}).items()}
        if ttp_ca_bundle is not None:
            config["ttp_tls"] = {"ca_bundle": str(ttp_ca_bundle.resolve())}
    for hospital in ids:
        for registration in registrations:
            (out / "sftp-inbox" / hospital / registration).mkdir(parents=True, exist_ok=True)
    path = out / "registry-holder.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _init_config(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    configs = list(load_catalogue(settings.catalogue_dir))
    registrations = [c.id for c in configs]
    key_files = (
        {c.id: args.ttp_clients / f"{c.registry_holder_id}.key" for c in configs}
        if args.ttp_clients
        else {}
    )
    path = write_demo_config(
        args.out,
        args.hospital or [settings.provider_id],
        registrations,
        fault_injection=args.fault_injection,
        ttp_url=args.ttp_url,
        ttp_api_key_files=key_files,
        ttp_ca_bundle=args.ttp_ca_bundle,
        catalogue_dir=Path(settings.catalogue_dir),
        forwarder_key_files={
            c.registry_holder_id: args.ttp_forwarding / f"{c.registry_holder_id}.key"
            for c in configs
        }
        if args.ttp_forwarding
        else None,
        forwarder_registrations={
            holder: [c.id for c in configs if c.registry_holder_id == holder]
            for holder in {c.registry_holder_id for c in configs}
        },
    )
    print(f"wrote {path}")
    return 0


def ttp_client_for(config: ReceiverConfig) -> Callable[[str], TTPClient]:
    """The TTP client the exchange uses per registration: its API key, or the client certificate.

    Why both: a TTP that knows the registry holder by its certificate subject
    (mTLS) needs no API key, so ``ttp_tls.client_cert`` alone is enough; a
    registration with neither is a configuration error naming it.
    """
    from aanlevering.errors import ConfigError
    from aanlevering.pseudonym.ttp.client import TTPClient

    if not config.ttp_url:
        raise ConfigError("the registry holder config names no ttp_url")
    ttp_url = config.ttp_url

    def client_for(registration: str) -> TTPClient:
        key_file = config.ttp_api_key_files.get(registration)
        if key_file is not None:
            api_key = _read_key_file(key_file, "TTP API key")
        elif config.ttp_tls.client_cert is not None:
            api_key = ""  # the client certificate authenticates (mTLS)
        else:
            raise ConfigError(
                f"no TTP API key file for registration {registration} and no ttp_tls "
                "client_cert: the registry holder cannot authenticate at the TTP"
            )
        return TTPClient(ttp_url, api_key, tls=config.ttp_tls)

    return client_for


def _exchanger(config: ReceiverConfig) -> Exchanger | None:
    """Web-mode exchange at the TTP, when the config names the TTP and holder keys."""
    from aanlevering.counterparts.registry_holder.exchange import make_exchanger

    if not config.ttp_url:
        return None
    return make_exchanger(ttp_client_for(config))


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from aanlevering.counterparts.common.audit import ChainedAuditLog
    from aanlevering.counterparts.common.tls import server_tls_from_args
    from aanlevering.counterparts.registry_holder.app import create_app
    from aanlevering.counterparts.registry_holder.config import load_receiver_config
    from aanlevering.counterparts.registry_holder.sftp_inbox import (
        inbox_registration,
        start_watcher,
    )
    from aanlevering.counterparts.registry_holder.store import DeliveryStore, start_expiry

    tls = server_tls_from_args(args)
    config = load_receiver_config(args.config)
    from aanlevering.counterparts.registry_holder.terms import load_terms

    terms = load_terms(config.catalogue_dir) if config.catalogue_dir is not None else {}
    store = DeliveryStore(
        config.storage_dir, config.receiver_id, exchanger=_exchanger(config), terms=terms
    )
    # One audit log per process: the HTTP interface and the SFTP inboxes share its chain.
    audit = ChainedAuditLog(config.audit_log) if config.audit_log is not None else None
    stop = (
        start_watcher(
            config.sftp_inboxes,
            store,
            audit=audit,
            limits=config.limits,
            authorised=config.registrations_of,
            # An inbox named after a registration takes only that one's deliveries (0793).
            registration_of=lambda inbox: inbox_registration(inbox, config.registrations),
        )
        if config.sftp_inboxes
        else None
    )
    expiry = start_expiry(store, config.limits.incoming_max_age_seconds)
    try:
        uvicorn.run(
            create_app(config, store, audit=audit),
            host=args.host,
            port=args.port,
            log_level="warning",
            **tls.uvicorn_options(),
        )
    finally:
        expiry.set()
        if stop is not None:
            stop.set()
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    from aanlevering.counterparts.common.audit import verify_command
    from aanlevering.counterparts.registry_holder.config import load_receiver_config

    path = args.log or load_receiver_config(args.config).audit_log
    return verify_command(Path(path or "audit.jsonl"))


def openapi_document() -> dict[str, object]:
    """The registry holder's OpenAPI document, as published in ``schemas/openapi``."""
    from aanlevering.counterparts.registry_holder.app import create_app
    from aanlevering.counterparts.registry_holder.config import ReceiverConfig
    from aanlevering.counterparts.registry_holder.store import DeliveryStore

    config = ReceiverConfig(
        receiver_id="openapi",
        storage_dir=Path("/nonexistent"),
        registrations=frozenset(),
        hospital_key_hashes={},
    )
    app = create_app(config, DeliveryStore.__new__(DeliveryStore))
    return dict(app.openapi())


def _openapi(args: argparse.Namespace) -> int:
    import json

    text = json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0
