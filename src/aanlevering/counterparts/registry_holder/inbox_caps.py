"""The limits of one delivery (decision 0433) applied to an SFTP inbox folder.

Why: over HTTPS every upload is counted against ``max_file_bytes``,
``max_files_per_delivery`` and ``max_delivery_bytes`` and a commit's manifest against
``max_manifest_bytes``; over SFTP the hospital's account writes its folder freely and
the watcher read the manifest whole and copied every file it named into the holder's
storage, however many and however large (decision 0473). sshd cannot refuse a write
for being one too many, so the watcher refuses the delivery instead, before it reads
the manifest or copies a byte, with the same 413 the HTTP interface answers.
Everything in the folder counts, hidden names too, except the watcher's own answers.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from aanlevering.counterparts.registry_holder.access import Denied
from aanlevering.counterparts.registry_holder.config import ReceiverLimits
from aanlevering.deliver.manifest import MANIFEST_NAME, Manifest

#: What the watcher itself writes into a delivery folder.
_ANSWERS = frozenset({"receipt.json", "rejected.txt", ".receipt.json.part"})


def check_folder(folder: Path, limits: ReceiverLimits) -> None:
    """Refuse (Denied 413) a folder past the limits, before its manifest is read."""
    if os.lstat(folder / MANIFEST_NAME).st_size > limits.max_manifest_bytes:
        raise Denied(413, f"{MANIFEST_NAME} is larger than {limits.max_manifest_bytes} bytes")
    files = 0
    total = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name == MANIFEST_NAME or entry.name in _ANSWERS:
                continue
            files += 1
            if files > limits.max_files_per_delivery:
                raise Denied(413, f"a delivery holds at most {limits.max_files_per_delivery} files")
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                continue  # links are refused by the watcher, anything else is reported missing
            if info.st_size > limits.max_file_bytes:
                raise Denied(413, f"a file is larger than {limits.max_file_bytes} bytes")
            total += info.st_size
            if total > limits.max_delivery_bytes:
                raise Denied(413, "the delivery's files together exceed max_delivery_bytes")


def check_manifest(manifest: Manifest, limits: ReceiverLimits) -> None:
    """Refuse (Denied 413) a manifest naming more files than one delivery may hold."""
    if len(manifest.transferred()) > limits.max_files_per_delivery:
        raise Denied(413, f"a delivery holds at most {limits.max_files_per_delivery} files")
