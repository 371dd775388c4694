"""``--catalogue DIR`` for every command that reads the catalogue, applied the same way.

Why one place: a command given ``--catalogue`` must not read the checkout's
catalogue anywhere further down (a run reopens its registration per step), so
the option sets ``AANLEVERING_CATALOGUE`` for the rest of the process and
returns the settings with it.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

from aanlevering.settings import Settings, load_settings

HELP = "catalogue folder (default: $AANLEVERING_CATALOGUE, else the checkout's)"


def add_catalogue_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--catalogue DIR`` to a command's parser."""
    parser.add_argument("--catalogue", metavar="DIR", help=HELP)


def settings_for(args: argparse.Namespace) -> Settings:
    """The process settings, with the catalogue of ``--catalogue`` when given."""
    settings = load_settings()
    chosen = getattr(args, "catalogue", None)
    if not chosen:
        return settings
    folder = Path(chosen).expanduser().resolve()
    os.environ["AANLEVERING_CATALOGUE"] = str(folder)
    return replace(settings, catalogue_dir=folder)
