"""A command stopped with SIGTERM removes its temporary files on the way out (0685).

Outside a run folder (``aanlevering validate``, ``failures``, ``registrations
check --sample``) a FHIR extract keeps the records' source resources in a
private temporary folder, removed when the command ends. SIGTERM (``kill``, a
cron or systemd timeout) ended the process at once, Python's default: the
folder stayed in ``$TMPDIR`` for good, with the resources' ids and references
(``Patient/<id>``: a source patient id, often the hospital's patient number).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
NL = REPO / "tests" / "fixtures" / "extract" / "fhir-nl"


def _kept_texts(tmp: Path) -> list[Path]:
    return [p for p in tmp.glob("aanlevering-texts-*/*") if p.stat().st_size > 0]


def test_a_terminated_validate_leaves_no_kept_texts_in_the_temporary_folder(
    tmp_path: Path,
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {
        **os.environ,
        "TMPDIR": str(tmp),
        "AANLEVERING_HOME": str(tmp_path / "home"),
        "AANLEVERING_CATALOGUE": str(REPO / "schemas" / "catalogue"),
    }
    arguments = ["validate", "--registration", "ldtr", "--input", str(NL), "--period", "2026"]
    process = subprocess.Popen(
        [sys.executable, "-m", "aanlevering.cli.main", *arguments],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not _kept_texts(tmp) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _kept_texts(tmp), "the extract kept no texts before the command ended"
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode in (-signal.SIGTERM, 128 + signal.SIGTERM), err
    assert list(tmp.iterdir()) == []
