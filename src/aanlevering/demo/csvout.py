"""CSV exports as Dutch EHRs write them, in UTF-8 with BOM and in cp1252.

Semicolon separated, decimal comma, dates dd-mm-jjjj (ISO yyyy-mm-dd in
datasets whose model says so, when the config's ``date_formats`` allow it),
datetimes ``dd-mm-jjjj uu:mm``, booleans ``ja``/``nee``, empty cells for
missing values, CRLF line ends, and double quotes only around cells that
contain a semicolon or a quote. Column names and files come from the
registration's ``source.csv`` mapping.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from aanlevering.catalogue import CsvDatasetSource, CsvSource
from aanlevering.demo.clinical.base import Column, DatasetChunk
from aanlevering.demo.people import SEX_CODES, People
from aanlevering.errors import ConfigError

UTF8_DIR = "csv-utf8"
CP1252_DIR = "csv-cp1252"
BOM = b"\xef\xbb\xbf"
LINE_END = "\r\n"
DELIMITER = ";"


def file_name(glob: str, year: int = 2026) -> str:
    """A concrete file name matching the config's glob, e.g. ``dsaa_operaties_2026.csv``."""
    name = glob.replace("*", f"_{year}", 1).replace("*", "").replace("?", "x")
    if not fnmatch.fnmatch(name, glob):
        raise ConfigError(f"cannot make a file name that matches the CSV glob {glob!r}")
    return name


def quote(cell: str) -> str:
    """Quote a cell only when it holds the delimiter, a quote or a line break."""
    if DELIMITER in cell or '"' in cell or "\n" in cell or "\r" in cell:
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _dmy(iso: list[str]) -> list[str]:
    return [f"{s[8:10]}-{s[5:7]}-{s[:4]}" for s in iso]


def format_column(col: Column, iso_dates: bool) -> list[str]:
    """Cells of one clinical column (missing -> empty)."""
    values = col.values
    if col.kind == "date":
        iso = np.datetime_as_string(values.astype("datetime64[D]")).tolist()
        cells = iso if iso_dates else _dmy(iso)
    elif col.kind == "datetime":
        iso = np.datetime_as_string(values.astype("datetime64[m]")).tolist()
        cells = iso if iso_dates else [f"{s[8:10]}-{s[5:7]}-{s[:4]} {s[11:16]}" for s in iso]
    elif col.kind == "int":
        cells = [str(v) for v in values.astype(np.int64).tolist()]
    elif col.kind == "float":
        spec = f".{col.decimals}f"
        cells = [format(v, spec).replace(".", ",") for v in values.tolist()]
    elif col.kind == "bool":
        cells = ["ja" if v else "nee" for v in values.tolist()]
    else:
        cells = quote_all([str(v) for v in values.tolist()])
    if col.missing.any():
        for i in np.flatnonzero(col.missing).tolist():
            cells[i] = ""
    return cells


def quote_all(cells: list[str]) -> list[str]:
    """Quote the cells that need it; one scan of the whole column first (most need none)."""
    joined = "".join(cells)
    if DELIMITER in joined or '"' in joined or "\n" in joined or "\r" in joined:
        return [quote(cell) for cell in cells]
    return cells


def _identity_cells(people: People, field: str, patient: np.ndarray) -> list[str]:
    if field == "sex":
        return [SEX_CODES[s] for s in people.sex[patient].tolist()]
    if field == "birth_date":
        return _dmy(np.datetime_as_string(people.birth_date[patient]).tolist())
    values = people.mrn if field in ("patient_id", "mrn") else getattr(people, field)
    return quote_all(values[patient].tolist())


@dataclass(frozen=True)
class CsvLayout:
    """Header and cell sources of one dataset's export file."""

    dataset: str
    file: str
    header: tuple[str, ...]
    sources: tuple[tuple[str, str], ...]  # ("identity"|"clinical", field or variable)
    iso_dates: bool


def layout(dataset: str, source: CsvDatasetSource, csv: CsvSource, iso_dataset: bool) -> CsvLayout:
    """Identity columns first (as EHR reports start with the patient), then clinical ones."""
    header: list[str] = []
    sources: list[tuple[str, str]] = []
    for name, field in source.identity.items():
        header.append(name)
        if name in source.columns:
            sources.append(("clinical", source.columns[name]))
        else:
            sources.append(("identity", field))
    for name, variable in source.columns.items():
        if name not in source.identity:
            header.append(name)
            sources.append(("clinical", variable))
    return CsvLayout(
        dataset=dataset,
        file=file_name(source.file),
        header=tuple(header),
        sources=tuple(sources),
        iso_dates=iso_dataset and "%Y-%m-%d" in csv.date_formats,
    )


class CsvPairWriter:
    """Streams one dataset's rows into its UTF-8-with-BOM and its cp1252 file."""

    def __init__(self, out_dir: Path, csv_layout: CsvLayout) -> None:
        self.layout = csv_layout
        utf8 = out_dir / UTF8_DIR / csv_layout.file
        cp1252 = out_dir / CP1252_DIR / csv_layout.file
        utf8.parent.mkdir(parents=True, exist_ok=True)
        cp1252.parent.mkdir(parents=True, exist_ok=True)
        self._utf8: BinaryIO = utf8.open("wb")
        self._cp1252: BinaryIO = cp1252.open("wb")
        self.rows = 0
        header = DELIMITER.join(quote(h) for h in csv_layout.header) + LINE_END
        self._utf8.write(BOM + header.encode("utf-8"))
        self._cp1252.write(header.encode("cp1252"))

    def write(
        self, chunk: DatasetChunk, people: People, overrides: dict[str, dict[int, str]]
    ) -> None:
        """Append the chunk's records."""
        if len(chunk) == 0:
            return
        columns: list[Sequence[str]] = []
        for kind, name in self.layout.sources:
            if kind == "identity":
                columns.append(_identity_cells(people, name, chunk.patient))
                continue
            cells = format_column(chunk.columns[name], self.layout.iso_dates)
            for index, text in overrides.get(name, {}).items():
                cells[index] = text
            columns.append(cells)
        text = LINE_END.join(DELIMITER.join(row) for row in zip(*columns, strict=True)) + LINE_END
        self._utf8.write(text.encode("utf-8"))
        self._cp1252.write(text.encode("cp1252"))
        self.rows += len(chunk)

    def close(self) -> None:
        """Flush and close both files."""
        self._utf8.close()
        self._cp1252.close()
