"""Files that may hold patient data or keys are private to the account that runs the pipeline.

Staging holds identity tables (BSN, names, birth dates) between steps; the
event log, reports, Data Docs, outboxes and keys are not for other local
users either. Rather than set a mode at each of dozens of ``mkdir`` and
``open`` calls, every entry point (each one reads :func:`load_settings`)
sets the process umask to 077, so whatever the process creates is 0700 or
0600 regardless of the umask it was started with, and the home folder itself
is narrowed to 0700. Key files are checked on read: a key that group or
others can read is refused, on the hospital's side and the TTP's alike.

The mode of a path aanlevering did not create is never changed (decisions
0700-0704): run as root with ``AANLEVERING_HOME`` at ``/etc/passwd`` or ``/``,
narrowing "the home" would break the machine. The home is narrowed only
when it is clearly aanlevering's own (empty, or holding only what
aanlevering makes there); a home that is not a folder, or an open folder
holding anything else, is refused. Folders made for keys and runs are made
0700 by :func:`make_private_folder`, which leaves existing folders alone.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from aanlevering.errors import ConfigError

#: Group and others get nothing.
PRIVATE_UMASK = 0o077


#: What aanlevering and its scripts make at the top of ``$AANLEVERING_HOME``: the
#: event log (SQLite and its side files), ``staging``, ``reports``, ``secrets``,
#: ``airflow``, ``logs``, ``demo``, ``outbox``, the projections and rules files
#: (settings.py, projections.py, optout/obligation rules, cli/main.py,
#: deliver/channels/factory.py), and ``run``, ``tls``, ``ttp``, ``registry-holder``
#: of scripts/services.sh. ``lost+found`` is there on a freshly formatted disk.
HOME_ENTRIES = frozenset(
    {
        "events.sqlite3",
        "events.sqlite3-wal",
        "events.sqlite3-shm",
        "events.sqlite3-journal",
        "staging",
        "reports",
        "secrets",
        "airflow",
        "logs",
        "demo",
        "outbox",
        "projections.json",
        "projections.tmp",
        "optout-rules.yaml",
        "obligation-rules.yaml",
        "run",
        "tls",
        "ttp",
        "registry-holder",
        "lost+found",
    }
)


def make_process_private(home: Path | None = None) -> None:
    """Set the umask to 077 and narrow ``home`` to 0700 when it is clearly ours.

    Why the care: this runs in every entry point, often as root in a
    container, so a mistyped or empty ``AANLEVERING_HOME`` must not change the
    mode of a system file or folder (see :func:`narrow_home`).
    """
    os.umask(PRIVATE_UMASK)
    if home is not None:
        narrow_home(home)


def narrow_home(home: Path) -> None:
    """Narrow an open home folder to 0700 if it is aanlevering's own; refuse what is not.

    Missing: nothing to do (it is made 0700 when first written, umask 077).
    Not a folder: ConfigError, mode untouched. Already closed to group and
    others: left as it is. Open and owned by another account: ConfigError
    (not ours to narrow, and others could read what we would keep there).
    Open and ours: narrowed when empty or holding only :data:`HOME_ENTRIES` (a new
    Docker volume, an older ``var/``), refused otherwise (a shared or system
    folder). The file system root is always refused. The refusal counts the
    other entries but does not name them: a file name may be an identifier.
    """
    if is_file_system_root(home):
        raise ConfigError(
            f"AANLEVERING_HOME is {home}, the file system root (an unset variable in it?); "
            "point AANLEVERING_HOME at a folder of its own"
        )
    try:
        info = os.stat(home)
    except FileNotFoundError:
        return
    except OSError:
        return  # unreadable: the first write in it says why, with its path
    if not stat.S_ISDIR(info.st_mode):
        raise ConfigError(
            f"AANLEVERING_HOME {home} is not a folder; point AANLEVERING_HOME at a folder "
            "of its own (a missing one is created), its mode was left as it is"
        )
    mode = stat.S_IMODE(info.st_mode)
    if not mode & 0o077:
        return
    if info.st_uid != os.geteuid():
        raise ConfigError(
            f"AANLEVERING_HOME {home} belongs to another account (uid {info.st_uid}, this process "
            f"runs as uid {os.geteuid()}) and is readable by group or others (mode {mode:o}), so "
            "it is not changed and not used: the identifiers aanlevering keeps there (staging, "
            "event log, keys) would be readable by others. Run as the folder's owner, or point "
            "AANLEVERING_HOME at a folder of this account's own (a missing one is created)"
        )
    others = sum(1 for name in os.listdir(home) if name not in HOME_ENTRIES)
    if others:
        raise ConfigError(
            f"AANLEVERING_HOME {home} is readable by group or others (mode {mode:o}) and holds "
            f"{others} file(s) or folder(s) aanlevering did not make there, so it is not "
            "changed: the identifiers aanlevering keeps there (staging, event log, keys) "
            "would be readable by others too. Point AANLEVERING_HOME at a folder of its own "
            "(new or empty), or, if this folder is meant for aanlevering only, run "
            f"chmod 700 {home}"
        )
    home.chmod(0o700)


def is_file_system_root(path: Path) -> bool:
    """Whether ``path`` is ``/`` (or a drive root): never aanlevering's home to narrow."""
    resolved = Path(os.path.abspath(path))
    return resolved.parent == resolved


def make_private_folder(path: Path) -> None:
    """Create ``path`` and its missing parents with mode 0700; leave existing folders alone.

    Why not ``mkdir(exist_ok=True)`` and ``chmod``: an existing folder may be a
    mount point, a shared or a system folder, whose mode is not ours to
    change; what we make is 0700 whatever the umask. A folder another process
    makes at the same moment is left as that process made it.
    """
    missing: list[Path] = []
    current = path
    while not os.path.lexists(current):
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue
        folder.chmod(0o700)


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
