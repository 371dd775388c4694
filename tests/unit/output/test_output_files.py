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


def test_checksums_on_their_own_thread_follow_the_write_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large chunks (hashing releases the GIL) to several files, a slow checksum thread: each
    file's sha256 is of its bytes in write order, and commit waits for the last checksum."""
    import random
    import threading
    import time

    from aanlevering.output import files as files_module

    rng = random.Random(3)
    slow = files_module.ThreadPoolExecutor

    class SlowChecksums(slow):  # type: ignore[misc,valid-type]
        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
            def late():  # type: ignore[no-untyped-def]
                if threading.current_thread().name.startswith("delivery-checksum"):
                    time.sleep(0.002)
                return fn(*args, **kwargs)

            return super().submit(late)

    monkeypatch.setattr(files_module, "ThreadPoolExecutor", SlowChecksums)
    chunks = {
        name: [rng.randbytes(rng.randint(1, 300_000)) for _ in range(30)] for name in ("A", "B")
    }
    with FileSet(tmp_path) as files:
        for a, b in zip(chunks["A"], chunks["B"], strict=True):
            files.file("A.ndjson", "x").write_bytes(memoryview(a))
            files.file("B.ndjson", "x").write_bytes(b)
        written = {w.name: w for w in files.commit()}
    for name, parts in chunks.items():
        expected = b"".join(parts)
        assert (tmp_path / f"{name}.ndjson").read_bytes() == expected
        assert written[f"{name}.ndjson"].sha256 == hashlib.sha256(expected).hexdigest()


def test_the_disk_catches_up_in_the_background_and_commit_still_syncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import threading

    from aanlevering.output import files as files_module

    synced: list[str] = []
    real_fdatasync = os.fdatasync

    def recorded(fd: int) -> None:
        synced.append(threading.current_thread().name)
        real_fdatasync(fd)

    fsynced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(files_module, "SYNC_EVERY", 10_000)
    monkeypatch.setattr(files_module.os, "fdatasync", recorded)
    monkeypatch.setattr(files_module.os, "fsync", lambda fd: (fsynced.append(fd), real_fsync(fd)))
    chunks = [bytes([i % 251]) * 7_000 for i in range(60)]
    with FileSet(tmp_path) as files:
        for chunk in chunks:
            files.file("A.ndjson", "x").write_bytes(chunk)
        written = files.commit()
    assert synced and all(name.startswith("delivery-sync") for name in synced)
    assert len(fsynced) == 1  # the commit's own sync of the whole file
    assert (tmp_path / "A.ndjson").read_bytes() == b"".join(chunks)
    assert written[0].sha256 == hashlib.sha256(b"".join(chunks)).hexdigest()


@pytest.mark.parametrize("writes", [1, 3])
def test_a_failed_background_sync_stops_the_delivery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writes: int
) -> None:
    """Raised by the commit, also when more was written after it failed."""
    import time

    from aanlevering.output import files as files_module

    calls: list[int] = []

    def failing(fd: int) -> None:
        calls.append(fd)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(files_module, "SYNC_EVERY", 10_000)
    monkeypatch.setattr(files_module.os, "fdatasync", failing)
    with pytest.raises(OSError, match="Input/output error"), FileSet(tmp_path) as files:
        for _ in range(writes):
            files.file("A.ndjson", "x").write_bytes(b"y" * 20_000)
            time.sleep(0.05)  # the sync has failed before the next write
        files.commit()
    assert list(tmp_path.iterdir()) == []
    assert len(calls) == 1  # no sync after a failed one


def test_giving_up_waits_for_a_running_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from aanlevering.output import files as files_module

    finished: list[bool] = []

    def slow(fd: int) -> None:
        time.sleep(0.2)
        finished.append(True)

    monkeypatch.setattr(files_module, "SYNC_EVERY", 10_000)
    monkeypatch.setattr(files_module.os, "fdatasync", slow)
    with pytest.raises(RuntimeError), FileSet(tmp_path) as files:
        files.file("A.ndjson", "x").write_bytes(b"y" * 20_000)
        files.file("A.ndjson", "x").write_bytes(b"y" * 20_000)
        time.sleep(0.05)
        raise RuntimeError("a record cannot be encoded")
    assert finished
    assert list(tmp_path.iterdir()) == []
