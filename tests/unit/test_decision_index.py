"""The decision index (docs/decisions/README.md) lists every record with its real status.

Records are added by many hands; without this check a new record is easily
left out of the index, or an old one keeps saying "accepted" after a later
record replaced it. The checker collects every problem at once, and is itself
tried on broken copies of the folder so it is known to catch what it claims.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

DECISIONS = Path(__file__).resolve().parents[2] / "docs" / "decisions"

RECORD_NAME = re.compile(r"^(\d{4})-[a-z0-9][a-z0-9-]*\.md$")
TITLE_LINE = re.compile(r"^# (\d{4}): (\S.*)$")
STATUS = r"accepted(?:, amended by \d{4}(?:, \d{4})*)?|superseded by \d{4}"
STATUS_LINE = re.compile(rf"^Status: ({STATUS})(?: \((.+)\))?$")
INDEX_LINE = re.compile(rf"^- (\d{{4}}) \[(.+)\]\(([^)]+)\) — ({STATUS})$")
SECTION = re.compile(r"^## .+ \((\d{4})-(\d{4})\)$")
REFERENCE = re.compile(r"\d{4}")


@dataclass(frozen=True)
class IndexLine:
    """One record's line in the index, with the number range of its section."""

    number: str
    title: str
    target: str
    status: str
    section: tuple[int, int] | None
    line_no: int


def read_record(path: Path) -> tuple[str | None, str | None, list[str]]:
    """Title and status of a record file, and what is wrong with its header."""
    lines = path.read_text(encoding="utf-8").split("\n")
    number = path.name[:4]
    problems: list[str] = []
    title = status = None
    title_match = TITLE_LINE.match(lines[0]) if lines else None
    if title_match is None or title_match.group(1) != number:
        problems.append(f"{path.name}: line 1 must be '# {number}: <title>'")
    else:
        title = title_match.group(2)
    status_lines = [line for line in lines if line.startswith("Status:")]
    if len(status_lines) != 1:
        problems.append(f"{path.name}: needs exactly one 'Status:' line, has {len(status_lines)}")
    status_match = STATUS_LINE.match(lines[2]) if len(lines) > 2 else None
    if status_match is None or lines[1] != "":
        problems.append(
            f"{path.name}: line 2 must be empty and line 3 'Status: accepted', "
            "'Status: accepted, amended by NNNN' or 'Status: superseded by NNNN (why)'"
        )
    else:
        status = status_match.group(1)
    return title, status, problems


def read_index(index: Path) -> tuple[list[IndexLine], list[str]]:
    """Every record line of the index, and lines that look like one but are malformed."""
    entries: list[IndexLine] = []
    problems: list[str] = []
    section: tuple[int, int] | None = None
    for line_no, line in enumerate(index.read_text(encoding="utf-8").split("\n"), start=1):
        section_match = SECTION.match(line)
        if section_match is not None:
            section = (int(section_match.group(1)), int(section_match.group(2)))
            continue
        if line.startswith("## "):  # a heading without a range holds no records
            section = None
            continue
        if not re.match(r"^- \d{4} ", line):
            continue
        match = INDEX_LINE.match(line)
        if match is None:
            problems.append(
                f"README.md:{line_no}: expected '- NNNN [Title](NNNN-name.md) — <status>', "
                f"got {line!r}"
            )
            continue
        number, title, target, status = match.groups()
        entries.append(IndexLine(number, title, target, status, section, line_no))
    return entries, problems


def index_problems(folder: Path) -> list[str]:
    """Everything that keeps the index from matching the records in ``folder``."""
    problems: list[str] = []
    records: dict[str, Path] = {}
    for path in sorted(folder.glob("*.md")):
        if path.name == "README.md":
            continue
        if RECORD_NAME.match(path.name) is None:
            problems.append(f"{path.name}: record names are NNNN-lower-case-words.md")
            continue
        number = path.name[:4]
        if number in records:
            problems.append(f"{path.name}: number {number} also used by {records[number].name}")
        records[number] = path

    entries, index_format_problems = read_index(folder / "README.md")
    problems += index_format_problems
    by_number: dict[str, list[IndexLine]] = {}
    for entry in entries:
        by_number.setdefault(entry.number, []).append(entry)

    for number, path in sorted(records.items()):
        title, status, header_problems = read_record(path)
        problems += header_problems
        lines = by_number.get(number, [])
        if len(lines) != 1:
            problems.append(f"{path.name}: needs exactly one line in README.md, has {len(lines)}")
            continue
        entry = lines[0]
        where = f"README.md:{entry.line_no} ({number})"
        if entry.target != path.name:
            problems.append(f"{where}: links to {entry.target!r}, the file is {path.name!r}")
        if title is not None and entry.title != title:
            problems.append(f"{where}: title {entry.title!r} differs from the record's {title!r}")
        if status is not None and entry.status != status:
            problems.append(f"{where}: status {entry.status!r}, the record says {status!r}")
        if entry.section is None or not entry.section[0] <= int(number) <= entry.section[1]:
            problems.append(f"{where}: not under the heading whose range holds {number}")
        for referenced in REFERENCE.findall(entry.status):
            if referenced == number:
                problems.append(f"{where}: status names the record itself")
            elif referenced not in records:
                problems.append(f"{where}: status names {referenced}, which has no record")

    for number, lines in sorted(by_number.items()):
        if number not in records:
            problems += [f"README.md:{e.line_no}: no record file for {number}" for e in lines]

    numbers = [int(entry.number) for entry in entries]
    if numbers != sorted(numbers):
        problems.append("README.md: record lines are not in number order")
    return problems


def test_every_record_is_indexed_with_its_title_and_status() -> None:
    records = [p for p in DECISIONS.glob("*.md") if RECORD_NAME.match(p.name)]
    assert len(records) >= 95  # the folder really was read
    assert index_problems(DECISIONS) == []


def test_superseded_records_name_a_replacement_that_says_so() -> None:
    """A replaced record points at its successor, and the successor mentions it."""
    superseded = 0
    for path in sorted(DECISIONS.glob("[0-9][0-9][0-9][0-9]-*.md")):
        _, status, _ = read_record(path)
        if status is None or not status.startswith("superseded by "):
            continue
        superseded += 1
        successor = next(DECISIONS.glob(f"{status[-4:]}-*.md"))
        assert path.name[:4] in successor.read_text(encoding="utf-8"), (
            f"{successor.name} replaces {path.name} but never mentions it"
        )
    assert superseded >= 1  # 0123 at least


@pytest.fixture
def decisions_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "decisions"
    shutil.copytree(DECISIONS, folder)
    assert index_problems(folder) == []
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_record_without_an_index_line_is_caught(decisions_copy: Path) -> None:
    (decisions_copy / "0229-a-forgotten-record.md").write_text(
        "# 0229: A forgotten record\n\nStatus: accepted\n\n**Context.** None.\n", encoding="utf-8"
    )
    assert index_problems(decisions_copy) == [
        "0229-a-forgotten-record.md: needs exactly one line in README.md, has 0"
    ]


def test_a_record_without_a_status_line_is_caught(decisions_copy: Path) -> None:
    _edit(decisions_copy / "0001-catalogue-as-yaml-files.md", "Status: accepted\n\n", "")
    problems = index_problems(decisions_copy)
    assert len(problems) == 2
    assert all(p.startswith("0001-catalogue-as-yaml-files.md: ") for p in problems)


def test_a_status_that_differs_from_the_index_is_caught(decisions_copy: Path) -> None:
    _edit(
        decisions_copy / "0123-optout-hash-once-per-mrn.md",
        "Status: superseded by 0141 (",
        "Status: accepted (",
    )
    assert index_problems(decisions_copy) == [
        "README.md:{} (0123): status 'superseded by 0141', the record says 'accepted'".format(
            _line_of(decisions_copy, "0123")
        )
    ]


def test_a_wrong_title_or_link_is_caught(decisions_copy: Path) -> None:
    _edit(decisions_copy / "README.md", "[Appends are idempotent by event id]", "[Appends]")
    _edit(decisions_copy / "README.md", "(0017-throwaway-postgres-for-tests.md)", "(0017-x.md)")
    problems = index_problems(decisions_copy)
    assert len(problems) == 2
    assert "title 'Appends' differs" in problems[0]
    assert "links to '0017-x.md'" in problems[1]


def test_a_successor_that_does_not_exist_is_caught(decisions_copy: Path) -> None:
    _edit(
        decisions_copy / "0047-batch-throughput.md",
        "Status: accepted",
        "Status: superseded by 0999 (x)",
    )
    _edit(
        decisions_copy / "README.md",
        "(0047-batch-throughput.md) — accepted",
        "(0047-batch-throughput.md) — superseded by 0999",
    )
    line = _line_of(decisions_copy, "0047")
    assert index_problems(decisions_copy) == [
        f"README.md:{line} (0047): status names 0999, which has no record"
    ]


def test_a_line_in_the_wrong_section_or_without_a_record_is_caught(decisions_copy: Path) -> None:
    readme = decisions_copy / "README.md"
    line = next(
        x for x in readme.read_text(encoding="utf-8").split("\n") if x.startswith("- 0080 ")
    )
    _edit(readme, line + "\n", "")
    _edit(readme, "## Demo data", f"{line}\n\n## Demo data")  # under "Pseudonymisation and the TTP"
    (decisions_copy / "0080-patient-built-from-allowlist.md").rename(
        decisions_copy / "0080-renamed.md"
    )
    problems = index_problems(decisions_copy)
    assert any("links to '0080-patient-built-from-allowlist.md'" in p for p in problems)
    assert any("not under the heading whose range holds 0080" in p for p in problems)
    assert "README.md: record lines are not in number order" in problems


def _line_of(folder: Path, number: str) -> int:
    lines = (folder / "README.md").read_text(encoding="utf-8").split("\n")
    return next(i for i, line in enumerate(lines, start=1) if line.startswith(f"- {number} "))
