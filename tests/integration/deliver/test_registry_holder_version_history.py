"""A version names only what the registry holder really holds (a real holder process).

A real registry holder replaces or withdraws data it holds; a delivery
whose ``supersedes`` or a retraction naming a version the holder never
receipted, while it holds other versions of that period, asks it to replace
nothing, and would leave two versions current in the hospital's books but one
at the holder. It refuses with a reason, and the hospital's event log never
records it as delivered (decision 0720). A period of which it holds nothing
had its earlier version handed over by another channel (``--outbox``, 0436):
a new version is taken; a retraction of it is not.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from aanlevering.deliver.channels.https import HttpsChannel
from aanlevering.deliver.events import delivery_stream
from aanlevering.deliver.manifest import Manifest
from aanlevering.deliver.receipt import RejectedDelivery
from aanlevering.deliver.service import send_with_retries
from aanlevering.events.factory import open_event_store
from conftest import stage  # module level: a later import may find another conftest
from support.holder_requests import send as _send
from support.registry_holder import RegistryHolder

NEVER_HELD = "never held"


@pytest.fixture
def registry_holder(hospital_holder: RegistryHolder) -> RegistryHolder:
    """A hospital of its own on the module's shared holder (decision 0831)."""
    return hospital_holder


def _retraction(manifest: Manifest) -> Manifest:
    return replace(manifest, kind="retraction", files=(), record_counts={})


@pytest.mark.parametrize("kind", ["delivery", "retraction"])
def test_a_version_naming_one_the_holder_never_held_is_refused(
    registry_holder: RegistryHolder, tmp_path: Path, kind: str
) -> None:
    assert (
        _send(
            registry_holder,
            tmp_path / "v1",
            stage(tmp_path / "v1", provider=registry_holder.hospital),
        ).status_code
        == 201
    )
    manifest = stage(
        tmp_path / "v3", provider=registry_holder.hospital, version=3
    )  # supersedes v2, which was never delivered
    if kind == "retraction":
        manifest = _retraction(manifest)
    answer = _send(registry_holder, tmp_path / "v3", manifest)
    assert answer.status_code == 422, answer.text
    assert NEVER_HELD in answer.text and manifest.supersedes in answer.text
    assert [e["version"] for e in registry_holder.ledger()] == [1]


def test_a_retraction_of_a_refused_version_is_refused(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    refused = replace(
        stage(tmp_path / "v1", provider=registry_holder.hospital), record_counts={"trauma": 7}
    )  # counts do not add up
    assert _send(registry_holder, tmp_path / "v1", refused).status_code == 422
    retraction = _retraction(stage(tmp_path / "v2", provider=registry_holder.hospital, version=2))
    answer = _send(registry_holder, tmp_path / "v2", retraction)
    assert answer.status_code == 422, answer.text
    assert NEVER_HELD in answer.text


def test_a_version_superseding_one_handed_over_elsewhere_is_receipted(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    """Nothing of the period here: v1 went by --outbox to the portal (0436), v2 replaces it."""
    answer = _send(
        registry_holder,
        tmp_path / "v2",
        stage(tmp_path / "v2", provider=registry_holder.hospital, version=2),
    )
    assert answer.status_code == 201, answer.text
    assert [e["version"] for e in registry_holder.ledger()] == [2]


def test_versions_naming_held_ones_are_receipted(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    assert (
        _send(
            registry_holder,
            tmp_path / "v1",
            stage(tmp_path / "v1", provider=registry_holder.hospital),
        ).status_code
        == 201
    )
    assert _send(
        registry_holder,
        tmp_path / "v2",
        stage(tmp_path / "v2", provider=registry_holder.hospital, version=2),
    ).ok
    retraction = _retraction(
        stage(tmp_path / "v3", provider=registry_holder.hospital, version=3)
    )  # retracts v2, which is held
    assert _send(registry_holder, tmp_path / "v3", retraction).status_code == 201
    assert [e["version"] for e in registry_holder.ledger()] == [1, 2, 3]


def test_the_client_records_a_refusal_never_a_delivery(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    store = open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}")
    channel = HttpsChannel(registry_holder.endpoint("ldtr"), registry_holder.api_key, timeout=10)
    assert (
        _send(
            registry_holder,
            tmp_path / "v1",
            stage(tmp_path / "v1", provider=registry_holder.hospital),
        ).status_code
        == 201
    )
    manifest = stage(
        tmp_path / "v3", provider=registry_holder.hospital, version=3
    )  # supersedes v2, never delivered
    with pytest.raises(RejectedDelivery, match=f"HTTP 422.*{NEVER_HELD}"):
        send_with_retries(channel, tmp_path / "v3", manifest, store, sleep=lambda _: None)
    events = store.read_stream(delivery_stream("ldtr", "2026-03"))
    assert [e.event_type.rsplit(".", 1)[-1] for e in events] == ["DeliveryAttemptFailed"]
    assert events[0].payload["retryable"] is False


def test_a_version_never_held_is_named_with_the_deliverys_other_problems(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    """One refusal names every problem (decision 1034): fixing the counts alone would
    only meet the version refused next."""
    first = stage(tmp_path / "v1", provider=registry_holder.hospital)
    assert _send(registry_holder, tmp_path / "v1", first).status_code == 201
    manifest = replace(
        stage(tmp_path / "v3", provider=registry_holder.hospital, version=3),
        record_counts={"trauma": 7},
    )  # supersedes v2, never delivered, and its counts do not add up
    answer = _send(registry_holder, tmp_path / "v3", manifest)
    assert answer.status_code == 422, answer.text
    problems = answer.json()["detail"]["problems"]
    assert [p for p in problems if NEVER_HELD in p and manifest.supersedes in p] != []
    assert "record_counts says 7 record(s) of dataset 'trauma', the files hold 1" in problems
    assert [e["version"] for e in registry_holder.ledger()] == [1]


def _held(holder: RegistryHolder, tmp_path: Path, *manifests: Manifest) -> None:
    for manifest in manifests:
        folder = tmp_path / f"v{manifest.version}"
        assert _send(holder, folder, manifest).status_code == 201


def test_a_version_numbered_below_one_held_is_refused(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    """v1 and v3 held: a v2 would be receipted beside v3, current by number nowhere (1036)."""
    hospital = registry_holder.hospital
    first = stage(tmp_path / "v1", provider=hospital)
    third = replace(
        stage(tmp_path / "v3", provider=hospital, version=3), supersedes=first.idempotency_key
    )
    _held(registry_holder, tmp_path, first, third)
    second = stage(tmp_path / "v2", provider=hospital, version=2)  # supersedes v1, held
    answer = _send(registry_holder, tmp_path / "v2", second)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"]["problems"] == [
        f"version 2 is not later than v3, which this registry holder holds of {hospital}'s "
        "ldtr 2026-03: a new version is numbered after every version held"
    ]
    assert [e["version"] for e in registry_holder.ledger()] == [1, 3]


def test_a_retraction_of_a_replaced_version_is_refused(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    """v1 and v2 held: withdrawing v1 withdraws nothing current, v2 stays (1036)."""
    hospital = registry_holder.hospital
    first = stage(tmp_path / "v1", provider=hospital)
    second = stage(tmp_path / "v2", provider=hospital, version=2)
    _held(registry_holder, tmp_path, first, second)
    retraction = replace(
        _retraction(stage(tmp_path / "v3", provider=hospital, version=3)),
        supersedes=first.idempotency_key,
    )
    answer = _send(registry_holder, tmp_path / "v3", retraction)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"]["problems"] == [
        f"supersedes names {first.idempotency_key}, which a later version replaced: a "
        f"retraction withdraws the current version of {hospital}'s ldtr 2026-03 "
        f"({second.idempotency_key})"
    ]
    assert [e["version"] for e in registry_holder.ledger()] == [1, 2]


def test_a_retraction_of_a_retraction_is_refused(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    hospital = registry_holder.hospital
    first = stage(tmp_path / "v1", provider=hospital)
    withdrawn = _retraction(stage(tmp_path / "v2", provider=hospital, version=2))
    _held(registry_holder, tmp_path, first, withdrawn)
    again = _retraction(stage(tmp_path / "v3", provider=hospital, version=3))  # names v2
    answer = _send(registry_holder, tmp_path / "v3", again)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"]["problems"] == [
        f"supersedes names {withdrawn.idempotency_key}, itself a retraction: a retraction "
        "withdraws a delivered version"
    ]
    assert [e["version"] for e in registry_holder.ledger()] == [1, 2]


def test_a_retraction_counting_records_is_refused(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    """Its receipt would repeat the counts: a withdrawal shown as records delivered (1038)."""
    hospital = registry_holder.hospital
    _held(registry_holder, tmp_path, stage(tmp_path / "v1", provider=hospital))
    retraction = replace(
        _retraction(stage(tmp_path / "v2", provider=hospital, version=2)),
        record_counts={"trauma": 5},
    )
    answer = _send(registry_holder, tmp_path / "v2", retraction)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"]["problems"] == [
        "a retraction counts no records: its record_counts is empty"
    ]
    assert [e["version"] for e in registry_holder.ledger()] == [1]


def test_a_new_version_naming_none_it_replaces_is_refused_while_one_is_held(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    """v1 held: a v2 naming nothing would be receipted beside it, two current (1036)."""
    hospital = registry_holder.hospital
    first = stage(tmp_path / "v1", provider=hospital)
    _held(registry_holder, tmp_path, first)
    second = replace(stage(tmp_path / "v2", provider=hospital, version=2), supersedes=None)
    answer = _send(registry_holder, tmp_path / "v2", second)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"]["problems"] == [
        f"supersedes names no version, but this registry holder holds {hospital}'s ldtr "
        f"2026-03 ({first.idempotency_key}): a new version names the version it replaces"
    ]
    assert [e["version"] for e in registry_holder.ledger()] == [1]


def test_a_version_below_1_is_refused(registry_holder: RegistryHolder, tmp_path: Path) -> None:
    from aanlevering.deliver.manifest import idempotency_key

    hospital = registry_holder.hospital
    manifest = replace(
        stage(tmp_path / "v0", provider=hospital),
        version=0,
        idempotency_key=idempotency_key(hospital, "ldtr", "2026-03", 0),
    )
    answer = _send(registry_holder, tmp_path / "v0", manifest)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"]["problems"] == [
        "version 0 is no version: versions are numbered from 1"
    ]
    assert registry_holder.ledger() == []
