"""A reader that stops reading (``aanlevering status | head``) is no bug.

``aanlevering status | head -20`` ended with ``internal error: BrokenPipeError in
`aanlevering status` (a bug, ...)``, exit 4 and a traceback in the log file: the
engineer was told to report a bug for using ``head``. Here a real command writes
its output into a pipe whose reading end is already closed, as after ``head``
has read its lines.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = """
import sys
from aanlevering.cli.main import main
sys.exit(main(["registrations", "list"]))
"""


def test_output_to_a_closed_pipe_ends_quietly_like_other_unix_tools(tmp_path: Path) -> None:
    home = tmp_path / "home"
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone, as `head` after its lines
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD],
            env={**os.environ, "AANLEVERING_HOME": str(home)},
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 141, done.stderr[-2000:]  # 128 + SIGPIPE, as the shell reports
    assert done.stderr == ""
    assert not (home / "logs" / "aanlevering.log").exists()


def test_a_broken_pipe_elsewhere_is_still_an_internal_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Only a closed output is the reader going away; a broken socket is worth a traceback.
    from aanlevering.cli import main as cli
    from aanlevering.cli import registrations

    def broken(args: object) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(registrations, "_list", broken)
    assert cli.main(["registrations", "list"]) == 4
    assert "internal error: BrokenPipeError" in capsys.readouterr().err
