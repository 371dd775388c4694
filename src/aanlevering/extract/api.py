"""One entry point that reads whatever EHR export a folder holds.

Engineers point the pipeline at a folder; what it contains decides the
reader: files matching the registration's CSV globs -> CSV; ``*.ndjson``
(with or without the bulk export's ``manifest.json``) or ``*.json`` Bundles
-> FHIR. A folder with both is refused rather than guessed, because reading
the wrong half would deliver an incomplete data set; JSON files that hold no
FHIR (notes, a manifest of one's own) do not count as FHIR input.
"""

from __future__ import annotations

import glob
from dataclasses import replace
from pathlib import Path
from typing import Literal

from aanlevering.catalogue.model import RegistrationConfig
from aanlevering.errors import ExtractError
from aanlevering.extract.csv import extract_csv
from aanlevering.extract.fhir import extract_fhir
from aanlevering.extract.fhir_store import MANIFEST, is_fhir_document
from aanlevering.extract.fhir_xml import root_type
from aanlevering.extract.model import Extract
from aanlevering.extract.options import ExtractOptions
from aanlevering.json_input import JsonInputError, parse
from aanlevering.periods import Period

SourceKind = Literal["csv", "fhir"]


def detect_source_kind(config: RegistrationConfig, input_path: Path) -> SourceKind:
    """``csv`` or ``fhir`` from what ``input_path`` holds; ExtractError when unclear."""
    path = Path(input_path)
    if path.is_file():
        if path.suffix in {".ndjson", ".json", ".xml"}:
            return "fhir"
        if path.suffix.lower() == ".csv" and config.csv_source is not None:
            return "csv"
        raise ExtractError(
            f"{path}: give the folder that holds the export, a .ndjson / .json / .xml FHIR "
            "file, or (for a registration with one dataset) its .csv file"
        )
    if not path.is_dir():
        raise ExtractError(f"input {path} does not exist")
    globs = [d.file for d in config.csv_source.datasets.values()] if config.csv_source else []
    csv_files = sorted({p.name for g in globs for p in path.glob(g) if p.is_file()})
    fhir_files = sorted(
        p.name
        for p in path.iterdir()
        if p.is_file() and (p.suffix in {".ndjson", ".json", ".xml"} or p.name == MANIFEST)
    )
    if csv_files and fhir_files:
        fhir_files = [name for name in fhir_files if _holds_fhir(path / name)]
    if csv_files and fhir_files:
        raise ExtractError(
            f"{path} holds both CSV ({', '.join(csv_files[:5])}) and FHIR files "
            f"({', '.join(fhir_files[:5])}); put each export in its own folder"
        )
    if csv_files:
        return "csv"
    if fhir_files:
        return "fhir"
    present = sorted(p.name for p in path.iterdir())
    shown = ", ".join(present[:10]) + (" ..." if len(present) > 10 else "")
    raise ExtractError(
        f"nothing to extract for {config.id} in {path}: no file matches "
        f"{', '.join(repr(g) for g in globs) or '(no CSV mapping)'} and there is no *.ndjson "
        f"or *.json FHIR file (found: {shown or 'an empty folder'})"
    )


def single_csv_file(config: RegistrationConfig, path: Path) -> tuple[RegistrationConfig, Path]:
    """A registration with one dataset reads that dataset from one CSV file given by name.

    The dataset's file pattern becomes the file's own name, in its folder;
    a registration with more datasets needs the folder (which file is which?).
    """
    csv = config.csv_source
    assert csv is not None
    if len(csv.datasets) != 1:
        raise ExtractError(
            f"{path}: registration {config.id} has {len(csv.datasets)} datasets "
            f"({', '.join(sorted(csv.datasets))}); give the folder that holds their files"
        )
    ((name, source),) = csv.datasets.items()
    only = replace(source, file=glob.escape(path.name))
    return replace(config, csv_source=replace(csv, datasets={name: only})), path.parent


def _holds_fhir(path: Path) -> bool:
    """Whether a file next to CSV exports is FHIR input (not notes or a manifest of one's own)."""
    if path.suffix == ".ndjson":
        return True
    if path.suffix == ".xml":
        try:
            return root_type(path.read_bytes()) is not None
        except OSError:
            return False
    try:  # the hardened parser: a file of 100k "[" is no FHIR, not a RecursionError
        document = parse(path.read_bytes())
    except (OSError, JsonInputError):
        return False
    if path.name == MANIFEST:
        return isinstance(document, dict) and isinstance(document.get("output"), list)
    return is_fhir_document(document)


def extract(
    config: RegistrationConfig,
    input_path: Path,
    period: Period,
    options: ExtractOptions | None = None,
) -> Extract:
    """Read the registration's datasets for ``period`` from a CSV or FHIR export.

    Chooses the reader with :func:`detect_source_kind`. Raises ExtractError
    (exit code 2) on anything unusable, before returning: nothing downstream
    runs on a broken extract.
    """
    try:
        if detect_source_kind(config, input_path) == "csv":
            path = Path(input_path)
            if path.is_file():
                return extract_csv(*single_csv_file(config, path), period, options)
            return extract_csv(config, path, period, options)
        return extract_fhir(config, Path(input_path), period, options)
    except OSError as error:
        if not _in_input(error, Path(input_path)):
            raise
        raise ExtractError(f"{error.filename}: cannot be read ({error.strerror})") from None


def _in_input(error: OSError, input_path: Path) -> bool:
    """Whether ``error`` is about the input itself (unreadable, vanished), not our own files."""
    if not isinstance(error.filename, str):
        return False
    failed = Path(error.filename).absolute()
    root = input_path.absolute()
    return failed == root or root in failed.parents
