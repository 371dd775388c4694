"""Small, fictional EHR exports written by the tests: CSV rows in the example registrations' shape.

Every person here is made up. ``IDENTIFYING`` lists the identity values the
tests search for in error messages and outputs, to prove they never leak.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

DSAA_OPERATIE_COLUMNS: tuple[str, ...] = (
    "OK_ID", "PATIENTNUMMER", "BSN", "VOORVOEGSELS", "GESLACHTSNAAM", "PARTNERVOORVOEGSELS",
    "PARTNERNAAM", "VOORLETTERS", "GEBOORTEDATUM", "GESLACHT", "POSTCODE", "HUISNUMMER",
    "HUISNUMMERTOEVOEGING", "OPNAMEDATUM", "OPERATIEDATUM", "ONTSLAGDATUM", "AANEURYSMA_TYPE",
    "DIAMETER_MM", "URGENTIE", "TECHNIEK", "ASA", "BMI", "KREATININE", "OVERLEDEN_30D",
    "OVERLIJDENSDATUM",
)  # fmt: skip

DSAA_COMPLICATIE_COLUMNS: tuple[str, ...] = (
    "COMPLICATIE_ID", "OK_ID", "PATIENTNUMMER", "DATUM", "SOORT", "CLAVIEN_DINDO", "REINTERVENTIE",
)  # fmt: skip

PERSON_A = {
    "PATIENTNUMMER": "ZH-100234", "BSN": "999911120", "VOORVOEGSELS": "van",
    "GESLACHTSNAAM": "Bruïne", "PARTNERVOORVOEGSELS": "de", "PARTNERNAAM": "Çelik",
    "VOORLETTERS": "J.P.", "GEBOORTEDATUM": "02-03-1950", "GESLACHT": "V",
    "POSTCODE": "1012 NX", "HUISNUMMER": "12", "HUISNUMMERTOEVOEGING": "A",
}  # fmt: skip
PERSON_B = {
    "PATIENTNUMMER": "ZH-100777", "BSN": "999910048", "VOORVOEGSELS": "",
    "GESLACHTSNAAM": "Ünal", "PARTNERVOORVOEGSELS": "", "PARTNERNAAM": "",
    "VOORLETTERS": "K.", "GEBOORTEDATUM": "1944-11-30", "GESLACHT": "M",
    "POSTCODE": "9711ab", "HUISNUMMER": "7", "HUISNUMMERTOEVOEGING": "",
}  # fmt: skip
PERSON_C = {
    "PATIENTNUMMER": "ZH-100999", "BSN": "999910036", "VOORVOEGSELS": "",
    "GESLACHTSNAAM": "Kuipers", "PARTNERVOORVOEGSELS": "", "PARTNERNAAM": "",
    "VOORLETTERS": "M.", "GEBOORTEDATUM": "17-08-1939", "GESLACHT": "M",
    "POSTCODE": "3511 AB", "HUISNUMMER": "140", "HUISNUMMERTOEVOEGING": "bis",
}  # fmt: skip

#: Identity values that must never appear in messages or non-identity outputs.
IDENTIFYING: tuple[str, ...] = tuple(
    value
    for person in (PERSON_A, PERSON_B, PERSON_C)
    for key, value in person.items()
    # short values ("A", "K.", "van") would match anything; they identify no one on their own
    if len(value) >= 4
)


def operatie(
    ok_id: str, person: Mapping[str, str], operated: str, **clinical: str
) -> dict[str, str]:
    """One dsaa operation row: sensible clinical defaults, overridable per column."""
    row = {
        "OK_ID": ok_id, "OPNAMEDATUM": operated, "OPERATIEDATUM": operated,
        "ONTSLAGDATUM": "", "AANEURYSMA_TYPE": "1", "DIAMETER_MM": "55", "URGENTIE": "1",
        "TECHNIEK": "EVAR", "ASA": "2", "BMI": "25,4", "KREATININE": "90",
        "OVERLEDEN_30D": "nee", "OVERLIJDENSDATUM": "",
    }  # fmt: skip
    row.update(person)
    row.update(clinical)
    return row


def complicatie(
    comp_id: str, ok_id: str, person: Mapping[str, str], day: str, **clinical: str
) -> dict[str, str]:
    """One dsaa complication row."""
    row = {
        "COMPLICATIE_ID": comp_id, "OK_ID": ok_id, "PATIENTNUMMER": person["PATIENTNUMMER"],
        "DATUM": day, "SOORT": "NABL", "CLAVIEN_DINDO": "2", "REINTERVENTIE": "ja",
    }  # fmt: skip
    row.update(clinical)
    return row


def csv_text(
    columns: Sequence[str], rows: Sequence[Mapping[str, str]], delimiter: str = ";"
) -> str:
    """CSV text as an EHR writes it: header, one line per row, quoting only where needed."""

    def cell(value: str) -> str:
        if any(ch in value for ch in (delimiter, '"', "\n")):
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [delimiter.join(columns)]
    lines += [delimiter.join(cell(row.get(c, "")) for c in columns) for row in rows]
    return "\n".join(lines) + "\n"


def write_csv(
    path: Path,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, str]],
    *,
    delimiter: str = ";",
    encoding: str = "utf-8",
) -> Path:
    """Write rows in ``encoding`` (``utf-8-sig`` adds the BOM, ``cp1252`` the Windows code page)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_text(columns, rows, delimiter).encode(encoding))
    return path


def dsaa_export(
    folder: Path,
    *,
    encoding: str = "utf-8",
    delimiter: str = ";",
    extra_operaties: Sequence[Mapping[str, str]] = (),
) -> Path:
    """A dsaa export: three operations (Q1 2026, Q2 2026, Q4 2025) and their complications."""
    operaties = [
        operatie("OK-1", PERSON_A, "03-02-2026", ONTSLAGDATUM="10-02-2026"),
        operatie("OK-2", PERSON_B, "2026-05-04", TECHNIEK="OPEN", BMI="31", OVERLEDEN_30D="ja",
                 OVERLIJDENSDATUM="20-05-2026"),
        operatie("OK-3", PERSON_C, "15-12-2025"),
        *extra_operaties,
    ]  # fmt: skip
    complicaties = [
        complicatie("C-1", "OK-1", PERSON_A, "05-02-2026"),
        complicatie("C-2", "OK-3", PERSON_C, "20-12-2025", SOORT="WOND", REINTERVENTIE="nee"),
        complicatie("C-3", "OK-2", PERSON_B, "08-05-2026", SOORT="PNEU", CLAVIEN_DINDO="3a"),
    ]
    write_csv(folder / "dsaa_operaties_2026.csv", DSAA_OPERATIE_COLUMNS, operaties,
              delimiter=delimiter, encoding=encoding)  # fmt: skip
    write_csv(folder / "dsaa_complicaties_2026.csv", DSAA_COMPLICATIE_COLUMNS, complicaties,
              delimiter=delimiter, encoding=encoding)  # fmt: skip
    return folder
