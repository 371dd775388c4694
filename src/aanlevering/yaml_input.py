"""YAML documents (catalogue, feeds, counterpart configs) parsed with libyaml when present.

Every Airflow task is its own process and loads the catalogue again; PyYAML's
pure-Python parser spent about 0.4 s per load on the example catalogue's
fourteen files, eight times per delivery. libyaml's parser builds the same
objects with the same safe constructor (pinned by tests/unit/test_yaml_input.py
on every YAML file of the repository) and raises the same ``yaml.YAMLError``
classes with their line and column, so callers keep their error handling.
"""

from __future__ import annotations

from typing import Any

import yaml

_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """The document in ``text`` (plain data only, as ``yaml.safe_load``), parsed by libyaml."""
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
