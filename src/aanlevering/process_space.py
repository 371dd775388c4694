"""Which boot and pid namespace this process runs in, written as letters.

Why: a pid written down by one process names the same process to another
only on the same boot and in the same pid namespace (two containers of one
image share a hostname, each has its own pids). The period lock (decision
1012) and the owned temporary folders (decision 1013) both record where
their pid was taken from these two facts. Letters only: no run of digits that
could look like a number in a log line, a folder name or an event.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_HEX_AS_LETTERS = str.maketrans("0123456789abcdef", "ghijklmnopabcdef")


def boot_and_namespace() -> tuple[str, str] | None:
    """The kernel's boot id and this process's pid namespace; None without ``/proc`` (not Linux)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return None
    return boot, namespace


def as_letters(text: str, length: int) -> str:
    """``length`` letters (a to p) of the SHA-256 of ``text``: a short, digit-free fingerprint."""
    return hashlib.sha256(text.encode()).hexdigest()[:length].translate(_HEX_AS_LETTERS)
