"""A hospital delivers only to the registrations it takes part in (a real holder process).

A real registry holder takes a registration's data only from the hospitals
that take part in it. With ``hospital_registrations`` in its config, the
reference holder refuses (403) uploads, commits, receipts and listings of
any other registration, over HTTPS and in its SFTP inboxes, and the
hospital's channel reports a refusal, never a receipt (decision 0724).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests
import yaml

from aanlevering.cli.registry_holder import write_demo_config
from aanlevering.deliver.channels.https import HttpsChannel
from aanlevering.deliver.manifest import MANIFEST_NAME, Manifest
from aanlevering.deliver.receipt import RejectedDelivery
from conftest import PATIENT, stage  # module level: a later import may find another conftest
from support.registry_holder import RegistryHolder
from support.servers import free_port

A, B = "hospital-a", "hospital-b"  # A takes part in ldtr only, B in both
REGISTRATION = "dica-dsaa"
NOT_AUTHORISED = f"provider '{A}' is not authorised to deliver to registration '{REGISTRATION}'"


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[RegistryHolder]:
    home = tmp_path / "registry-holder"
    config_path = write_demo_config(home, [A, B], ["ldtr", REGISTRATION])
    config = yaml.safe_load(config_path.read_text())
    config["hospital_registrations"] = {A: ["ldtr"], B: ["ldtr", REGISTRATION]}
    config_path.write_text(yaml.safe_dump(config))
    running = RegistryHolder(home, free_port(), _key(home, A))
    running.start()
    try:
        yield running
    finally:
        running.stop()


def _key(home: Path, hospital: str) -> str:
    return (home / f"{hospital}.api-key").read_text().strip()


def _staged(folder: Path, provider: str) -> Manifest:
    """A valid delivery of REGISTRATION by ``provider``."""
    system = f"https://aanlevering.example/fhir/NamingSystem/pseudonym/{REGISTRATION}/NGG"
    patient = {**PATIENT, "identifier": [{"system": system, "value": "NGG:v1:abc"}]}
    manifest = stage(folder, registration=REGISTRATION, patients=[patient])
    key = manifest.idempotency_key.replace("demo-hospital", provider, 1)
    return replace(manifest, provider_id=provider, idempotency_key=key)


def test_a_hospital_delivers_only_where_it_takes_part_over_https(
    holder: RegistryHolder, tmp_path: Path
) -> None:
    endpoint = holder.endpoint(REGISTRATION)
    outsider = HttpsChannel(endpoint, _key(holder.home, A), timeout=10)
    with pytest.raises(RejectedDelivery, match=f"HTTP 403.*{NOT_AUTHORISED}"):
        outsider.send(tmp_path / "a", _staged(tmp_path / "a", A))
    headers = {"Authorization": f"Bearer {_key(holder.home, A)}"}
    listing = requests.get(endpoint, params={"period": "2026-03"}, headers=headers, timeout=5)
    assert listing.status_code == 403 and NOT_AUTHORISED in listing.text
    key = f"{A}.{REGISTRATION}.2026-03.v1"
    asked = requests.get(f"{endpoint}/{key}/receipt", headers=headers, timeout=5)
    assert asked.status_code == 403
    assert not (holder.home / "storage" / "deliveries" / A).exists()  # not even an upload

    member = HttpsChannel(endpoint, _key(holder.home, B), timeout=10)
    assert member.send(tmp_path / "b", _staged(tmp_path / "b", B)).provider == B


def test_a_hospital_delivers_only_where_it_takes_part_over_sftp(
    holder: RegistryHolder, tmp_path: Path
) -> None:
    manifest = _staged(tmp_path / "a", A)
    # As the SFTP channel leaves it in A's inbox: the files, then the manifest last.
    folder = holder.home / "sftp-inbox" / A / "ldtr" / manifest.idempotency_key
    folder.mkdir()
    for item in manifest.transferred():
        (folder / item.name).write_bytes((tmp_path / "a" / item.name).read_bytes())
    (folder / MANIFEST_NAME).write_text(manifest.to_json())

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(
        (folder / name).exists() for name in ("rejected.txt", "receipt.json")
    ):
        time.sleep(0.1)

    assert NOT_AUTHORISED in (folder / "rejected.txt").read_text()
    assert not (folder / "receipt.json").exists()
