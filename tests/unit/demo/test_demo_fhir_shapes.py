"""``--formats fhir-bulk`` / ``fhir-bundles``: one FHIR shape, the same bytes as ``fhir`` writes.

The bench reads only the bulk folder; at a million patients the Bundles it
did not read cost minutes and 6 GB (decision 0987).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from aanlevering.catalogue import Catalogue
from aanlevering.cli.main import main
from aanlevering.demo import SUMMARY_FILE, DemoOptions, generate_demo_data


def digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by relative path."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def run(catalogue: Catalogue, out: Path, formats: set[str]) -> Path:
    generate_demo_data(
        catalogue, DemoOptions(out_dir=out, patients=250, seed=11, formats=frozenset(formats))
    )
    return out


def written(out: Path) -> list[str]:
    return list(json.loads((out / SUMMARY_FILE).read_text(encoding="utf-8"))["formats"])


@pytest.fixture(scope="module")
def both(catalogue: Catalogue, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run(catalogue, tmp_path_factory.mktemp("shapes") / "both", {"fhir"})


def test_the_bulk_folder_alone_has_the_bytes_fhir_writes(
    catalogue: Catalogue, both: Path, tmp_path: Path
) -> None:
    bulk = run(catalogue, tmp_path / "bulk", {"fhir-bulk"})
    expected = digest(both / "fhir-bulk")
    assert len(expected) > 10  # every registration's NDJSON and manifest, and the Consents
    assert digest(bulk / "fhir-bulk") == expected
    assert not (bulk / "fhir-bundles").exists()
    assert written(bulk) == ["fhir-bulk"]
    assert written(both) == ["fhir"]


def test_the_bundles_alone_have_the_bytes_fhir_writes(
    catalogue: Catalogue, both: Path, tmp_path: Path
) -> None:
    bundles = run(catalogue, tmp_path / "bundles", {"fhir-bundles"})
    expected = digest(both / "fhir-bundles")
    assert len(expected) > 3
    assert digest(bundles / "fhir-bundles") == expected
    assert not (bundles / "fhir-bulk").exists()
    assert written(bundles) == ["fhir-bundles"]


def test_both_shapes_named_are_fhir(catalogue: Catalogue, both: Path, tmp_path: Path) -> None:
    named = run(catalogue, tmp_path / "named", {"fhir-bulk", "fhir-bundles"})
    assert digest(named) == digest(both)


def test_cli_takes_fhir_bulk_with_csv(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    code = main(
        [
            "demo-data",
            "--out",
            str(out),
            "--patients",
            "100",
            "--registration",
            "dica-dsaa",
            "--formats",
            "csv,fhir-bulk",
        ]
    )
    assert code == 0
    assert (out / "fhir-bulk" / "dica-dsaa" / "manifest.json").is_file()
    assert (out / "csv-utf8").is_dir()
    assert not (out / "fhir-bundles").exists()
    assert written(out) == ["csv", "fhir-bulk"]
