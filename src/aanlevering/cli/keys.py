"""``aanlevering keys init-demo``: random source-step keys for the embedded default.

In production the TTP hands out each registration's source key; the
hospital's MRN key is its own. Never run this against production secrets:
it only creates files that are missing and never overwrites.
"""

from __future__ import annotations

import argparse

from aanlevering.catalogue import load_catalogue
from aanlevering.settings import load_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``keys`` command group."""
    parser = subparsers.add_parser("keys", help="hospital-side pseudonymisation keys")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("init-demo", help="create missing demo keys").set_defaults(handler=_init)


def _init(args: argparse.Namespace) -> int:
    from aanlevering.pseudonym.keys import ensure_demo_keys

    settings = load_settings()
    created = ensure_demo_keys(settings, [c.id for c in load_catalogue(settings.catalogue_dir)])
    print(f"created {len(created)} key file(s) under {settings.secrets_dir}")
    return 0
