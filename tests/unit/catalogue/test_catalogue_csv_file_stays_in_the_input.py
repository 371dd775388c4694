"""A CSV dataset's ``file`` is a name or glob inside the input folder (0428).

``file: "../<other>/*.csv"`` read another folder's export (another
registration's patients) into this delivery; an absolute path or an empty
pattern crashed the extract with an internal error.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from aanlevering.catalogue.loader import load_registrations
from aanlevering.catalogue.model import CsvDatasetSource
from aanlevering.errors import ExtractError
from aanlevering.extract.csv import dataset_files

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"


@pytest.fixture
def catalogue_copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, target)
    return target


@pytest.mark.parametrize(
    "pattern", ["../ldtr/ltr_trauma*.csv", "/srv/exports/*.csv", "", "exports/../../x.csv"]
)
def test_a_file_pattern_outside_the_input_folder_is_refused(
    catalogue_copy: Path, pattern: str
) -> None:
    file = catalogue_copy / "registrations" / "dica-dsaa.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    data["source"]["csv"]["datasets"]["operatie"]["file"] = pattern
    file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    registrations, problems = load_registrations(catalogue_copy)
    assert "dica-dsaa" not in registrations
    text = "\n".join(str(p) for p in problems)
    assert "dica-dsaa.yaml: $.source.csv.datasets.operatie.file: " in text
    assert "a file name or glob inside the input folder" in text


@pytest.mark.parametrize("pattern", ["dsaa_operaties*.csv", "export/dsaa_*.csv", "**/dsaa_*.csv"])
def test_names_and_globs_inside_the_folder_load(catalogue_copy: Path, pattern: str) -> None:
    file = catalogue_copy / "registrations" / "dica-dsaa.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    data["source"]["csv"]["datasets"]["operatie"]["file"] = pattern
    file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    registrations, problems = load_registrations(catalogue_copy)
    assert problems == [] and "dica-dsaa" in registrations


def test_the_extract_reads_nothing_outside_its_folder_whatever_the_config(tmp_path: Path) -> None:
    folder, other = tmp_path / "input", tmp_path / "other"
    folder.mkdir()
    other.mkdir()
    (other / "ltr_trauma.csv").write_text("TRAUMA_ID\n1\n", encoding="utf-8")
    source = CsvDatasetSource(file="../other/*.csv", columns={"TRAUMA_ID": "trauma_id"})
    with pytest.raises(ExtractError, match=r"matches nothing inside the input folder"):
        dataset_files(folder, "trauma", source)
