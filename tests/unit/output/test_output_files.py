"""Delivery files: written on a background thread, atomic, checksummed, all or nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from aanlevering.output.files import MAX_PENDING_WRITES, FileSet


def test_many_batches_arrive_in_order_with_their_checksum(tmp_path: Path) -> None:
    chunks = [f"line {i}\n".encode() * (i % 50 + 1) for i in range(MAX_PENDING_WRITES * 25)]
    with FileSet(tmp_path) as files:
        data = files.file("A.ndjson", "application/fhir+ndjson")
        other = files.file("B.ndjson", "application/fhir+ndjson")
        for i, chunk in enumerate(chunks):
            data.write_bytes(memoryview(chunk))
            other.write(f"{i}\n")
        written = files.commit()
    expected = b"".join(chunks)
    assert (tmp_path / "A.ndjson").read_bytes() == expected
    by_name = {w.name: w for w in written}
    assert by_name["A.ndjson"].sha256 == hashlib.sha256(expected).hexdigest()
    assert by_name["A.ndjson"].bytes == len(expected)
    assert (tmp_path / "B.ndjson").read_text() == "".join(f"{i}\n" for i in range(len(chunks)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["A.ndjson", "B.ndjson"]


def test_an_error_leaves_no_file_behind(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), FileSet(tmp_path) as files:
        handle = files.file("A.ndjson", "application/fhir+ndjson")
        for _ in range(MAX_PENDING_WRITES * 3):
            handle.write("x" * 1000 + "\n")
        raise RuntimeError("a record cannot be encoded")
    assert list(tmp_path.iterdir()) == []


def test_a_failing_write_surfaces_and_nothing_is_committed(tmp_path: Path) -> None:
    with pytest.raises(ValueError), FileSet(tmp_path) as files:
        handle = files.file("A.ndjson", "application/fhir+ndjson")
        handle.write("first\n")
        handle._handle.close()  # the disk goes away under the writer thread
        for _ in range(MAX_PENDING_WRITES + 2):
            handle.write("more\n")
        files.commit()
    assert not (tmp_path / "A.ndjson").exists()
