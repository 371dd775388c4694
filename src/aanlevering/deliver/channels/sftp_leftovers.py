"""Clear what a killed SFTP send left in its remote version folder (decision 0660).

A send killed while uploading a version leaves data files, ``.part`` copies or
a manifest without receipt in ``<inbox>/<key>/``. The rerun uploads the
version again under the same key, but its files may differ (the content print
covers the clinical data, not the delivery format), and a registry holder
picking up the folder takes every file in it. The SFTP twin of the outbox's
``clear_leftovers`` (decision 0651).
"""

from __future__ import annotations

import logging
import posixpath
import stat

import paramiko

from aanlevering.deliver.manifest import MANIFEST_NAME, Manifest
from aanlevering.deliver.receipt import RejectedDelivery

log = logging.getLogger(__name__)

#: Files only the receiver writes: a folder holding one was decided on and is never cleared.
RECEIVER_ANSWERS = ("receipt.json", "rejected.txt")


def refuse_linked_folder(sftp: paramiko.SFTPClient, folder: str) -> None:
    """RejectedDelivery when the version folder itself is a symbolic link.

    Why: uploading into, or clearing, a linked folder writes and removes files
    wherever the link points (another inbox, the receiver's own files). It does
    not go away by retrying, so it is a rejection a person must resolve.
    """
    try:
        mode = sftp.lstat(folder).st_mode or 0
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise RejectedDelivery(
            f"the SFTP version folder {folder} is a symbolic link, not a folder; nothing was "
            "uploaded. Remove the link on the server and run again."
        )


def clear_remote_leftovers(sftp: paramiko.SFTPClient, folder: str, manifest: Manifest) -> list[str]:
    """Remove from ``folder`` what an earlier attempt left and ``manifest`` does not place.

    Returns the names removed. Nothing is removed when the folder holds a
    ``receipt.json`` or ``rejected.txt`` in any form (the receiver decided on
    it). The old manifest goes first, so the folder never shows it beside new
    files. Entries are judged by ``lstat``: a link is removed itself, never
    followed; a sub-folder (never made by this channel) is left, with a warning.
    """
    entries = sftp.listdir_attr(folder)
    names = {entry.filename for entry in entries}
    answers = [name for name in RECEIVER_ANSWERS if name in names]
    if answers:
        log.warning("SFTP %s holds the receiver's %s; nothing in it is removed", folder, answers)
        return []
    keep = {item.name for item in manifest.transferred()}
    removed: list[str] = []
    for entry in sorted(entries, key=lambda e: e.filename != MANIFEST_NAME):
        if entry.filename in keep:
            continue  # replaced by this delivery's own upload
        if stat.S_ISDIR(entry.st_mode or 0):
            log.warning(
                "SFTP %s: folder %s is not part of a delivery; left", folder, entry.filename
            )
            continue
        sftp.remove(posixpath.join(folder, entry.filename))  # unlink: a link itself, not its target
        removed.append(entry.filename)
    if removed:
        log.warning(
            "SFTP %s: removed what an earlier unreceipted attempt left: %s",
            folder,
            ", ".join(removed),
        )
    return removed
