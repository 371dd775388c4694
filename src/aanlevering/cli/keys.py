"""``aanlevering keys init-demo | export | import``: the hospital's source-step keys.

In production the TTP hands out each registration's source key; the
hospital's MRN key is its own. ``init-demo`` creates random keys that are
missing (never overwrites; never against production secrets). ``export``
writes one registration's source key to a 0600 file with its version and
key check value, for the other hospitals of the registration; ``import``
installs such a file (a newer version replaces the old one: rotation);
``check-values`` prints each installed key's version and check value, which
hospitals can compare without showing the key.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from aanlevering.catalogue import load_catalogue
from aanlevering.cli.catalogue_option import add_catalogue_option, settings_for
from aanlevering.settings import load_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``keys`` command group."""
    parser = subparsers.add_parser("keys", help="hospital-side pseudonymisation keys")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    init = actions.add_parser("init-demo", help="create missing demo keys")
    add_catalogue_option(init)
    init.set_defaults(handler=_init)
    export = actions.add_parser("export", help="write a registration's source key to a file")
    export.add_argument("--registration", required=True)
    export.add_argument("--out", required=True, type=Path, help="new file (mode 0600)")
    export.set_defaults(handler=_export)
    actions.add_parser(
        "check-values", help="version and check value of each installed source key"
    ).set_defaults(handler=_check_values)
    imported = actions.add_parser("import", help="install a source key exported elsewhere")
    imported.add_argument("file", type=Path)
    imported.add_argument(
        "--replace", action="store_true", help="install even if not newer than the current key"
    )
    imported.set_defaults(handler=_import)


def _init(args: argparse.Namespace) -> int:
    from aanlevering.pseudonym.keys import ensure_demo_keys

    settings = settings_for(args)
    created = ensure_demo_keys(settings, [c.id for c in load_catalogue(settings.catalogue_dir)])
    print(f"created {len(created)} key file(s) under {settings.secrets_dir}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from aanlevering.pseudonym.keys import export_source_key

    check = export_source_key(load_settings(), args.registration, args.out)
    print(
        f"wrote source key {args.registration} version {check.version} "
        f"(check value {check.check_value}) to {args.out}; hand it over securely"
    )
    return 0


def _import(args: argparse.Namespace) -> int:
    from aanlevering.pseudonym.keys import import_source_key

    done = import_source_key(load_settings(), args.file, replace=args.replace)
    if done.unchanged:
        print(f"source key {done.registration} version {done.version} is already installed")
    else:
        was = f" (replaces version {done.replaced_version})" if done.replaced_version else ""
        print(
            f"installed source key {done.registration} version {done.version}{was}, "
            f"check value {done.check_value}"
        )
    return 0


def _check_values(args: argparse.Namespace) -> int:
    """Print what hospitals compare to know they share a registration's key (never the key)."""
    from aanlevering.pseudonym.key_check import source_key_check
    from aanlevering.pseudonym.keys import source_key_path
    from aanlevering.pseudonym.source_step import load_source_key

    settings = load_settings()
    for config in load_catalogue(settings.catalogue_dir):
        path = source_key_path(settings, config.id)
        if not path.is_file():
            print(f"{config.id}\t-\tno source key installed")
            continue
        check = source_key_check(load_source_key(config.id, path=path))
        print(f"{config.id}\tv{check.version}\t{check.check_value}")
    return 0
