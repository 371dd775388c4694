"""The https channel against the reference registry holder over real TLS and mTLS.

The registry holder runs ``serve --tls-cert/--tls-key/--tls-client-ca`` with
a throwaway CA; the hospital verifies it with that CA and authenticates with
its API key or, instead, with its client certificate. Certificate failures
are rejections (never retried); plain http to a non-loopback host is refused
before anything is sent.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from aanlevering.counterparts.common.demo_ca import DemoCA, client_subject
from aanlevering.deliver.channels.https import HttpsChannel
from aanlevering.deliver.receipt import RejectedDelivery
from aanlevering.errors import ConfigError
from aanlevering.tls import ClientTLS
from conftest import PATIENT, stage
from support.registry_holder import HOSPITAL, REGISTRATIONS, RegistryHolder, _free_port
from support.tls import client_pair, server_args


@pytest.fixture
def tls_holder(tmp_path: Path, demo_ca: DemoCA) -> Iterator[RegistryHolder]:
    from aanlevering.cli.registry_holder import write_demo_config

    home = tmp_path / "registry-holder"
    config_path = write_demo_config(home, HOSPITAL, REGISTRATIONS)
    config = yaml.safe_load(config_path.read_text())
    config["hospital_certificate_subjects"] = {HOSPITAL: client_subject(HOSPITAL)}
    config_path.write_text(yaml.safe_dump(config))
    api_key = (home / f"{HOSPITAL}.api-key").read_text().strip()
    holder = RegistryHolder(
        home, _free_port(), api_key, tls_args=server_args(demo_ca), ca=demo_ca.ca_cert
    )
    holder.start()
    try:
        yield holder
    finally:
        holder.stop()


def _channel(holder: RegistryHolder, api_key: str, tls: ClientTLS) -> HttpsChannel:
    return HttpsChannel(holder.endpoint("ldtr"), api_key, timeout=10, tls=tls)


def test_delivery_over_tls_with_api_key_and_with_client_certificate(
    tls_holder: RegistryHolder, demo_ca: DemoCA, tmp_path: Path
) -> None:
    assert tls_holder.base_url.startswith("https://")
    folder, manifest = tmp_path / "a", stage(tmp_path / "a")
    receipt = _channel(tls_holder, tls_holder.api_key, ClientTLS(ca_bundle=demo_ca.ca_cert)).send(
        folder, manifest
    )
    assert not receipt.duplicate

    # mTLS: no API key at all, the client certificate's subject identifies the hospital.
    cert, key = client_pair(demo_ca, HOSPITAL)
    mtls = ClientTLS(ca_bundle=demo_ca.ca_cert, client_cert=cert, client_key=key)
    second, manifest2 = tmp_path / "b", stage(tmp_path / "b", version=2)
    receipt2 = _channel(tls_holder, "", mtls).send(second, manifest2)
    assert receipt2.idempotency_key == manifest2.idempotency_key
    assert [entry["version"] for entry in tls_holder.ledger()] == [1, 2]
    # What the holder holds is asked over the same TLS, as the certificate's hospital (0460).
    held = _channel(tls_holder, "", mtls).held_versions(HOSPITAL, "ldtr", manifest.period)
    assert [h.idempotency_key for h in held.versions] == [
        manifest.idempotency_key,
        manifest2.idempotency_key,
    ]


def test_certificate_of_an_unknown_hospital_or_none_is_401(
    tls_holder: RegistryHolder, demo_ca: DemoCA
) -> None:
    url = f"{tls_holder.base_url}/ledger"
    other = client_pair(demo_ca, "other-hospital")  # valid certificate, unknown subject
    assert requests.get(url, verify=str(demo_ca.ca_cert), cert=other, timeout=5).status_code == 401
    assert requests.get(url, verify=str(demo_ca.ca_cert), timeout=5).status_code == 401
    mine = client_pair(demo_ca, HOSPITAL)
    assert requests.get(url, verify=str(demo_ca.ca_cert), cert=mine, timeout=5).status_code == 200


def test_certificate_from_another_ca_fails_the_handshake(
    tls_holder: RegistryHolder, demo_ca: DemoCA, other_ca: DemoCA
) -> None:
    forged = client_pair(other_ca, HOSPITAL)  # same subject, wrong issuer
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(
            f"{tls_holder.base_url}/ledger", verify=str(demo_ca.ca_cert), cert=forged, timeout=5
        )


def test_unverifiable_server_certificate_is_a_rejection_not_a_retry(
    tls_holder: RegistryHolder, other_ca: DemoCA, tmp_path: Path
) -> None:
    folder, manifest = tmp_path / "a", stage(tmp_path / "a")
    for tls in (ClientTLS(), ClientTLS(ca_bundle=other_ca.ca_cert)):
        with pytest.raises(RejectedDelivery, match="TLS verification"):
            _channel(tls_holder, tls_holder.api_key, tls).send(folder, manifest)
    assert tls_holder.ledger() == []


def test_plain_http_to_a_non_loopback_host_is_refused() -> None:
    with pytest.raises(ConfigError, match="plain http"):
        HttpsChannel("http://registry.example.org/registrations/x/deliveries", "key")
    # Loopback and an explicit opt-in are allowed; https always.
    HttpsChannel("http://127.0.0.1:8766/registrations/x/deliveries", "key")
    HttpsChannel("http://localhost:8766/x", "key")
    HttpsChannel("http://registry.example.org/x", "k", tls=ClientTLS(allow_insecure_http=True))
    HttpsChannel("https://registry.example.org/x", "key")


def test_demo_ca_command_writes_usable_files(tmp_path: Path) -> None:
    from support.servers import PYTHON

    out = tmp_path / "ca"
    subprocess.run(
        [PYTHON, "-m", "aanlevering.cli.main", "demo-ca", "--out", str(out), "--client", "h1"],
        check=True,
        capture_output=True,
    )
    from cryptography import x509

    server = x509.load_pem_x509_certificate((out / "server.pem").read_bytes())
    client = x509.load_pem_x509_certificate((out / "client-h1.pem").read_bytes())
    assert client.subject.rfc4514_string() == client_subject("h1")
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert oct((out / "server.key").stat().st_mode & 0o777) == "0o600"
    assert not (out / "ca.key").exists()


def test_pc4_address_is_accepted_and_a_full_address_rejected(
    tls_holder: RegistryHolder, demo_ca: DemoCA, tmp_path: Path
) -> None:

    tls = ClientTLS(ca_bundle=demo_ca.ca_cert)
    pc4 = {**PATIENT, "address": [{"postalCode": "3511"}]}
    folder = tmp_path / "pc4"
    receipt = _channel(tls_holder, tls_holder.api_key, tls).send(
        folder, stage(folder, patients=[pc4])
    )
    assert not receipt.duplicate
    for number, address in enumerate(
        (
            {"postalCode": "3511 AB"},
            {"postalCode": "3511", "line": ["Domplein 1"]},
            {"postalCode": "3511", "city": "Utrecht"},
        )
    ):
        leaky = {**PATIENT, "address": [address]}
        folder = tmp_path / f"leaky-{number}"
        with pytest.raises(RejectedDelivery, match="4-digit postal code"):
            _channel(tls_holder, tls_holder.api_key, tls).send(
                folder, stage(folder, version=2 + number, patients=[leaky])
            )
