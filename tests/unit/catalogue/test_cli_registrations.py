"""``aanlevering registrations list | show | check`` as an engineer uses them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aanlevering.cli.main", "registrations", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_list_prints_one_registration_per_line_id_first() -> None:
    result = _run("--catalogue", str(CATALOGUE), "list")
    assert result.returncode == 0, result.stderr
    ids = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert ids == ["dica-dsaa", "ldtr", "nkr-borst"]


def test_show_prints_the_config_as_json() -> None:
    result = _run("--catalogue", str(CATALOGUE), "show", "ldtr")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["id"] == "ldtr"
    assert shown["frequency"] == "month"
    assert "trauma" in shown["dictionary"]["datasets"]


def test_check_passes_on_the_examples_and_fails_on_a_broken_config(tmp_path: Path) -> None:
    assert _run("--catalogue", str(CATALOGUE), "check").returncode == 0
    broken = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, broken)
    file = broken / "registrations" / "ldtr.yaml"
    file.write_text(
        file.read_text(encoding="utf-8").replace("frequency: month", "frequency: weekly")
    )
    result = _run("--catalogue", str(broken), "check")
    assert result.returncode == 2
    assert "ldtr.yaml: $.frequency" in result.stderr


def test_show_unknown_registration_exits_2() -> None:
    result = _run("--catalogue", str(CATALOGUE), "show", "onbekend")
    assert result.returncode == 2
    assert "unknown registration 'onbekend'" in result.stderr


def test_check_of_one_registration_lists_the_problems_of_its_dictionary(tmp_path: Path) -> None:
    # `registrations check dica-dsaa` said only "dictionary dsaa version 2026.1 has
    # problems (listed for its file)" and then did not list them: they were filtered
    # out as another file's.
    broken = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, broken)
    dictionary = broken / "dictionaries" / "dsaa" / "2026.1.yaml"
    text = dictionary.read_text(encoding="utf-8")
    assert '{code: "M", label: man}' in text
    dictionary.write_text(text.replace('{code: "M", label: man}', "{code: 1, label: man}"))
    result = _run("--catalogue", str(broken), "check", "dica-dsaa")
    assert result.returncode == 2
    assert "dica-dsaa.yaml: $.dictionary: dictionary dsaa version 2026.1 has problems" in (
        result.stderr
    )
    assert f"{dictionary}: $.option_sets.geslacht.options[0].code" in result.stderr
    # ... and a registration on another dictionary is not blamed for it.
    other = _run("--catalogue", str(broken), "check", "ldtr")
    assert other.returncode == 0, other.stderr
