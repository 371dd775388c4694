"""Request limits of the reference registry holder: 401/413/429 before a body is read.

The raw-socket requests send only their head: an answer proves the server
decided without reading the body (it would otherwise wait for it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from conftest import stage  # module level: a later import may find another conftest
from support.raw_http import open_request, request_without_body
from support.registry_holder import HOSPITAL, REGISTRATIONS, RegistryHolder, _free_port

LIMITS = {
    "max_file_bytes": 10_000,
    "max_manifest_bytes": 4096,
    "requests_per_minute": 8,
    "failed_auth_per_minute": 3,
    "max_concurrent_uploads": 1,
}
FILE = "/registrations/ldtr/deliveries/demo-hospital.ldtr.2026-03.v1/files/Patient.ndjson"


@pytest.fixture
def limited_holder(tmp_path: Path) -> Iterator[RegistryHolder]:
    from aanlevering.cli.registry_holder import write_demo_config

    home = tmp_path / "registry-holder"
    config_path = write_demo_config(home, HOSPITAL, REGISTRATIONS)
    config = yaml.safe_load(config_path.read_text())
    config["limits"] = LIMITS
    config_path.write_text(yaml.safe_dump(config))
    holder = RegistryHolder(home, _free_port(), (home / f"{HOSPITAL}.api-key").read_text().strip())
    holder.start()
    try:
        yield holder
    finally:
        holder.stop()


def test_unauthenticated_and_oversized_uploads_are_refused_unread(
    limited_holder: RegistryHolder,
) -> None:
    huge = {"Content-Length": str(150 * 1024 * 1024), "Content-Type": "application/octet-stream"}
    assert request_without_body(limited_holder.port, "PUT", FILE, huge).status == 401
    bearer = {"Authorization": f"Bearer {limited_holder.api_key}"}
    assert request_without_body(limited_holder.port, "PUT", FILE, {**huge, **bearer}).status == 413
    commit = FILE.replace("files/Patient.ndjson", "commit")
    assert (
        request_without_body(limited_holder.port, "POST", commit, {**huge, **bearer}).status == 413
    )
    # Nothing of the refused uploads reached the disk.
    assert not list((limited_holder.home / "storage").rglob("Patient.ndjson"))


def test_streamed_upload_over_the_limit_is_cut_off(limited_holder: RegistryHolder) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x" * 1000

    answer = requests.put(
        limited_holder.base_url + FILE,
        data=chunks(),  # chunked: no Content-Length to refuse on
        headers={"Authorization": f"Bearer {limited_holder.api_key}"},
        timeout=10,
    )
    assert answer.status_code == 413
    written = list((limited_holder.home / "storage").rglob("Patient.ndjson"))
    assert all(path.stat().st_size <= LIMITS["max_file_bytes"] for path in written)


def test_flooding_and_parallel_uploads_get_429(limited_holder: RegistryHolder) -> None:
    url = limited_holder.base_url + "/ledger"
    wrong = [requests.get(url, headers={"Authorization": "Bearer x"}, timeout=5) for _ in range(5)]
    assert [r.status_code for r in wrong] == [401, 401, 401, 429, 429]
    assert int(wrong[-1].headers["Retry-After"]) >= 1

    bearer = {"Authorization": f"Bearer {limited_holder.api_key}"}
    head = {**bearer, "Content-Length": "5000"}
    with open_request(limited_holder.port, "PUT", FILE, head, b"x" * 100):
        second = request_without_body(
            limited_holder.port, "PUT", FILE.replace("Patient", "Q"), head
        )
        assert second.status == 429
        assert int(second.headers["retry-after"]) >= 1
    answers = [requests.get(url, headers=bearer, timeout=5).status_code for _ in range(8)]
    assert 429 in answers and answers[0] == 200


def test_failed_logins_and_deliveries_are_audited_in_a_verifiable_chain(
    limited_holder: RegistryHolder, tmp_path: Path
) -> None:
    from aanlevering.deliver.channels.https import HttpsChannel

    bsn = "123456782"
    for _ in range(2):
        requests.get(
            limited_holder.base_url + f"/registrations/{bsn}/deliveries/x/receipt",
            headers={"Authorization": f"Bearer {bsn}"},
            timeout=5,
        )
    folder = tmp_path / "staging"
    manifest = stage(folder)
    HttpsChannel(limited_holder.endpoint("ldtr"), limited_holder.api_key, timeout=10).send(
        folder, manifest
    )
    audit_path = limited_holder.home / "audit.jsonl"
    text = audit_path.read_text()
    assert bsn not in text and limited_holder.api_key not in text
    entries = [json.loads(line) for line in text.splitlines()]
    failed = [e for e in entries if e["outcome"] == "refused:unauthenticated"]
    assert len(failed) == 2
    assert failed[0]["who"] == "(unauthenticated)" and failed[0]["peer"] == "127.0.0.1"
    assert failed[0]["registration"] == "(unknown)" and failed[0]["credential"] == "api-key"
    commit = next(e for e in entries if e["endpoint"].endswith("/commit"))
    assert commit["who"] == HOSPITAL and commit["registration"] == "ldtr"
    assert commit["delivery"] == manifest.idempotency_key and commit["status"] == 201
    assert commit["files"] == 2 and commit["records"] == 2
    uploads = [e for e in entries if e["endpoint"].endswith("/files/{name}")]
    assert [e["bytes"] for e in uploads] == [f.bytes for f in manifest.files]

    command = [sys.executable, "-m", "aanlevering.cli.main", "registry-holder", "audit", "verify"]
    config = str(limited_holder.home / "registry-holder.yaml")
    intact = subprocess.run([*command, "--config", config], capture_output=True, check=False)
    assert intact.returncode == 0, intact.stderr
    lines = text.splitlines()
    lines[1] = lines[1].replace('"status":401', '"status":200')
    audit_path.write_text("\n".join(lines) + "\n")
    tampered = subprocess.run(
        [*command, "--config", config], capture_output=True, text=True, check=False
    )
    assert tampered.returncode == 1 and "line 2" in tampered.stderr
