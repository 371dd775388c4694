"""Files that may hold patient data or keys are private to the account that runs the pipeline.

Staging holds identity tables (BSN, names, birth dates) between steps; the
event log, reports, Data Docs, outboxes and keys are not for other local
users either. Rather than set a mode at each of dozens of ``mkdir`` and
``open`` calls, every entry point (each one reads :func:`load_settings`)
sets the process umask to 077, so whatever the process creates is 0700 or
0600 regardless of the umask it was started with, and the home folder itself
is narrowed to 0700. Key files are checked on read: a key that group or
others can read is refused, on the hospital's side and the TTP's alike.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from aanlevering.errors import ConfigError

#: Group and others get nothing.
PRIVATE_UMASK = 0o077


def make_process_private(home: Path | None = None) -> None:
    """Set the umask to 077 and narrow ``home`` (when it exists and is ours) to 0700."""
    os.umask(PRIVATE_UMASK)
    if home is None:
        return
    try:
        info = home.stat()
    except OSError:
        return
    if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
        home.chmod(0o700)


def check_key_file(path: Path | str, what: str) -> None:
    """Refuse (ConfigError) a key file that group or others may read or write.

    ``what`` names the key in the message (``TTP API key``); the message
    names the file and its mode, never its content.
    """
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError as error:
        raise ConfigError(f"{what} file {path}: cannot read ({error.strerror})") from None
    if mode & 0o077:
        raise ConfigError(
            f"{what} file {path} is accessible to group or others (mode {mode:o}); "
            "run chmod 600 on it"
        )
