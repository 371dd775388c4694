"""The CLI's exit codes: a hostile input is exit 2 with file and line, a bug is exit 4 (not 1).

Exit 1 means "blocked by validation"; an uncaught exception used to exit 1
too, so a crash looked like a verdict on the data.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aanlevering.cli import main as cli_main
from aanlevering.cli import registrations

EXTRACT_TESTS = Path(__file__).resolve().parents[1] / "extract"


def test_an_unexpected_exception_exits_4_with_the_traceback_only_in_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("value 999911120 from a record")  # a bug quoting an input value

    monkeypatch.setattr(registrations, "load_catalogue", broken)

    code = cli_main.main(["registrations", "list"])

    assert code == cli_main.INTERNAL_ERROR == 4
    err = capsys.readouterr().err
    assert "internal error: RuntimeError in `aanlevering registrations`" in err
    assert "Traceback" not in err and "999911120" not in err
    log = (tmp_path / "home" / "logs" / "aanlevering.log").read_text(encoding="utf-8")
    assert "Traceback" in log and "RuntimeError" in log and "registrations" in log


def test_a_hostile_csv_exits_2_naming_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(EXTRACT_TESTS))
    from extract_fixtures import dsaa_export

    folder = dsaa_export(tmp_path / "export")
    path = folder / "dsaa_operaties_2026.csv"
    lines = path.read_bytes().split(b"\n")
    broken = [lines[0], lines[1], b"", lines[2].replace(b"OPEN", b'"OPEN'), b""]
    path.write_bytes(b"\n".join(broken))

    done = subprocess.run(
        [sys.executable, "-m", "aanlevering.cli.main", "validate", "--registration", "dica-dsaa",
         "--input", str(folder), "--period", "2026", "--no-data-docs",
         "--report-dir", str(tmp_path / "reports")],
        check=False, capture_output=True, text=True, timeout=120,
        env={**os.environ, "AANLEVERING_HOME": str(tmp_path / "home")},
    )  # fmt: skip

    assert done.returncode == 2, done.stderr
    assert f"{path}: line 4: a quoted value is not closed" in done.stderr
    assert "Traceback" not in done.stderr
