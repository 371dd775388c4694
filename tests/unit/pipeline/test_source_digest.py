"""The fingerprint's source part read ahead on a thread: the same bytes as hash_rows (0323)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator

import pyarrow as pa
import pytest

from aanlevering.extract import fhir_texts
from aanlevering.extract.fhir_texts import SCHEMA, KeptSources
from aanlevering.pipeline import source_digest
from aanlevering.pipeline.source_digest import hash_rows_read_ahead


def _sources(count: int, *, shuffled: bool = False) -> KeptSources:
    rows = [
        (f"r{i % 17}", f"Observation/o{i}", '{"value":"' + "é9" * (i % 53) + f'","n":{i}}}')
        for i in range(count)
    ]
    columns = [pa.array([row[i] for row in rows], pa.string()) for i in range(3)]
    table = pa.table(columns, schema=SCHEMA)
    sources = KeptSources.of_table(table)
    if shuffled and count:  # rows that are not in file order (as after the canonical reordering)
        order = pa.array([(i * 7919) % count for i in range(count)])
        sources = KeptSources(sources.rows.take(order), sources.texts)
    return sources


def _straightforward(sources: KeptSources) -> str:
    digest = hashlib.sha256()
    fhir_texts.hash_rows(sources, digest.update)
    return digest.hexdigest()


def _read_ahead(sources: KeptSources, window: int | None = None) -> str:
    digest = hashlib.sha256()
    hash_rows_read_ahead(sources, digest.update, window)
    return digest.hexdigest()


@pytest.mark.parametrize("count", [0, 1, 3, 2_000])
@pytest.mark.parametrize("window", [None, 1, 300, 10_000])
@pytest.mark.parametrize("shuffled", [False, True])
def test_the_same_digest_as_hashing_on_one_thread(
    count: int, window: int | None, shuffled: bool
) -> None:
    sources = _sources(count, shuffled=shuffled)
    expected = hashlib.sha256()
    table = sources.to_table()
    for key, text in zip(
        table.column("key").to_pylist(), table.column("text").to_pylist(), strict=True
    ):
        expected.update(f"{key}\x00{text}\x00".encode())
    assert _read_ahead(sources, window) == expected.hexdigest() == _straightforward(sources)


def test_a_filtered_selection_hashes_only_its_rows_in_order() -> None:
    sources = _sources(500)
    kept = sources.filter(pa.array([i % 3 != 1 for i in range(500)]))
    assert _read_ahead(kept, 200) == _straightforward(kept)
    assert _read_ahead(kept, 200) != _read_ahead(sources, 200)


def test_an_error_while_reading_is_raised_and_the_thread_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sources = _sources(1_000)
    windows = sources.text_windows

    def failing(window: int | None = None) -> Iterator[tuple[pa.Array, pa.Array]]:
        for number, item in enumerate(windows(window)):
            if number == 3:
                raise OSError("texts file truncated")
            yield item

    monkeypatch.setattr(KeptSources, "text_windows", lambda self, window=None: failing(window))
    fed: list[int] = []
    with pytest.raises(OSError, match="truncated"):
        hash_rows_read_ahead(sources, lambda data: fed.append(len(data)), 100)
    assert len(fed) == 3  # the windows before the error, in order
    assert not [t for t in threading.enumerate() if t.name == "fingerprint-read"]


def test_an_error_while_hashing_stops_the_reading_thread() -> None:
    sources = _sources(2_000)
    read: list[int] = []
    windows = sources.text_windows

    def counted(window: int | None = None) -> Iterator[tuple[pa.Array, pa.Array]]:
        for item in windows(window):
            read.append(len(item[0]))
            yield item

    sources_counted = KeptSources(sources.rows, sources.texts)
    object.__setattr__(sources_counted, "text_windows", counted)

    def failing_feed(data: memoryview) -> None:
        raise ValueError("disk full")

    with pytest.raises(ValueError, match="disk full"):
        hash_rows_read_ahead(sources_counted, failing_feed, 50)
    assert not [t for t in threading.enumerate() if t.name == "fingerprint-read"]
    # The reader ran at most a bounded distance ahead, never through all 2,000 rows.
    assert 0 < len(read) <= source_digest._AHEAD + 2
