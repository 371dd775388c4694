"""Several hospitals at one reference registry holder (a real process): each sees only its own.

Two hospitals deliver the same registration and period and get two
receipts; a hostile hospital cannot commit, read receipts or the ledger of
another, nor name files outside its delivery; a forwarder must name the
provider it acts for.
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
from aanlevering.deliver.manifest import Manifest, idempotency_key
from aanlevering.deliver.receipt import RejectedDelivery
from conftest import PATIENT, stage
from support.registry_holder import RegistryHolder
from support.servers import free_port

A, B = "hospital-a", "hospital-b"


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[RegistryHolder]:
    home = tmp_path / "registry-holder"
    forwarding = tmp_path / "forwarding.key"
    forwarding.write_text("forwarder-secret\n")
    forwarding.chmod(0o600)  # key files must be owner-only, whatever the umask
    write_demo_config(
        home,
        [A, B],
        ["ldtr", "dica-dsaa"],
        forwarder_key_files={"lnaz": forwarding},
        forwarder_registrations={"lnaz": ["ldtr"]},  # LNAZ's forwarder key: LNAZ's registration
    )
    running = RegistryHolder(home, free_port(), (home / f"{A}.api-key").read_text().strip())
    running.start()
    try:
        yield running
    finally:
        running.stop()


def _key(holder: RegistryHolder, hospital: str) -> str:
    return (holder.home / f"{hospital}.api-key").read_text().strip()


def _stage_for(folder: Path, provider: str) -> Manifest:
    manifest = stage(folder)
    return replace(
        manifest,
        provider_id=provider,
        idempotency_key=idempotency_key(provider, "ldtr", "2026-03", 1),
    )


def _as(holder: RegistryHolder, hospital: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {_key(holder, hospital)}", **headers}


def _ledger(holder: RegistryHolder, hospital: str) -> list[dict[str, object]]:
    response = requests.get(f"{holder.base_url}/ledger", headers=_as(holder, hospital), timeout=5)
    response.raise_for_status()
    result: list[dict[str, object]] = response.json()
    return result


def test_two_hospitals_same_period_get_two_receipts_and_see_only_their_own(
    holder: RegistryHolder, tmp_path: Path
) -> None:
    receipts = {}
    for hospital in (A, B):
        manifest = _stage_for(tmp_path / hospital, hospital)
        channel = HttpsChannel(holder.endpoint("ldtr"), _key(holder, hospital), timeout=10)
        receipts[hospital] = channel.send(tmp_path / hospital, manifest)
    assert receipts[A].receipt_id != receipts[B].receipt_id
    assert {r.provider for r in receipts.values()} == {A, B}
    assert not any(r.duplicate for r in receipts.values())
    for hospital in (A, B):
        assert [e["provider"] for e in _ledger(holder, hospital)] == [hospital]
        folder = holder.home / "storage" / "deliveries" / hospital / f"{hospital}.ldtr.2026-03.v1"
        assert (folder / "receipt.json").is_file()
    # B asks for A's receipt: refused; for a key of its own that is not there: 404.
    base = f"{holder.endpoint('ldtr')}"
    stolen = requests.get(f"{base}/{A}.ldtr.2026-03.v1/receipt", headers=_as(holder, B), timeout=5)
    assert stolen.status_code == 403
    missing = requests.get(f"{base}/{B}.ldtr.2026-03.v9/receipt", headers=_as(holder, B), timeout=5)
    assert missing.status_code == 404


def test_a_hostile_hospital_cannot_commit_for_another(
    holder: RegistryHolder, tmp_path: Path
) -> None:
    forged = _stage_for(tmp_path / "forged", A)  # B pretends to be A
    hostile = HttpsChannel(holder.endpoint("ldtr"), _key(holder, B), timeout=10)
    with pytest.raises(RejectedDelivery, match="403"):
        hostile.send(tmp_path / "forged", forged)
    # Under its own key but naming A as the provider: refused at commit.
    own_key = replace(forged, idempotency_key=idempotency_key(B, "ldtr", "2026-03", 1))
    with pytest.raises(RejectedDelivery, match=r"403.*manifest names provider 'hospital-a'"):
        hostile.send(tmp_path / "forged", own_key)
    assert _ledger(holder, A) == [] and _ledger(holder, B) == []


def test_file_names_outside_the_delivery_are_refused(
    holder: RegistryHolder, tmp_path: Path
) -> None:
    manifest = _stage_for(tmp_path / "b", B)
    base = f"{holder.endpoint('ldtr')}/{manifest.idempotency_key}"
    upload = requests.put(
        f"{base}/files/..%2F..%2Fescape.ndjson", data=b"{}", headers=_as(holder, B), timeout=5
    )
    assert upload.status_code in {400, 404}
    assert not list(holder.home.rglob("escape.ndjson"))
    sneaky = replace(manifest, files=(replace(manifest.files[0], name="../../escape.ndjson"),))
    commit = requests.post(
        f"{base}/commit",
        data=sneaky.to_json().encode(),
        headers=_as(holder, B, **{"Content-Type": "application/json"}),
        timeout=5,
    )
    assert commit.status_code == 400, commit.text
    assert "plain names" in commit.text


def test_a_forwarder_acts_only_for_a_named_known_provider(
    holder: RegistryHolder, tmp_path: Path
) -> None:
    url = f"{holder.base_url}/ledger"
    bare = {"Authorization": "Bearer forwarder-secret"}
    assert requests.get(url, headers=bare, timeout=5).status_code == 403
    unknown = {**bare, "On-Behalf-Of": "hospital-z"}
    assert requests.get(url, headers=unknown, timeout=5).status_code == 403
    named = requests.get(url, headers={**bare, "On-Behalf-Of": A}, timeout=5)
    assert named.status_code == 200 and named.json() == []
    # LNAZ's forwarder key delivers to LNAZ's registration only.
    for registration, status in (("ldtr", 404), ("dica-dsaa", 403)):
        receipt = requests.get(
            f"{holder.endpoint(registration)}/{A}.{registration}.2026-03.v1/receipt",
            headers={**bare, "On-Behalf-Of": A},
            timeout=5,
        )
        assert receipt.status_code == status, receipt.text
    # A hospital cannot act on behalf of another.
    spoof = requests.get(url, headers=_as(holder, B, **{"On-Behalf-Of": A}), timeout=5)
    assert spoof.status_code == 403
    assert json.loads(spoof.text)["detail"].startswith("hospital 'hospital-b' may not act")


def test_a_forwarder_sees_only_its_registrations_in_the_ledger(
    holder: RegistryHolder, tmp_path: Path
) -> None:
    """LNAZ's forwarder key acts for A at LDTR only: A's DICA deliveries are not its business."""
    system = "https://aanlevering.example/fhir/NamingSystem/pseudonym/dica-dsaa/NGG"
    patient = {**PATIENT, "identifier": [{"system": system, "value": "NGG:v1:abc"}]}
    manifest = replace(
        stage(tmp_path / "dica", registration="dica-dsaa", patients=[patient]),
        provider_id=A,
        idempotency_key=idempotency_key(A, "dica-dsaa", "2026-03", 1),
    )
    HttpsChannel(holder.endpoint("dica-dsaa"), _key(holder, A), timeout=10).send(
        tmp_path / "dica", manifest
    )
    assert [e["registration"] for e in _ledger(holder, A)] == ["dica-dsaa"]
    forwarder = {"Authorization": "Bearer forwarder-secret", "On-Behalf-Of": A}
    seen = requests.get(f"{holder.base_url}/ledger", headers=forwarder, timeout=5)
    assert seen.status_code == 200 and seen.json() == []
