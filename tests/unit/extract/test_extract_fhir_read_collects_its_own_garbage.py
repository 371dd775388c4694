"""After a read, the streaming FHIR reader collects the garbage the read made, and only that.

Why (decision 0862): the reader turns the cyclic collector off while resources
pass through (nothing it decodes holds a cycle) and collected once afterwards.
A full collection walks every object of the process, however little the read
made: an Airflow task's or a test worker's heap, a fifth of a small extract's
CPU. Everything the read made is still in the youngest generation (no
collection ran while it read), so collecting that generation frees every
cycle the read left, without walking older objects.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

from aanlevering.extract.fhir_stream import PartReader


class _Node:
    """An object in a reference cycle (freed only by the cyclic collector)."""

    def __init__(self) -> None:
        self.me = self


def test_the_read_frees_the_cycles_it_made_walking_the_youngest_generation_only() -> None:
    made: list[weakref.ref[_Node]] = []
    generations: list[int] = []

    def resources() -> Iterator[tuple[dict[str, Any], str, str | None]]:
        node = _Node()  # garbage with a cycle, made while the reader reads
        made.append(weakref.ref(node))
        del node
        yield from ()

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            generations.append(info["generation"])

    gc.collect()
    gc.callbacks.append(record)
    try:
        PartReader([], None, None, None).read(resources())
    finally:
        gc.callbacks.remove(record)
    assert made and made[0]() is None  # the cycle was collected by the read
    assert generations and max(generations) == 0, generations  # no older object walked
