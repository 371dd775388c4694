"""CSV exports found in the input audit (decision 0370): each is an input error that says what is
wrong, quotes no value of a record, and needs memory bounded by the reader, not by the file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from extract_fixtures import IDENTIFYING, dsaa_export

from aanlevering.catalogue import RegistrationConfig
from aanlevering.errors import ExtractError
from aanlevering.extract import extract
from aanlevering.extract.csv_layout import HEADER_LIMIT
from aanlevering.extract.options import ExtractOptions
from aanlevering.periods import Period

YEAR = Period.parse("2026")
OPERATIES = "dsaa_operaties_2026.csv"
COMPLICATIES = "dsaa_complicaties_2026.csv"
FHIR_NL = Path(__file__).resolve().parents[2] / "fixtures" / "extract" / "fhir-nl"


def _error(config: RegistrationConfig, folder: Path, options: ExtractOptions | None = None) -> str:
    with pytest.raises(ExtractError) as caught:
        extract(config, folder, YEAR, options)
    return str(caught.value)


def _without_header(path: Path) -> None:
    path.write_bytes(path.read_bytes().split(b"\n", 1)[1])


@pytest.mark.parametrize("name", [OPERATIES, COMPLICATIES])
def test_a_file_without_its_header_line_quotes_none_of_its_first_record(
    dsaa: RegistrationConfig, tmp_path: Path, name: str
) -> None:
    folder = dsaa_export(tmp_path / "export")
    _without_header(folder / name)
    message = _error(dsaa, folder)
    assert f"{name}: line 1 is not a header" in message
    assert "PATIENTNUMMER" in message  # the columns the mapping expects are named
    leaked = [value for value in (*IDENTIFYING, "2026-05-04", "05-02-2026") if value in message]
    assert not leaked, message


def test_a_header_in_the_wrong_delimiter_still_gets_the_delimiter_hint(
    dsaa: RegistrationConfig, tmp_path: Path
) -> None:
    folder = dsaa_export(tmp_path / "export", delimiter="|")
    assert dsaa.csv_source is not None
    config = replace(dsaa, csv_source=replace(dsaa.csv_source, delimiter=";"))
    message = _error(config, folder)
    assert "is source.csv.delimiter right?" in message
    assert not [value for value in IDENTIFYING if value in message], message


def test_a_utf16_export_is_named_as_such(dsaa: RegistrationConfig, tmp_path: Path) -> None:
    folder = dsaa_export(tmp_path / "export")
    path = folder / OPERATIES
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    message = _error(dsaa, folder)
    assert "UTF-16" in message and OPERATIES in message
    assert "\x00" not in message


def test_a_header_line_longer_than_the_limit_is_refused_without_reading_it_whole(
    dsaa: RegistrationConfig, tmp_path: Path
) -> None:
    folder = dsaa_export(tmp_path / "export")
    (folder / OPERATIES).write_bytes(b"X;" * (HEADER_LIMIT // 2 + 10) + b"\n")
    message = _error(dsaa, folder)
    assert f"{OPERATIES}: line 1 is longer than" in message


def test_a_record_longer_than_a_reader_block_names_its_line(
    dsaa: RegistrationConfig, tmp_path: Path
) -> None:
    folder = dsaa_export(tmp_path / "export")
    path = folder / OPERATIES
    lines = path.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b";EVAR;", b";" + b"E" * (40 << 10) + b";")
    path.write_bytes(b"\n".join(lines))
    message = _error(dsaa, folder, ExtractOptions(block_size=16 << 10))
    assert f"{OPERATIES}: line 2: the record is longer than" in message, message


@pytest.mark.parametrize(
    "text",
    ["[" * 100_000 + "]" * 100_000, '{"n": ' + "9" * 5_000 + "}", '{"n": NaN}'],
    ids=["deeply-nested", "too-many-digits", "nan"],
)
def test_a_hostile_json_file_next_to_csv_exports_is_no_fhir_input_and_no_crash(
    dsaa: RegistrationConfig, tmp_path: Path, text: str
) -> None:
    folder = dsaa_export(tmp_path / "export")
    (folder / "notes.json").write_text(text)
    result = extract(dsaa, folder, YEAR)
    assert result.source_kind == "csv"


def _unreadable(monkeypatch: pytest.MonkeyPatch, target: Path) -> None:
    """``target`` cannot be opened, as for a file of another user (root reads any file)."""
    real_open = Path.open

    def deny(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == target:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", deny)


def test_an_unreadable_csv_file_is_an_input_error_naming_it(
    dsaa: RegistrationConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = dsaa_export(tmp_path / "export")
    _unreadable(monkeypatch, folder / OPERATIES)
    message = _error(dsaa, folder)
    assert f"{OPERATIES}: cannot be read (Permission denied)" in message


def test_an_unreadable_fhir_file_is_an_input_error_naming_it(
    dsaa: RegistrationConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "export"
    shutil.copytree(FHIR_NL, folder)
    _unreadable(monkeypatch, folder / "Procedure.ndjson")
    message = _error(dsaa, folder)
    assert "Procedure.ndjson: cannot be read (Permission denied)" in message


#: Extract dica-dsaa 2026 from argv[1] in a process of its own; print the ExtractError.
_EXTRACT_IN_A_PROCESS = """
import sys
from pathlib import Path
from aanlevering.catalogue import load_catalogue
from aanlevering.errors import ExtractError
from aanlevering.extract import extract
from aanlevering.periods import Period
config = load_catalogue(Path(sys.argv[2])).get("dica-dsaa")
try:
    extract(config, Path(sys.argv[1]), Period.parse("2026"))
except ExtractError as error:
    print(error)
"""


def test_an_input_folder_without_read_rights_is_an_input_error(tmp_path: Path) -> None:
    """Root reads a folder of mode 000: the extract then runs without the capabilities that
    override file permissions (``setpriv``), as any other user would."""
    folder = dsaa_export(tmp_path / "export")
    folder.chmod(0)
    without_override = (
        ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"]
        if os.geteuid() == 0
        else []
    )
    catalogue = Path(__file__).resolve().parents[3] / "schemas" / "catalogue"
    try:
        done = subprocess.run(
            [*without_override, sys.executable, "-c", _EXTRACT_IN_A_PROCESS, str(folder),
             str(catalogue)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        folder.chmod(0o700)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{folder}: cannot be read (Permission denied)" in done.stdout
