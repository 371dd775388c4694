"""A header name that only looks like the mapped one is named so the engineer sees why (0602).

A zero-width space, a second byte order mark or a soft hyphen in a column name made
the refusal read "missing column(s): BSN; unknown column(s): BSN": two names that look
the same on a terminal, and nothing to tell what to fix. The message must show the
invisible character by its code point, and a name that differs only in case must say so.
A NUL byte anywhere in the file is refused with its line (0605).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from extract_fixtures import dsaa_export

from aanlevering.catalogue import RegistrationConfig
from aanlevering.errors import ExtractError
from aanlevering.extract import extract
from aanlevering.periods import Period

OPERATIES = "dsaa_operaties_2026.csv"


def _refusal(config: RegistrationConfig, folder: Path, old: bytes, new: bytes) -> str:
    path = folder / OPERATIES
    data = path.read_bytes()
    assert old in data.split(b"\n", 1)[0]
    path.write_bytes(data.replace(old, new, 1))
    with pytest.raises(ExtractError) as refused:
        extract(config, folder, Period.parse("2026"))
    return str(refused.value)


@pytest.mark.parametrize(
    ("invisible", "named"),
    [
        ("\u200b".encode(), "U+200B"),
        (b"\xef\xbb\xbf", "U+FEFF"),
        ("\u00ad".encode(), "U+00AD"),
    ],
)
def test_an_invisible_character_in_a_column_name_is_shown_by_its_code_point(
    tmp_path: Path, dsaa: RegistrationConfig, invisible: bytes, named: str
) -> None:
    folder = dsaa_export(tmp_path / "export")
    message = _refusal(dsaa, folder, b"BSN", b"BSN" + invisible)
    assert (
        f"unknown column(s): BSN<{named}>;" in message
        or f"unknown column(s): BSN<{named}> " in message
    )
    assert "missing column(s): BSN" in message
    assert "BSN<" + named + "> is BSN with an invisible character" in message
    assert invisible.decode("utf-8") not in message


def test_a_column_name_that_differs_only_in_case_says_so(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = dsaa_export(tmp_path / "export")
    message = _refusal(dsaa, folder, b"GESLACHTSNAAM", b"Geslachtsnaam")
    assert "missing column(s): GESLACHTSNAAM" in message
    assert "unknown column(s): Geslachtsnaam" in message
    assert "Geslachtsnaam is GESLACHTSNAAM in another case" in message


def test_a_nul_byte_in_a_value_is_refused_with_its_line(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    """Decision 0605: a NUL went into the delivery as part of the value, without a word."""
    folder = dsaa_export(tmp_path / "export")
    path = folder / OPERATIES
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b";", b"\x00;", 1)
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(ExtractError) as refused:
        extract(dsaa, folder, Period.parse("2026"))
    assert f"{OPERATIES}: line 4: a NUL character (byte 0)" in str(refused.value)
