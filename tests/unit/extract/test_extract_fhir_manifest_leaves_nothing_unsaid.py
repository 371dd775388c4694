"""A bulk export folder's files that its manifest does not name are never left out silently.

With a ``manifest.json``, only the files its ``output`` list names were read:
a further NDJSON file of resources (a second export copied into the folder, a
file the hospital added) or a Bundle next to it was left out without a word,
and its records were in no count of the run. Such a file now stops the
extract, naming it; a file that holds no FHIR (a server's log lines, notes)
is still left out (decision 0693).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aanlevering.catalogue import RegistrationConfig
from aanlevering.errors import ExtractError
from aanlevering.extract import extract
from aanlevering.periods import Period

NL = Path(__file__).resolve().parents[2] / "fixtures" / "extract" / "fhir-nl"
YEAR = Period.parse("2026")
TYPES = ("Patient", "Encounter", "Procedure", "Condition", "Observation")


def _export(folder: Path) -> Path:
    """The fixture as a bulk export: ``<Type>.1.ndjson`` files and the manifest naming them."""
    folder.mkdir()
    for resource_type in TYPES:
        shutil.copy(NL / f"{resource_type}.ndjson", folder / f"{resource_type}.1.ndjson")
    outputs = [{"type": t, "url": f"https://fhir.example/bulk/{i}"} for i, t in enumerate(TYPES)]
    manifest = {"transactionTime": "2026-06-01T00:00:00Z", "output": outputs, "error": []}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def _records(dsaa: RegistrationConfig, folder: Path) -> int:
    return sum(d.num_rows for d in extract(dsaa, folder, YEAR).datasets.values())


def test_a_file_of_resources_the_manifest_does_not_name_stops_the_extract(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = _export(tmp_path / "export")
    read = _records(dsaa, folder)
    assert read > 0
    # A second export's operations copied into the folder: the manifest does not name them.
    procedures = (NL / "Procedure.ndjson").read_text("utf-8").splitlines()
    extra = [dict(json.loads(line), id=f"{json.loads(line)['id']}-b") for line in procedures]
    (folder / "Procedure.2.ndjson").write_text(
        "".join(json.dumps(r) + "\n" for r in extra), encoding="utf-8"
    )
    with pytest.raises(ExtractError) as stopped:
        extract(dsaa, folder, YEAR)
    message = str(stopped.value)
    assert "Procedure.2.ndjson" in message and "manifest.json" in message
    assert "does not name" in message
    (folder / "Procedure.2.ndjson").unlink()

    # A Bundle next to the manifest is no less input.
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": extra[0]}]}  # fmt: skip
    (folder / "late.json").write_text(json.dumps(bundle), encoding="utf-8")
    with pytest.raises(ExtractError, match=r"late\.json"):
        extract(dsaa, folder, YEAR)
    (folder / "late.json").unlink()

    # Nor is a server's log whose second line is a resource.
    log_lines = ['{"level": "info"}', json.dumps(extra[0])]
    (folder / "log.ndjson").write_text("\n".join(log_lines) + "\n", encoding="utf-8")
    with pytest.raises(ExtractError, match=r"log\.ndjson"):
        extract(dsaa, folder, YEAR)


def test_files_without_fhir_next_to_the_manifest_are_still_left_out(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = _export(tmp_path / "export")
    read = _records(dsaa, folder)
    (folder / "log.ndjson").write_text('{"level": "info", "msg": "export done"}\n', "utf-8")
    (folder / "Stale.1.ndjson").write_text("this is not json\n", encoding="utf-8")
    (folder / "notes.json").write_text(json.dumps({"note": "export of 3 June"}), "utf-8")
    (folder / "empty.ndjson").write_text("", encoding="utf-8")
    assert _records(dsaa, folder) == read
