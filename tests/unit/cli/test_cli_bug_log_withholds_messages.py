"""A bug's traceback in the CLI's log file holds frames and types, never a message (0682).

The exception stands for any bug: pyarrow's real error on a record it could not
parse, which quotes the record (the case of decision 0681). Before 0682 the log
file got that message, and with it the patient number, BSN, name, birth date and
postcode of the record.
"""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow.csv as pacsv
import pytest

from aanlevering.cli import main as cli_main
from aanlevering.cli import registrations
from aanlevering.withheld_traceback import withheld_traceback

#: One record with one field too many, as a damaged export holds it.
PLANTED = ("ZH-100234", "999911120", "Vliet-Kwaadsteniet", "02-03-1950", "1012 NX")


def _read_damaged_record() -> None:
    data = ("a;b;c;d;e\n" + ";".join(PLANTED) + ";extra\n").encode()
    pacsv.read_csv(io.BytesIO(data), parse_options=pacsv.ParseOptions(delimiter=";"))


def test_a_bug_quoting_a_record_leaves_only_its_type_and_frames_in_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))

    def broken(*args: object, **kwargs: object) -> None:
        try:
            _read_damaged_record()
        except ValueError as error:
            raise RuntimeError("while loading") from error

    monkeypatch.setattr(registrations, "load_catalogue", broken)

    code = cli_main.main(["registrations", "list"])

    assert code == cli_main.INTERNAL_ERROR
    log = (tmp_path / "home" / "logs" / "aanlevering.log").read_text(encoding="utf-8")
    # where the bug is: both exceptions of the chain, by type and frame
    assert "pyarrow.lib.ArrowInvalid: (message withheld" in log
    assert "RuntimeError: (message withheld" in log
    assert "_read_damaged_record" in log and "in broken" in log
    err = capsys.readouterr().err
    for text in (log, err):
        assert [value for value in PLANTED if value in text] == []


def test_an_os_error_keeps_its_reason_but_not_its_file_name(tmp_path: Path) -> None:
    missing = tmp_path / "bundle-ZH-100234.json"
    with pytest.raises(OSError) as raised:
        missing.read_text()

    text = withheld_traceback(raised.value)

    assert "FileNotFoundError: [Errno 2] No such file or directory (file name withheld)" in text
    assert "ZH-100234" not in text
