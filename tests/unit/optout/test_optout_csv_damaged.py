"""An opt-out extract the csv module cannot read is an input error by line, not "a bug" (0683).

A value longer than the csv module's field limit (a quote left open swallows the
rest of the file into one field) made the reader raise ``csv.Error``; it escaped
as an internal error (exit 4, "a bug, not a problem with your input"), and the
daily ``ingest-optouts`` task failed pointing the engineer at the code.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from optout_support import MRNS, optouts_csv

from aanlevering.cli.main import main


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    for name in ("AANLEVERING_EVENT_STORE", "AANLEVERING_OPTOUT_RULES"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


def test_a_quote_left_open_before_a_long_tail_is_exit_2_naming_the_line(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [f"{MRNS[0]};15-01-2027;all;", f'{MRNS[1]};"15-01-2027;all;']
    rows += [f"{MRNS[2]};01-02-2027;all;"] * 8000  # the open quote swallows them all
    extract = optouts_csv(tmp_path / "optouts.csv", rows)

    code = main(["optout", "ingest", str(extract)])

    err = capsys.readouterr().err
    assert code == 2, err
    assert "line 3" in err and "opt-out" in err
    assert [mrn for mrn in MRNS if mrn in err] == []
