"""The FHIR part of a multi-chunk demo run in worker processes: the same bytes as serial.

Decision 0988: chunks' resources are built and serialised in up to two
worker processes; the main process appends the bulk lines in chunk order.
"""

from __future__ import annotations

import hashlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aanlevering.catalogue import Catalogue
from aanlevering.demo import DemoOptions, fhirbuild, fhirchunks, generate_demo_data
from aanlevering.errors import AanleveringError, ConfigError


def digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by relative path."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def run(catalogue: Catalogue, out: Path, formats: set[str], workers: int, patients: int) -> Path:
    generate_demo_data(
        catalogue,
        DemoOptions(
            out_dir=out,
            patients=patients,
            seed=7,
            formats=frozenset(formats),
            chunk_size=100,
            workers=workers,
        ),
    )
    return out


@pytest.fixture
def pids(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Record the process that serialises each group (a forked worker inherits the patch)."""
    record = tmp_path / "pids.txt"
    original = fhirchunks.serialised_groups

    def recorded(*args: Any) -> Iterator[Any]:
        with record.open("a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
        yield from original(*args)

    monkeypatch.setattr(fhirchunks, "serialised_groups", recorded)
    return record


def processes(record: Path) -> set[int]:
    found = {int(line) for line in record.read_text(encoding="utf-8").split()}
    record.unlink()
    return found


@pytest.mark.parametrize("formats", [{"fhir"}, {"fhir-bulk"}, {"csv", "fhir"}])
def test_three_chunks_in_workers_write_the_serial_bytes(
    catalogue: Catalogue, tmp_path: Path, pids: Path, formats: set[str]
) -> None:
    serial = digest(run(catalogue, tmp_path / "serial", formats, workers=1, patients=300))
    assert processes(pids) == {os.getpid()}
    parallel = digest(run(catalogue, tmp_path / "parallel", formats, workers=2, patients=300))
    workers = processes(pids)
    assert workers and os.getpid() not in workers
    assert len(serial) > 10
    assert parallel == serial


def test_a_single_chunk_stays_in_this_process(
    catalogue: Catalogue, tmp_path: Path, pids: Path
) -> None:
    run(catalogue, tmp_path / "one", {"fhir"}, workers=2, patients=100)
    assert processes(pids) == {os.getpid()}


def test_an_error_in_a_worker_is_raised_and_leaves_no_folder(
    catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*args: object) -> object:
        raise ConfigError("patient resource refused (test)")

    monkeypatch.setattr(fhirbuild, "patient_resource", refused)
    with pytest.raises(ConfigError, match=r"patient resource refused \(test\)"):
        run(catalogue, tmp_path / "out", {"fhir"}, workers=2, patients=300)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_killed_worker_stops_the_run_naming_the_chunk_and_leaves_no_folder(
    catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker the kernel kills (out of memory) gives no exception of its own."""
    parent = os.getpid()
    original = fhirbuild.patient_resource

    def killed_in_a_worker(*args: Any) -> Any:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args)

    monkeypatch.setattr(fhirbuild, "patient_resource", killed_in_a_worker)
    with pytest.raises(AanleveringError, match=r"chunk 1 .*ended without an answer \(killed"):
        run(catalogue, tmp_path / "out", {"fhir"}, workers=2, patients=300)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
