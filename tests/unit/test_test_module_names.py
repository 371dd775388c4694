"""Test modules have unique file names across the suite.

Why: pytest imports test modules by base name (rootdir-relative imports, so
``from conftest import World`` works); two ``test_x.py`` in different folders
make the whole run stop at collection, which a run of one folder never shows.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_no_two_test_modules_share_a_file_name() -> None:
    folders: dict[str, list[str]] = defaultdict(list)
    for path in TESTS.rglob("test_*.py"):
        folders[path.name].append(str(path.parent.relative_to(TESTS)))
    shared = {name: where for name, where in folders.items() if len(where) > 1}
    assert not shared, f"rename one of each: {shared}"
