"""Local mode over mTLS: the TTP presents its own client certificate when it forwards.

A registry holder that accepts forwarders only with a certificate its CA
signed (the receiver with ``--tls-client-ca``) gets the delivery from a TTP
whose ``forwarding`` config names that certificate, and sees its subject; a
TTP without one is refused, its upload fails, and nothing is stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_ttp_local_mode import stage

from aanlevering.counterparts.common.demo_ca import DemoCA
from aanlevering.counterparts.ttp.config import read_config_document
from aanlevering.counterparts.ttp.demo_config import write_config_document
from aanlevering.deliver.channels.ttp_local import LocalUploadResult, upload_local
from aanlevering.deliver.manifest import Manifest
from aanlevering.pseudonym.ttp.errors import TTPRefused
from support.servers import PYTHON, ServerProcess, start_server
from support.tls import client_pair
from support.ttp import Hospital, TTPSetup, make_setup, use_receiver_key
from support.ttp_uploads import forwarded

RECEIVER = Path(__file__).with_name("receiver.py")


@pytest.fixture
def mtls_receiver(tmp_path: Path, receiver_key: Path, demo_ca: DemoCA) -> Iterator[ServerProcess]:
    """A registry holder endpoint that wants a client certificate signed by the demo CA."""
    server = start_server(
        [
            *(PYTHON, str(RECEIVER), "--dir", str(tmp_path / "received"), "--port", "{port}"),
            *("--api-key-file", str(receiver_key)),
            *("--tls-cert", str(demo_ca.server_cert), "--tls-key", str(demo_ca.server_key)),
            *("--tls-client-ca", str(demo_ca.ca_cert)),
        ],
        log_path=tmp_path / "receiver.log",
        scheme="https",
        verify=str(demo_ca.ca_cert),
    )
    yield server
    server.stop()


def _forwarding_ttp(
    folder: Path, receiver: ServerProcess, receiver_key: Path, tls: dict[str, str]
) -> TTPSetup:
    setup = make_setup(folder, receiver.url)
    use_receiver_key(setup, receiver_key)
    document = read_config_document(setup.config)
    document["forwarding"].update(tls)
    write_config_document(setup.config, document)
    setup.start()
    return setup


def _upload(ttp: TTPSetup, staged: Path, manifest: Manifest) -> LocalUploadResult:
    """The hospital's local-mode upload of ``staged``; the TTP is stopped afterwards."""
    try:
        return upload_local(
            ttp.client("demo-hospital"), "nkr-borst", staged, manifest, profile_version="nl-2026.1"
        )
    finally:
        ttp.stop()


def test_the_ttp_forwards_with_its_client_certificate(
    tmp_path: Path,
    mtls_receiver: ServerProcess,
    receiver_key: Path,
    demo_ca: DemoCA,
    hospital_a: Hospital,
) -> None:
    cert, key = client_pair(demo_ca, "ttp")
    tls = {"ca_bundle": str(demo_ca.ca_cert), "client_cert": str(cert), "client_key": str(key)}
    manifest = stage(tmp_path / "staged", "2026-M1", hospital_a)
    ttp = _forwarding_ttp(tmp_path / "ttp", mtls_receiver, receiver_key, tls)
    result = _upload(ttp, tmp_path / "staged", manifest)
    assert result.receipt.idempotency_key == manifest.idempotency_key
    headers = json.loads((forwarded(tmp_path, manifest) / "headers.json").read_text())
    assert headers["_client_subject"] == "commonName=ttp"  # the TTP's own, not a hospital's


def test_a_ttp_without_a_client_certificate_is_refused_and_nothing_is_stored(
    tmp_path: Path,
    mtls_receiver: ServerProcess,
    receiver_key: Path,
    demo_ca: DemoCA,
    hospital_a: Hospital,
) -> None:
    manifest = stage(tmp_path / "staged", "2026-M2", hospital_a)
    ttp = _forwarding_ttp(
        tmp_path / "ttp", mtls_receiver, receiver_key, {"ca_bundle": str(demo_ca.ca_cert)}
    )
    with pytest.raises(TTPRefused) as refused:
        _upload(ttp, tmp_path / "staged", manifest)
    assert "client certificate required" in str(refused.value)
    assert not forwarded(tmp_path, manifest).exists()
