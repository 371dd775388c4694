"""Where a version went when a run was told to deliver into a folder, as the event log keeps it.

Why: ``aanlevering run --outbox DIR`` and ``AANLEVERING_OUTBOX__<ID>`` were
recorded as typed, in ``DeliveryStaged.outbox`` and in the outbox's receipt
(``outbox:/srv/...``), while decision 0730 keeps every other path out of the
log when a part of it may name a patient (``/srv/upload/patient_0069386181``).
The log now holds the outbox as :func:`aanlevering.shown_names.shown_path`
shows it, and ``outbox_withheld`` says a part was withheld (decision 0903).
The retry (0665) and a retraction (0678) must still go to that folder, never
another: :func:`recorded_outbox` gives the folder back when the name was kept,
or when the registration's ``AANLEVERING_OUTBOX__<ID>`` is shown the same way,
and refuses (nothing sent) otherwise.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from aanlevering.errors import ConfigError
from aanlevering.shown_names import shown_path, withholds


def outbox_setting(registration_id: str) -> str:
    """The name of the setting that makes ``registration_id`` deliver into a folder."""
    return "AANLEVERING_OUTBOX__" + registration_id.upper().replace("-", "_").replace(".", "_")


def outbox_as_recorded(outbox: Path | None) -> tuple[str, bool]:
    """(the outbox as the event log keeps it, whether a part of it was withheld)."""
    if outbox is None:
        return "", False
    absolute = outbox.absolute()
    return shown_path(absolute), withholds(absolute)


def recorded_outbox(
    recorded: str,
    withheld: bool,
    *,
    registration: str,
    key: str,
    env: Mapping[str, str] | None = None,
) -> Path | None:
    """The folder a version recorded with ``recorded`` went to (None: no outbox).

    A withheld name is found again only through the registration's
    ``AANLEVERING_OUTBOX__<ID>`` naming a folder shown the same way; otherwise
    ConfigError: a resend or retraction must go where the version went (0678),
    never to the configured channel in its place.
    """
    if not recorded:
        return None
    if not withheld:
        return Path(recorded)
    setting = outbox_setting(registration)
    value = (os.environ if env is None else env).get(setting)
    if value:
        candidate = Path(value).expanduser()
        shown, withholds_too = outbox_as_recorded(candidate)
        if withholds_too and _comparable(shown) == _comparable(recorded):
            return candidate
    raise ConfigError(
        f"{key} went into the outbox {recorded}, whose name was withheld from the event log "
        f"as it may name a patient, so it cannot be found from the log; nothing was sent "
        f"elsewhere. Set {setting} to that folder and run the command again"
    )


#: A withheld part as :func:`aanlevering.shown_names.shown_path` labels it.
_WITHHELD_PART = re.compile(r"<[^<>/]*name withheld>")


def _comparable(shown: str) -> str:
    """``shown`` with each withheld part's label alike.

    Why: the label names the part's place among its folder's entries, which
    changes once the outbox folder exists (the version is recorded before it is
    placed); the parts kept and the number of parts withheld do not.
    """
    return _WITHHELD_PART.sub("<withheld>", shown)
