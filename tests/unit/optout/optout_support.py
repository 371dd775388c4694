"""Test data for the opt-out tests: patient numbers and EHR extracts."""

from __future__ import annotations

from pathlib import Path

#: Patient numbers as a Dutch EHR writes them; letters outside hex so a search is meaningful.
MRNS = ("ZH-0048213", "ZH-0051977", "ZH-0060402", "ZH-0072318")


def optouts_csv(path: Path, rows: list[str], header: str | None = None) -> Path:
    """Write an EHR opt-out extract (semicolon-separated, Dutch dates)."""
    header = header or "patientnummer;datum_registratie;scope;datum_intrekking"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path
