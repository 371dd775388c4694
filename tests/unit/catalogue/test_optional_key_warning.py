"""`registrations check` says beforehand which records a run cannot follow across periods (0495).

A dataset without a key is refused (the dictionary schema needs one); a key
variable some provider type may leave empty is allowed, with a warning: such
records are delivered but counted as not followable.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"
KEYED = "{name: operatie_id, type: string, max_length: 64, required_for: [hospital, umc, zbc],"


def _check(catalogue: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aanlevering.cli.main", "registrations", "--catalogue",
         str(catalogue), "check"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    file = catalogue / "dictionaries" / "dsaa" / "2026.1.yaml"
    text = file.read_text(encoding="utf-8")
    assert text.count(old) == 1
    file.write_text(text.replace(old, new), encoding="utf-8")
    return catalogue


def test_the_shipped_catalogue_has_no_optional_key() -> None:
    result = _check(CATALOGUE)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stdout


def test_a_key_some_providers_may_leave_empty_is_warned_about(tmp_path: Path) -> None:
    optional = KEYED.replace("[hospital, umc, zbc]", "[hospital]")
    result = _check(_edited(tmp_path, KEYED, optional))
    assert result.returncode == 0, result.stderr
    assert (
        "warning: dica-dsaa operatie: key variable operatie_id is not required for umc, zbc "
        "providers" in result.stdout
    )
    assert "not_followable" in result.stdout


def test_a_dataset_without_a_key_is_refused(tmp_path: Path) -> None:
    result = _check(_edited(tmp_path, "key: [operatie_id]", "key: []"))
    assert result.returncode == 2
    assert "2026.1.yaml" in result.stderr and "key" in result.stderr
