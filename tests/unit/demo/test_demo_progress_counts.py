"""The progress lines of a multi-chunk demo run keep their patient counts through the log filter.

The log filter (aanlevering.shown_names) withholds anything that looks like a
path of numbers (``2026/069386181`` may name a patient), so a count written
as ``200000/1000000`` reached the user as two withheld file names.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from aanlevering.catalogue import Catalogue
from aanlevering.demo import DemoOptions, generate_demo_data
from aanlevering.shown_names import install_log_filter, shown_text


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_progress_lines_show_the_counts_through_the_installed_filter(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    logger = logging.getLogger("aanlevering.tests.demo_progress_counts")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = _Lines()
    logger.addHandler(handler)
    try:
        install_log_filter(logger)
        generate_demo_data(
            catalogue,
            DemoOptions(
                out_dir=tmp_path / "demo",
                patients=20_000,
                seed=5,
                registrations=("ldtr",),
                formats=frozenset({"csv"}),
                chunk_size=10_000,
            ),
            progress=lambda message: logger.info("demo-data: %s", message),
        )
    finally:
        logger.removeHandler(handler)
    lines = handler.lines
    assert lines, "a two-chunk run reports progress"
    assert not any("withheld" in line for line in lines), lines
    counts = [m.group(1, 2) for line in lines if (m := re.search(r"(\d+) of (\d+) patients", line))]
    assert counts == [("0", "20000"), ("10000", "20000"), ("20000", "20000")], lines


def test_the_filter_still_withholds_a_path_of_numbers() -> None:
    assert "069386181" not in shown_text("read 2026/069386181 failed")
