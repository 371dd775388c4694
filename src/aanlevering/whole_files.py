"""Write a small file so that a reader only ever sees it whole (temp, fsync, rename).

Why: a receipt is what makes a delivery count. Written in place, it exists under its
own name while it is being filled: a reader then (the SFTP channel polling its inbox,
an operator's script) reads half a JSON document, and a crash leaves half a receipt
that every later commit of the key trips over. Written to a temporary name in the
same folder, fsynced and renamed over, it appears whole or not at all, also after a
power cut (decision 0472). The registry holder's receipts and the hospital's outbox
receipts (decision 0593) are written so.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def write_whole(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` by a rename of a fsynced temporary file beside it."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder)  # the rename itself survives a power cut
    finally:
        os.close(folder)
    return path
