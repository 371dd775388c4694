"""YAML documents (catalogue, feeds, counterpart configs) parsed with libyaml when present.

Every Airflow task is its own process and loads the catalogue again; PyYAML's
pure-Python parser spent about 0.4 s per load on the example catalogue's
fourteen files, eight times per delivery. libyaml's parser builds the same
objects with the same safe constructor (pinned by tests/unit/test_yaml_input.py
on every YAML file of the repository) and raises the same ``yaml.YAMLError``
classes with their line and column, so callers keep their error handling.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import yaml

_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """The document in ``text`` (plain data only, as ``yaml.safe_load``), parsed by libyaml."""
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader


#: Largest hand-written file read (the largest catalogue example is about 6 kB): a file
#: beyond it is a mistake (a data export saved in the catalogue) and is not read into memory.
MAX_FILE_BYTES = 1024 * 1024


def read_hand_written(file: Path) -> str:
    """The UTF-8 text of a hand-written file; OSError when larger than :data:`MAX_FILE_BYTES`."""
    with file.open("rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise OSError(f"larger than {MAX_FILE_BYTES} bytes; a catalogue file is hand-written YAML")
    return data.decode("utf-8")


#: What a misnamed catalogue file is told (decision 0426).
MISNAMED = "only files named <id>.yaml are read; rename it to end in .yaml"


def misnamed_yaml_files(files: Iterable[Path]) -> list[Path]:
    """The files that are YAML by name but not ``*.yaml`` (``x.yml``, ``X.YAML``), sorted.

    Catalogue folders are read as ``*.yaml``; such a file would be left out silently.
    """
    return sorted(f for f in files if f.suffix.lower() in (".yml", ".yaml") and f.suffix != ".yaml")


#: Largest node count a hand-written catalogue file may expand to through aliases.
#: The largest example file has about 600 nodes; a bomb has billions.
MAX_EXPANDED_NODES = 100_000


class _StrictLoader(_SAFE_LOADER):  # type: ignore[misc]
    """The safe loader, refusing a mapping key written twice (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # ``<<: *defaults`` and the keys it brings may be overridden
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                continue  # unhashable; the safe constructor reports it
            if isinstance(key, bool) or not isinstance(key, str | int):
                # YAML 1.1 reads ``yes:`` as true and ``2026-01-01:`` as a date; as JSON
                # they would become "true" or crash, never the text the engineer wrote.
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"key {key_node.value!r} is read as {type(key).__name__}, not as text; "
                    f"quote it ('{key_node.value}') to mean the text",
                    key_node.start_mark,
                )
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"key {key!r} appears twice in this mapping; write it once",
                    key_node.start_mark,
                )
            seen.add(key)
        return cast(dict[Any, Any], super().construct_mapping(node, deep=deep))


def _timestamp(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
    """An unquoted date or time, or a YAMLError with its line when it is not on the calendar.

    YAML reads ``start: 2026-02-29`` as a date and PyYAML raised a bare ValueError
    for a day that does not exist: an internal error in the CLI, and an import
    error that dropped every DAG in the DAG processor (decision 0674).
    """
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError as error:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"{node.value!r} is not a day on the calendar ({error}); write a real date, "
            f"or quote it ('{node.value}') if it is meant as text",
            node.start_mark,
        ) from None


_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def _expanded_size(node: yaml.Node, sizes: dict[int, int], path: set[int]) -> int:
    """Nodes ``node`` stands for with every alias expanded; refuses a node inside itself."""
    if id(node) in sizes:
        return sizes[id(node)]
    if id(node) in path:
        raise yaml.composer.ComposerError(
            None, None, "an alias refers to itself (a recursive structure)", node.start_mark
        )
    children: list[yaml.Node] = []
    if isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    path.add(id(node))
    size = 1
    for child in children:
        size += _expanded_size(child, sizes, path)
        if size > MAX_EXPANDED_NODES:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"aliases expand this document beyond {MAX_EXPANDED_NODES} nodes",
                node.start_mark,
            )
    path.discard(id(node))
    sizes[id(node)] = size
    return size


def strict_load(text: str) -> Any:
    """A hand-edited document: as :func:`safe_load`, but a key written twice, a recursive
    alias or aliases that expand beyond :data:`MAX_EXPANDED_NODES` raise ``yaml.YAMLError``
    with the line, instead of a silently replaced value or an exhausted memory.
    """
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, {}, set())
        return loader.construct_document(node)
    finally:
        loader.dispose()
