"""A FHIR input with a key twice in one object stops the extract, naming file, line and key (0801).

Before, the last copy of the key won silently: a Patient line with its BSN in
the first ``identifier`` and an empty second one was read without a BSN, while
the hospital's own viewer (and GX, reading the first) saw it. Both readers
(streamed and stored) go through the same NDJSON and Bundle reading.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aanlevering.catalogue import RegistrationConfig
from aanlevering.errors import ExtractError
from aanlevering.extract import extract
from aanlevering.extract.fhir import _Plan
from aanlevering.extract.fhir_bundle_outline import mapped_file, outline_bundle
from aanlevering.periods import Period

NL = Path(__file__).resolve().parents[2] / "fixtures" / "extract" / "fhir-nl"
YEAR = Period.parse("2026")
IDENTIFYING = ("999911120", "999910048", "ZH-0042", "ZH-0077", "Putten", "Jansen", "1950-03-02")


def _export(tmp_path: Path) -> Path:
    target = tmp_path / "export"
    shutil.copytree(NL, target)
    return target


def _refused(config: RegistrationConfig, folder: Path) -> list[str]:
    """The error text of both readers (they must agree), checked for identity values."""
    plan = _Plan.of(config, None)
    messages = []
    for read in (plan.streamed, plan.stored):
        with pytest.raises(ExtractError) as raised:
            read(folder, YEAR)
        assert raised.value.exit_code == 2
        messages.append(str(raised.value))
    for message in messages:
        leaked = [value for value in IDENTIFYING if value in message]
        assert not leaked, leaked
    return messages


def _edit_line(path: Path, number: int, old: str, new: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert old in lines[number - 1]
    lines[number - 1] = lines[number - 1].replace(old, new, 1)
    path.write_text("".join(lines), encoding="utf-8")


def test_a_second_empty_identifier_hiding_the_bsn_is_refused(
    tmp_path: Path, dsaa: RegistrationConfig
) -> None:
    folder = _export(tmp_path)
    _edit_line(folder / "Patient.ndjson", 1, '"name":[', '"identifier":[],"name":[')
    for message in _refused(dsaa, folder):
        assert "Patient.ndjson: line 1: " in message
        assert 'the key "identifier" appears twice in one object' in message


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('"id":"proc-1",', '"id":"proc-1","id":"proc-9",', "id"),
        (
            '"subject":{"reference":"Patient/pat-1"}',
            '"subject":{"reference":"Patient/pat-1","reference":"Patient/pat-2"}',
            "reference",
        ),
        (
            '"status":"completed",',
            '"status" : "completed" , "status" : "entered-in-error",',
            "status",
        ),
        (
            '"status":"completed",',
            '"status":"completed","st\\u0061tus":"entered-in-error",',
            "status",
        ),
    ],
    ids=["id", "subject-reference", "spaced", "escaped-key"],
)
def test_a_repeated_key_in_a_procedure_line_is_refused(
    tmp_path: Path, dsaa: RegistrationConfig, old: str, new: str, key: str
) -> None:
    folder = _export(tmp_path)
    _edit_line(folder / "Procedure.ndjson", 1, old, new)
    for message in _refused(dsaa, folder):
        assert "Procedure.ndjson: line 1: " in message
        assert f'the key "{key}" appears twice' in message


def _bundle_folder(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "bundles"
    folder.mkdir(parents=True)
    (folder / "bundle.json").write_text(text, encoding="utf-8")
    return folder


def _bundle(indent: int | None) -> dict[str, object]:
    entries = []
    for path in sorted(NL.glob("*.ndjson")):
        for line in path.read_text(encoding="utf-8").splitlines():
            entries.append({"resource": json.loads(line)})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


@pytest.mark.parametrize("indent", [None, 2])
def test_a_repeated_key_in_a_bundle_entry_is_refused(
    tmp_path: Path, dsaa: RegistrationConfig, indent: int | None
) -> None:
    text = json.dumps(_bundle(indent), indent=indent)
    assert extract(dsaa, _bundle_folder(tmp_path / "clean", text), YEAR).datasets
    twice = text.replace(
        '"resourceType": "Patient",', '"resourceType": "Patient", "identifier": [],', 1
    )
    assert twice != text
    for message in _refused(dsaa, _bundle_folder(tmp_path, twice)):
        assert "bundle.json: line " in message
        assert 'the key "identifier" appears twice' in message


@pytest.mark.parametrize("indent", [None, 2])
def test_a_bundle_with_its_entry_list_twice_is_refused(
    tmp_path: Path, dsaa: RegistrationConfig, indent: int | None
) -> None:
    bundle = _bundle(indent)
    whole = json.dumps(bundle, indent=indent)
    assert outline_bundle(whole.encode()) is not None  # the outline reads the clean file
    # A second, empty entry list: msgspec's outline kept it and read no resource at all.
    twice = whole[: whole.rindex("}")] + ', "entry": []}'
    assert outline_bundle(twice.encode()) is None
    assert (
        outline_bundle(mapped_file(_bundle_folder(tmp_path / "m", twice) / "bundle.json")) is None
    )
    for message in _refused(dsaa, _bundle_folder(tmp_path, twice)):
        assert "bundle.json: line " in message
        assert 'the key "entry" appears twice' in message
