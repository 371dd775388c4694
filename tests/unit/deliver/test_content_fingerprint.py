"""The content fingerprint hashes the IPC stream as it is written: same print as before."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace

import pyarrow as pa
import pytest

from aanlevering.extract import fhir_texts
from aanlevering.extract.fhir_texts import SCHEMA, KeptSources
from aanlevering.extract.model import Extract, ExtractedDataset
from aanlevering.periods import Period
from aanlevering.pipeline.operations import content_fingerprint


def _held_whole(extract: Extract, refs: Mapping[str, pa.Array]) -> str:
    """The implementation before streaming: the whole IPC stream as bytes, then hashed."""
    digest = hashlib.sha256()
    for name in sorted(extract.datasets):
        table = extract.datasets[name].clinical.append_column("__patient_ref", refs[name])
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        digest.update(name.encode())
        digest.update(sink.getvalue().to_pybytes())
    return digest.hexdigest()


def _extract(rows: int, shift: int = 0) -> tuple[Extract, dict[str, pa.Array]]:
    datasets = {}
    refs = {}
    for name in ("operaties", "complicaties"):
        clinical = pa.table(
            {
                "n": pa.array([i + shift for i in range(rows)], pa.int64()),
                "code": pa.array([f"c{i % 7}" if i % 5 else None for i in range(rows)]),
            }
        )
        identity = pa.table({"patient_id": pa.array([f"P{i}" for i in range(rows)])})
        row_refs = pa.array([f"{name}.csv:{i + 2}" for i in range(rows)])
        datasets[name] = ExtractedDataset(name, clinical, identity, row_refs)
        refs[name] = pa.array([f"pr_{i:032x}" for i in range(rows)])
    return Extract("dica-dsaa", Period.parse("2026"), "csv", datasets), refs


def test_same_fingerprint_as_hashing_the_whole_stream() -> None:
    for rows in (0, 1, 5000, 70000):
        extract, refs = _extract(rows)
        assert content_fingerprint(extract, refs) == _held_whole(extract, refs)


def test_other_content_other_fingerprint() -> None:
    first, refs = _extract(100)
    second, _ = _extract(100, shift=1)
    assert content_fingerprint(first, refs) != content_fingerprint(second, refs)


def test_a_changed_source_resource_is_other_content() -> None:
    """FHIR deliveries carry resources (decision 0231): they count, CSV prints stay as they were."""
    extract, refs = _extract(10)

    def with_text(text: str) -> Extract:
        table = pa.table(
            [pa.array(["operaties.csv:2"]), pa.array(["Observation/o1"]), pa.array([text])],
            schema=SCHEMA,
        )
        return replace(extract, source_resources=KeptSources.of_table(table))

    preliminary = content_fingerprint(with_text('{"status":"preliminary"}'), refs)
    final = content_fingerprint(with_text('{"status":"final"}'), refs)
    assert preliminary != final
    assert content_fingerprint(with_text('{"status":"final"}'), refs) == final
    assert content_fingerprint(replace(extract, source_resources=None), refs) == _held_whole(
        extract, refs
    )


@pytest.mark.parametrize("window", [None, 1, 50])
def test_source_resources_hash_as_key_and_text_of_each_row_whatever_the_windows(
    window: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decision 0310: texts read back from disk a window at a time hash as the rows in order."""
    if window is not None:
        monkeypatch.setattr(fhir_texts, "WINDOW_BYTES", window)
    rows = [("r1", f"Observation/o{i}", '{"value":' + "9" * (i % 40) + "}") for i in range(300)]
    table = pa.table([pa.array(column) for column in zip(*rows, strict=True)], schema=SCHEMA)
    straightforward = hashlib.sha256()
    for _, key, text in rows:
        straightforward.update(f"{key}\x00{text}\x00".encode())
    digest = hashlib.sha256()
    fhir_texts.hash_rows(KeptSources.of_table(table), digest.update)
    assert digest.hexdigest() == straightforward.hexdigest()
