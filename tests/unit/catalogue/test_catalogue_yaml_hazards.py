"""YAML a careless or hostile edit produces is refused by file and line, never half-read.

A key written twice (a block pasted at the end of the file) would otherwise
silently replace the first (PyYAML keeps the last); a recursive alias crashed
the loader with an internal error; an alias bomb or a huge file would take the
DAG processor's and every task's memory.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aanlevering.catalogue.loader import load_registrations

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"
CLI = (sys.executable, "-m", "aanlevering.cli.main", "registrations")


@pytest.fixture
def catalogue_copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, target)
    return target


def _problems(catalogue: Path) -> tuple[set[str], list[str]]:
    registrations, problems = load_registrations(catalogue)
    return set(registrations), [str(p) for p in problems]


def test_a_key_written_twice_is_refused_with_its_line(catalogue_copy: Path) -> None:
    file = catalogue_copy / "registrations" / "ldtr.yaml"
    # The engineer pastes a delivery block from another registration at the end of the file.
    file.write_text(
        file.read_text(encoding="utf-8") + "delivery:\n  format: csv\n  channel: outbox\n",
        encoding="utf-8",
    )
    loaded, problems = _problems(catalogue_copy)
    assert "ldtr" not in loaded
    assert loaded == {"dica-dsaa", "nkr-borst"}
    assert len(problems) == 1, problems
    assert "ldtr.yaml: $: invalid YAML: line" in problems[0]
    assert "'delivery' appears twice" in problems[0]


def test_a_nested_key_written_twice_is_refused(catalogue_copy: Path) -> None:
    file = catalogue_copy / "registrations" / "ldtr.yaml"
    text = file.read_text(encoding="utf-8")
    text = text.replace("  ttp_mode: web\n", "  ttp_mode: web\n  ttp_mode: local\n")
    file.write_text(text, encoding="utf-8")
    loaded, problems = _problems(catalogue_copy)
    assert "ldtr" not in loaded
    assert any("'ttp_mode' appears twice" in p for p in problems), problems


def test_a_merge_key_overridden_by_an_explicit_key_is_fine(catalogue_copy: Path) -> None:
    file = catalogue_copy / "registrations" / "ldtr.yaml"
    text = file.read_text(encoding="utf-8")
    text = text.replace(
        "validation:\n  block_on: error\n",
        "x-defaults: &defaults {block_on: warning}\nvalidation:\n  <<: *defaults\n"
        "  block_on: error\n",
    )
    file.write_text(text, encoding="utf-8")
    _, problems = _problems(catalogue_copy)
    # The merge itself is read; only the unknown top-level key is a problem.
    assert problems and all("'x-defaults' is not a known key" in p for p in problems), problems
    assert not any("twice" in p for p in problems)


def test_a_recursive_alias_is_a_problem_not_a_crash(catalogue_copy: Path) -> None:
    (catalogue_copy / "registrations" / "kring.yaml").write_text(
        "id: kring\nname: &a [*a]\n", encoding="utf-8"
    )
    loaded, problems = _problems(catalogue_copy)
    assert loaded == {"dica-dsaa", "ldtr", "nkr-borst"}
    assert any("kring.yaml: $: invalid YAML" in p and "refers to itself" in p for p in problems)


def test_an_alias_bomb_is_refused_before_it_is_expanded(catalogue_copy: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):  # 10**10 strings when expanded
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    (catalogue_copy / "registrations" / "bom.yaml").write_text(
        "\n".join(lines) + "\n", encoding="utf-8"
    )
    loaded, problems = _problems(catalogue_copy)
    assert loaded == {"dica-dsaa", "ldtr", "nkr-borst"}
    assert any("bom.yaml: $: invalid YAML" in p and "aliases expand" in p for p in problems)


def test_a_huge_file_is_refused_without_reading_it(catalogue_copy: Path) -> None:
    file = catalogue_copy / "registrations" / "groot.yaml"
    with file.open("w", encoding="utf-8") as out:
        out.write("id: groot\ndescription: >\n")
        line = "  " + "x" * 98 + "\n"
        out.write(line * 30_000)  # 3 MB
    loaded, problems = _problems(catalogue_copy)
    assert loaded == {"dica-dsaa", "ldtr", "nkr-borst"}
    assert any("groot.yaml: $: cannot read" in p and "larger than" in p for p in problems)


def test_the_cli_exits_2_naming_the_file_for_each_hazard(catalogue_copy: Path) -> None:
    (catalogue_copy / "registrations" / "kring.yaml").write_text(
        "id: kring\nname: &a [*a]\n", encoding="utf-8"
    )
    result = subprocess.run(
        [*CLI, "--catalogue", str(catalogue_copy), "check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "kring.yaml: $: invalid YAML" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("key", "read_as"), [("yes", "bool"), ("No", "bool"), ("2026-01-01", "date"), ("~", "NoneType")]
)
def test_a_map_key_yaml_reads_as_no_text_is_refused_with_its_line(
    catalogue_copy: Path, key: str, read_as: str
) -> None:
    # YAML 1.1 reads ``yes:`` as true: a map of Yes/No export values became
    # {"true": ..., "false": ...} without a word; a date key crashed the loader.
    file = catalogue_copy / "registrations" / "ldtr.yaml"
    text = file.read_text(encoding="utf-8")
    text = text.replace("map: {male: M,", f"map: {{{key}: M, male: M,")
    file.write_text(text, encoding="utf-8")
    loaded, problems = _problems(catalogue_copy)
    assert "ldtr" not in loaded
    assert len(problems) == 1, problems
    assert "ldtr.yaml: $: invalid YAML: line" in problems[0]
    assert f"key {key!r} is read as {read_as}, not as text; quote it" in problems[0]


def test_a_number_key_is_read_as_its_text(catalogue_copy: Path) -> None:
    file = catalogue_copy / "registrations" / "ldtr.yaml"
    text = file.read_text(encoding="utf-8").replace("map: {male: M,", "map: {1: M, male: M,")
    file.write_text(text, encoding="utf-8")
    loaded, problems = _problems(catalogue_copy)
    assert problems == [] and "ldtr" in loaded


def test_a_date_not_on_the_calendar_is_refused_with_its_line(catalogue_copy: Path) -> None:
    # Unquoted, YAML reads it as a date; 2026 has no 29 February. That was a bare
    # ValueError: `registrations check` exit 4 ("a bug") and, in the DAG listing,
    # an import error that took every DAG down, not only this registration's.
    from aanlevering.airflow.listing import read_registrations
    from aanlevering.cli.main import main

    file = catalogue_copy / "registrations" / "ldtr.yaml"
    text = file.read_text(encoding="utf-8")
    assert 'start: "2026-01-01"' in text
    file.write_text(text.replace('start: "2026-01-01"', "start: 2026-02-29"), encoding="utf-8")
    loaded, problems = _problems(catalogue_copy)
    assert loaded == {"dica-dsaa", "nkr-borst"}
    assert len(problems) == 1, problems
    assert "ldtr.yaml: $: invalid YAML: line" in problems[0]
    assert "'2026-02-29' is not a day on the calendar" in problems[0]
    assert "quote it" in problems[0]

    listings, broken = read_registrations(catalogue_copy)
    assert [r.id for r in listings] == ["dica-dsaa", "nkr-borst"]
    assert [b.name for b in broken] == ["ldtr"]
    assert main(["registrations", "--catalogue", str(catalogue_copy), "check"]) == 2
