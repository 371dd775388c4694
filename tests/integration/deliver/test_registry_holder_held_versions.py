"""The registry holder's listing of held versions: each provider sees only its own (0460).

``GET /registrations/{registration}/deliveries?period=P`` answers which
versions of a period the holder holds receipted for the caller's provider;
a run asks it before it says "already delivered". Real holder process over
loopback, as a hospital's HTTPS channel asks it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from aanlevering.cli.registry_holder import write_demo_config
from aanlevering.deliver.channels.https import HttpsChannel
from aanlevering.deliver.held import ListingUnavailable
from aanlevering.deliver.manifest import idempotency_key
from aanlevering.deliver.receipt import RetryableDeliveryError
from conftest import stage
from support.registry_holder import RegistryHolder
from support.servers import free_port

A, B = "hospital-a", "hospital-b"
PERIOD = "2026-03"


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[RegistryHolder]:
    home = tmp_path / "registry-holder"
    forwarding = tmp_path / "forwarding.key"
    forwarding.write_text("forwarder-secret\n")
    forwarding.chmod(0o600)
    write_demo_config(
        home,
        [A, B],
        ["ldtr", "dica-dsaa"],
        forwarder_key_files={"lnaz": forwarding},
        forwarder_registrations={"lnaz": ["ldtr"]},
    )
    running = RegistryHolder(home, free_port(), (home / f"{A}.api-key").read_text().strip())
    running.start()
    try:
        yield running
    finally:
        running.stop()


def _channel(holder: RegistryHolder, hospital: str) -> HttpsChannel:
    key = (holder.home / f"{hospital}.api-key").read_text().strip()
    return HttpsChannel(holder.endpoint("ldtr"), key, timeout=10)


def _deliver(holder: RegistryHolder, hospital: str, version: int, folder: Path) -> str:
    manifest = stage(folder, version=version)
    key = idempotency_key(hospital, "ldtr", PERIOD, version)
    earlier = idempotency_key(hospital, "ldtr", PERIOD, version - 1) if version > 1 else None
    manifest = replace(manifest, provider_id=hospital, idempotency_key=key, supersedes=earlier)
    _channel(holder, hospital).send(folder, manifest)
    return key


def test_each_hospital_lists_only_its_own_versions(holder: RegistryHolder, tmp_path: Path) -> None:
    a1 = _deliver(holder, A, 1, tmp_path / "a1")
    a2 = _deliver(holder, A, 2, tmp_path / "a2")
    b1 = _deliver(holder, B, 1, tmp_path / "b1")

    held_a = _channel(holder, A).held_versions(A, "ldtr", PERIOD)
    held_b = _channel(holder, B).held_versions(B, "ldtr", PERIOD)

    assert [(h.version, h.idempotency_key) for h in held_a.versions] == [(1, a1), (2, a2)]
    assert held_a.latest is not None and held_a.latest.receipt_id
    assert [h.idempotency_key for h in held_b.versions] == [b1]
    # Another period, or asking in another provider's name, finds nothing of A's.
    assert _channel(holder, A).held_versions(A, "ldtr", "2026-04").versions == ()
    assert _channel(holder, B).held_versions(A, "ldtr", PERIOD).versions == ()
    raw = requests.get(
        holder.endpoint("ldtr"),
        params={"period": PERIOD},
        headers={"Authorization": f"Bearer {_channel(holder, B).api_key}"},
        timeout=5,
    )
    assert raw.status_code == 200 and A not in raw.text
    audit = [json.loads(line) for line in (holder.home / "audit.jsonl").read_text().splitlines()]
    listings = [e for e in audit if e["endpoint"] == "/registrations/{registration}/deliveries"]
    assert [(e["who"], e["method"], e["registration"], e["status"]) for e in listings] == [
        (A, "GET", "ldtr", 200),
        (B, "GET", "ldtr", 200),
        (A, "GET", "ldtr", 200),
        (B, "GET", "ldtr", 200),
        (B, "GET", "ldtr", 200),
    ]


def test_the_listing_checks_who_asks_and_what(holder: RegistryHolder, tmp_path: Path) -> None:
    _deliver(holder, A, 1, tmp_path / "a1")
    url = holder.endpoint("ldtr")
    assert requests.get(url, params={"period": PERIOD}, timeout=5).status_code == 401
    forwarder = {"Authorization": "Bearer forwarder-secret", "On-Behalf-Of": A}
    named = requests.get(url, params={"period": PERIOD}, headers=forwarder, timeout=5)
    assert named.status_code == 200 and len(named.json()["versions"]) == 1
    other = requests.get(
        holder.endpoint("dica-dsaa"), params={"period": PERIOD}, headers=forwarder, timeout=5
    )
    assert other.status_code == 403  # LNAZ's forwarder reads LNAZ's registration only
    bad = requests.get(url, params={"period": "../2026"}, headers=forwarder, timeout=5)
    assert bad.status_code == 400
    with pytest.raises(ListingUnavailable, match="HTTP 404"):
        HttpsChannel(holder.endpoint("nope"), _channel(holder, A).api_key).held_versions(
            A, "nope", PERIOD
        )


def test_a_holder_that_is_down_is_never_taken_for_one_holding_nothing(
    holder: RegistryHolder,
) -> None:
    holder.stop()
    with pytest.raises(RetryableDeliveryError, match="asking which versions it holds"):
        _channel(holder, A).held_versions(A, "ldtr", PERIOD)
