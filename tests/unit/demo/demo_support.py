"""Readers for the demo-data tests: CSV exports, NDJSON, bad-rows.json."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aanlevering.catalogue import RegistrationConfig


def read_csv(path: Path, encoding: str) -> list[dict[str, str]]:
    """Rows of a demo CSV export as dicts (the csv module handles the quoting)."""
    text = path.read_bytes().decode(encoding)
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))


def csv_file(demo: Path, config: RegistrationConfig, dataset: str, variant: str) -> Path:
    """The export file of a dataset, found by the config's glob."""
    assert config.csv_source is not None
    glob = config.csv_source.datasets[dataset].file
    matches = sorted((demo / variant).glob(glob))
    assert len(matches) == 1, f"{glob} in {variant}: {matches}"
    return matches[0]


def ndjson(path: Path) -> Iterator[dict[str, Any]]:
    for line in path.read_text(encoding="utf-8").splitlines():
        yield json.loads(line)


def bad_rows(demo: Path) -> dict[str, Any]:
    return dict(json.loads((demo / "bad-rows.json").read_text(encoding="utf-8")))


def column_for(config: RegistrationConfig, dataset: str, variable: str) -> str:
    """The CSV column a dictionary variable comes from."""
    assert config.csv_source is not None
    for column, name in config.csv_source.datasets[dataset].columns.items():
        if name == variable:
            return column
    raise KeyError(variable)
