"""A disk too full to write to is exit 2 saying so, not "internal error ... a bug" (0657).

A run on a full staging disk (tried on a tiny tmpfs: at run.json, at the FHIR
texts, at the delivery files) ended with ``internal error: OSError ... (a bug,
not a problem with your input or configuration)``: the engineer on call was
sent looking for a bug. Here a real command writes in a child process with a
file-size limit (``RLIMIT_FSIZE``), so each write past it fails as on a full
disk, with no root or mount needed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
from aanlevering.cli.main import main
sys.exit(main(["demo-data", "--out", sys.argv[1]]))
"""


def test_a_write_past_the_disks_room_exits_2_naming_the_cause(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "demo")],
        env={**os.environ, "AANLEVERING_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: `aanlevering demo-data` could not write a file")
    assert "File too large" in last and "full or read-only" in last
    assert "internal error" not in done.stderr
