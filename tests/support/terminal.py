"""Run a command on a pseudo-terminal (Python's ``pty``), as a person at a terminal would."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time

#: CSI escape sequences (colours, cursor moves) to read the text a terminal shows.
ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_in_terminal(argv: list[str], env: dict[str, str], seconds: float = 240) -> tuple[int, str]:
    """Run ``argv`` with stdin, stdout and stderr on a pseudo-terminal; (exit code, output)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        argv, stdin=follower, stdout=follower, stderr=follower, env=env, close_fds=True
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed its end of the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        else:
            process.kill()
            raise AssertionError(f"no end in {seconds}s: {b''.join(chunks)[-2000:]!r}")
        code = process.wait(timeout=60)
    finally:
        os.close(leader)
    return code, b"".join(chunks).decode("utf-8", errors="replace")
