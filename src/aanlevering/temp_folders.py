"""Temporary folders that name their owner, so the next command removes a killed one's.

Why: outside a run folder a FHIR extract keeps source resources (ids,
``Patient/<id>`` references) in ``$TMPDIR/aanlevering-texts-*`` and its
reading workers write identity columns in ``$TMPDIR/aanlevering-fhir-part-*``;
a task writes TLS and SSH keys given as text to ``aanlevering-credentials-*``.
SIGTERM cleans them up (decision 0685); SIGKILL and a power loss cannot, and
the operating system may keep them for weeks. Each such folder's name
records its owner: the pid, the pid's start time (clock ticks since boot, so
a reused pid is told apart), the boot and the process space (hostname and
pid namespace, as the period lock's :func:`this_host`, decision 1012). The
next command (:func:`sweep_dead_owners`, called by every CLI command and at
the start of every pipeline run's extract) removes the folders of owners
that are gone (decision 1013).

Removed only: a folder (not a link) of this account, named exactly by
:func:`owned_folder`'s pattern, whose owner was in this process space and
is dead, a zombie, a different process under its pid, or of an earlier
boot. A folder of another account, another host or pid namespace, a live
owner, or any other name is left alone. Linux only (``/proc``): elsewhere
folders get no owner in their name and nothing is swept.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import stat
import tempfile
from pathlib import Path

from aanlevering.process_space import as_letters, boot_and_namespace

log = logging.getLogger(__name__)

#: Every owned folder's name starts so; then the kind, the owner and mkdtemp's 8 characters.
PREFIX = "aanlevering-"
#: The kinds of owned folder: a FHIR extract's kept texts, a FHIR reading worker's part,
#: key material written for one task (in /dev/shm or ``AANLEVERING_CREDENTIALS_DIR``).
KINDS = ("texts", "fhir-part", "credentials")
_KIND = "|".join(KINDS)
_NAME = re.compile(
    rf"aanlevering-(?:{_KIND})-(?P<pid>[1-9][0-9]{{0,9}})-(?P<start>[0-9]{{1,20}})"
    r"-(?P<seat>[a-p]{10})-(?P<boot>[a-p]{10})-[a-z0-9_]{8}"
)


def _space() -> tuple[str, str] | None:
    """(seat, boot): this host and pid namespace, and this boot; None without ``/proc``."""
    ids = boot_and_namespace()
    if ids is None:
        return None
    boot, namespace = ids
    return as_letters(f"{socket.gethostname()} {namespace}", 10), as_letters(boot, 10)


def _started(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot); None when it is gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # the command name may hold spaces
    if len(fields) < 20 or fields[0] in ("Z", "X", "x"):
        return None  # killed and not yet reaped: it will never clean up
    return int(fields[19]) if fields[19].isdigit() else None


def owned_folder(kind: str, parent: Path | None = None) -> Path:
    """A new private folder (0700) in ``parent`` (default ``$TMPDIR``) naming this process.

    ``kind``: one of :data:`KINDS`.
    """
    if kind not in KINDS:  # pragma: no cover - a programming error
        raise ValueError(f"unknown temporary folder kind {kind!r}")
    prefix = f"{PREFIX}{kind}-"
    space = _space()
    started = _started(os.getpid())
    if space is not None and started is not None:
        prefix += f"{os.getpid()}-{started}-{space[0]}-{space[1]}-"
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


def _owner_gone(match: re.Match[str], seat: str, boot: str) -> bool:
    """Whether the folder's owner can no longer clean up (see the module docstring)."""
    if match["seat"] != seat:
        return False  # another host or pid namespace: its pids mean nothing here
    if match["boot"] != boot:
        return True  # this host's earlier boot: every process of it has ended
    return _started(int(match["pid"])) != int(match["start"])


def sweep_dead_owners(parent: Path | None = None) -> int:
    """Remove owned folders in ``parent`` (default ``$TMPDIR``) of owners that are gone.

    Returns how many were removed and logs the count, never a name or content.
    Never raises: a folder that cannot be read or removed is left for next time.
    """
    space = _space()
    if space is None:
        return 0
    seat, boot = space
    folder = parent if parent is not None else Path(tempfile.gettempdir())
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    removed = 0
    for entry in entries:
        match = _NAME.fullmatch(entry.name)
        if match is None or not _owner_gone(match, seat, boot):
            continue
        try:
            status = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.geteuid():
            continue
        try:
            shutil.rmtree(entry.path)
        except OSError:
            continue
        removed += 1
    if removed:
        log.info(
            "removed %d temporary folder(s) left in %s by aanlevering processes that were "
            "killed before they could clean up",
            removed,
            folder,
        )
    return removed
