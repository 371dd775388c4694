"""Raw requests a test hospital makes to the reference registry holder: upload, commit, send.

Tests that attack the receiver need to send what no real channel would (a
manifest that does not match its files, a file twice, content in flight);
these helpers speak the protocol without the channel's own checks.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import requests

from aanlevering.deliver.manifest import Manifest, describe_files
from support.registry_holder import RegistryHolder


def auth_headers(holder: RegistryHolder, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {holder.api_key}", **extra}


def put(holder: RegistryHolder, manifest: Manifest, name: str, body: bytes) -> requests.Response:
    url = f"{holder.endpoint(manifest.registration)}/{manifest.idempotency_key}/files/{name}"
    return requests.put(url, data=body, headers=auth_headers(holder), timeout=30)


def commit(holder: RegistryHolder, manifest: Manifest) -> requests.Response:
    url = f"{holder.endpoint(manifest.registration)}/{manifest.idempotency_key}/commit"
    headers = auth_headers(holder, **{"Content-Type": "application/json"})
    return requests.post(url, data=manifest.to_json().encode(), headers=headers, timeout=60)


def send(holder: RegistryHolder, folder: Path, manifest: Manifest) -> requests.Response:
    for item in manifest.transferred():
        assert put(holder, manifest, item.name, (folder / item.name).read_bytes()).ok
    return commit(holder, manifest)


def stored(holder: RegistryHolder, manifest: Manifest) -> Path:
    return (
        holder.home
        / "storage"
        / "deliveries"
        / manifest.provider_id
        / manifest.idempotency_key
        / "accepted"
    )


def restaged(folder: Path, manifest: Manifest, texts: dict[str, str | bytes]) -> Manifest:
    """``manifest`` with its files replaced by ``texts`` (name -> content), re-described."""
    for item in manifest.files:
        (folder / item.name).unlink()
    for name, text in texts.items():
        (folder / name).write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    records = {
        name: sum(1 for line in (folder / name).read_bytes().splitlines() if line.strip())
        for name in texts
    }
    files = describe_files(folder, records, {n: "application/fhir+ndjson" for n in texts})
    return replace(manifest, files=files)


def csv_delivery(folder: Path, manifest: Manifest, body: bytes, claimed: int) -> Manifest:
    """``manifest``'s delivery in ``folder`` as one ``trauma.csv`` of ``body``, the manifest
    claiming ``claimed`` records (what a hospital's sender would describe)."""
    for item in manifest.files:
        (folder / item.name).unlink()
    (folder / "trauma.csv").write_bytes(body)
    files = describe_files(folder, {"trauma.csv": claimed}, {"trauma.csv": "text/csv"})
    return replace(manifest, format="csv", files=files, record_counts={"trauma": claimed})


def refusal_text(answer: requests.Response) -> str:
    """The text of a 422 refusal (its ``detail``), failing the test on any other answer."""
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    return detail if isinstance(detail, str) else json.dumps(detail)


def ndjson_lines(*resources: dict[str, object]) -> str:
    """``resources`` as NDJSON text, one line each."""
    return "".join(json.dumps(resource) + "\n" for resource in resources)
