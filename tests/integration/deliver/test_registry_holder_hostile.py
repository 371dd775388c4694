"""A hostile or buggy hospital against the reference registry holder (a real process).

The product's "delivered" is only as good as the receiver's checks: these
attack it over loopback as a hospital could, and pin that it refuses with a
specific reason before any receipt, and that a receipt only ever names what
it stored (decisions 0430-0433).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests
import yaml

from conftest import PATIENT, stage  # module level: a later import may find another conftest
from support.holder_requests import commit as _commit
from support.holder_requests import put as _put
from support.holder_requests import send as _send
from support.holder_requests import stored as _stored
from support.registry_holder import (
    HOSPITAL,
    REGISTRATIONS,
    RegistryHolder,
    SharedRegistryHolder,
    started_shared_holder,
)
from support.servers import free_port

#: Passes the BSN eleven-test (9*1+8*1+...-1*2 is a multiple of 11); never a real person.
BSN_LIKE = "111222333"


# --- a receipt names only what was stored -------------------------------------------------


def test_a_file_overwritten_while_the_commit_checks_never_gets_a_receipt_for_other_bytes(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    """Re-uploading a file during the commit's checks must not swap what is stored."""
    patients: list[dict[str, object]] = [{**PATIENT, "id": f"p-{n}"} for n in range(30000)]
    manifest = stage(tmp_path / "d", provider=registry_holder.hospital, patients=patients)
    for item in manifest.transferred():
        assert _put(registry_holder, manifest, item.name, (tmp_path / "d" / item.name).read_bytes())
    original = (tmp_path / "d" / "Patient.ndjson").read_bytes()
    swapped = original.replace(b'"1961"', b'"1962"')  # same size, other content
    assert len(swapped) == len(original) and swapped != original
    answers: list[requests.Response] = []
    committing = threading.Thread(target=lambda: answers.append(_commit(registry_holder, manifest)))
    # The commit's checks run while its private copy is there (decision 0430): overwrite
    # then, not after a guessed sleep (on a quiet machine the commit was over by then).
    checking = _stored(registry_holder, manifest).parent / ".checking"
    committing.start()
    deadline = time.monotonic() + 30
    while not checking.exists() and committing.is_alive() and time.monotonic() < deadline:
        time.sleep(0.0005)
    overwrites = []
    while committing.is_alive():
        overwrites.append(_put(registry_holder, manifest, "Patient.ndjson", swapped).status_code)
    committing.join()
    (answer,) = answers
    assert 201 in overwrites, f"no overwrite before the receipt: no race tested {overwrites}"
    assert answer.status_code == 201, answer.text
    stored = (_stored(registry_holder, manifest) / "Patient.ndjson").read_bytes()
    assert hashlib.sha256(stored).hexdigest() == manifest.files[0].sha256


def test_concurrent_commits_of_one_key_with_other_content_get_one_receipt(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    manifest = stage(tmp_path / "d", provider=registry_holder.hospital)
    for item in manifest.transferred():
        assert _put(registry_holder, manifest, item.name, (tmp_path / "d" / item.name).read_bytes())
    other = replace(manifest, normalisation_profile="nl-2026.2")  # same key, other manifest
    answers: dict[str, requests.Response] = {}
    threads = [
        threading.Thread(
            target=lambda m=m, n=n: answers.__setitem__(n, _commit(registry_holder, m))
        )
        for n, m in (("first", manifest), ("second", other))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers.values()) == [201, 409]
    winner = next(a for a in answers.values() if a.status_code == 201).json()
    retry = _commit(
        registry_holder, manifest if winner["manifest_sha256"] == manifest.sha256() else other
    )
    assert retry.status_code == 200 and retry.json()["receipt_id"] == winner["receipt_id"]
    assert retry.json()["duplicate"] is True
    assert len(registry_holder.ledger()) == 1
    late = _put(registry_holder, manifest, "Patient.ndjson", b"{}\n")
    assert late.status_code == 409


# --- the delivery is exactly what the manifest lists -------------------------------------


def test_a_commit_without_uploads_is_refused(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    answer = _commit(registry_holder, stage(tmp_path / "d", provider=registry_holder.hospital))
    assert answer.status_code == 422
    assert "Patient.ndjson: missing" in answer.text
    assert registry_holder.ledger() == []


def test_a_delivery_of_no_files_is_refused(registry_holder: RegistryHolder, tmp_path: Path) -> None:
    empty = replace(
        stage(tmp_path / "d", provider=registry_holder.hospital), files=(), record_counts={}
    )
    answer = _commit(registry_holder, empty)
    assert answer.status_code == 422, answer.text
    assert "lists no data files" in answer.text
    assert registry_holder.ledger() == []


def test_a_file_named_twice_in_the_manifest_is_refused(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    manifest = stage(tmp_path / "d", provider=registry_holder.hospital)
    twice = replace(manifest, files=(*manifest.files, manifest.files[0]))
    answer = _send(registry_holder, tmp_path / "d", twice)
    assert answer.status_code == 422, answer.text
    assert "Patient.ndjson: named more than once in the manifest" in answer.text


@pytest.mark.parametrize(
    ("kind", "supersedes"),
    [
        ("retraction", "hospital-b.ldtr.2026-03.v1"),  # another hospital's delivery
        ("retraction", "demo-hospital.ldtr.2026-02.v1"),  # another period's
        ("delivery", "demo-hospital.ldtr.2026-03.v2"),  # a later version than itself
        ("retraction", None),  # retracting nothing
    ],
)
def test_a_delivery_supersedes_only_an_earlier_version_of_its_own(
    registry_holder: RegistryHolder, tmp_path: Path, kind: str, supersedes: str | None
) -> None:
    manifest = stage(tmp_path / "d", provider=registry_holder.hospital, version=2)
    if supersedes is not None:  # the cases name this test's hospital as demo-hospital
        supersedes = supersedes.replace("demo-hospital", registry_holder.hospital)
    if kind == "retraction":
        manifest = replace(manifest, kind="retraction", files=(), record_counts={})
    answer = _send(registry_holder, tmp_path / "d", replace(manifest, supersedes=supersedes))
    assert answer.status_code == 422, answer.text
    assert "retraction names the version" in answer.text or "earlier version of" in answer.text
    assert registry_holder.ledger() == []


# --- one delivery cannot fill the holder's disk ---------------------------------------------


@contextlib.contextmanager
def _holder_with(tmp_path: Path, limits: dict[str, float]) -> Iterator[RegistryHolder]:
    from aanlevering.cli.registry_holder import write_demo_config

    home = tmp_path / "limited-holder"
    config_path = write_demo_config(home, HOSPITAL, REGISTRATIONS)
    config = yaml.safe_load(config_path.read_text())
    config["limits"] = limits
    config_path.write_text(yaml.safe_dump(config))
    holder = RegistryHolder(home, free_port(), (home / f"{HOSPITAL}.api-key").read_text().strip())
    holder.start()
    try:
        yield holder
    finally:
        holder.stop()


@pytest.fixture(scope="module")
def capped_holders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedRegistryHolder]:
    """A holder with caps of 2 files and 2000 bytes a delivery, shared by the module (0831)."""
    home = tmp_path_factory.mktemp("capped-holder")
    limits = {"max_files_per_delivery": 2, "max_delivery_bytes": 2000}
    with started_shared_holder(home, limits=limits) as shared:
        yield shared


@pytest.fixture
def capped_holder(capped_holders: SharedRegistryHolder) -> RegistryHolder:
    """A hospital of its own on the capped holder: its caps count its own uploads only."""
    return capped_holders.fresh()


@pytest.fixture
def registry_holder(hospital_holder: RegistryHolder) -> RegistryHolder:
    """A hospital of its own on the module's shared holder (decision 0831)."""
    return hospital_holder


def test_a_delivery_holds_a_bounded_number_of_files(
    capped_holder: RegistryHolder, tmp_path: Path
) -> None:
    manifest = stage(tmp_path / "d", provider=capped_holder.hospital)
    assert _put(capped_holder, manifest, "a.ndjson", b"{}\n").status_code == 201
    assert _put(capped_holder, manifest, "b.ndjson", b"{}\n").status_code == 201
    third = _put(capped_holder, manifest, "c.ndjson", b"{}\n")
    assert third.status_code == 413 and "at most 2 files" in third.text
    assert _put(capped_holder, manifest, "b.ndjson", b"{}\n").status_code == 201  # replaced
    extra = replace(manifest.files[0], name="Extra.ndjson")
    answer = _commit(capped_holder, replace(manifest, files=(*manifest.files, extra)))
    assert answer.status_code == 413 and "at most 2 files" in answer.text
    incoming = _stored(capped_holder, manifest).parent / "incoming"
    assert sorted(p.name for p in incoming.iterdir()) == ["a.ndjson", "b.ndjson"]


def test_a_delivery_holds_a_bounded_number_of_bytes(
    capped_holder: RegistryHolder, tmp_path: Path
) -> None:
    manifest = stage(tmp_path / "d", provider=capped_holder.hospital)
    assert _put(capped_holder, manifest, "a.ndjson", b"x" * 1500).status_code == 201
    too_much = _put(capped_holder, manifest, "b.ndjson", b"y" * 1000)
    assert too_much.status_code == 413 and "max_delivery_bytes" in too_much.text
    # Replacing a file counts its new size only.
    assert _put(capped_holder, manifest, "a.ndjson", b"x" * 1900).status_code == 201
    incoming = _stored(capped_holder, manifest).parent / "incoming"
    assert sorted(p.name for p in incoming.iterdir()) == ["a.ndjson"]


def test_uploads_never_committed_expire_and_receipted_deliveries_stay(tmp_path: Path) -> None:
    with _holder_with(tmp_path, {"incoming_max_age_seconds": 2}) as holder:
        kept = stage(tmp_path / "kept")
        assert _send(holder, tmp_path / "kept", kept).status_code == 201
        abandoned = stage(tmp_path / "abandoned", version=2)
        assert _put(holder, abandoned, "Patient.ndjson", b"{}\n").status_code == 201
        incoming = _stored(holder, abandoned).parent / "incoming"
        assert incoming.is_dir()
        deadline = time.monotonic() + 20
        while incoming.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not incoming.exists(), "an abandoned upload stayed on the holder's disk"
        assert (_stored(holder, kept) / "Patient.ndjson").is_file()
        assert _commit(holder, kept).json()["duplicate"] is True
