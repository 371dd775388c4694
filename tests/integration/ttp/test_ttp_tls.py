"""The reference TTP over real TLS and mTLS: certificates instead of API keys, refusals that stick.

``ttp serve --tls-cert/--tls-key/--tls-client-ca`` with a throwaway CA. A
hospital and a registry holder whose config names their certificate subject
work without an API key; a client that cannot verify the TTP fails at once
(no retries); plain http to a non-loopback TTP is refused before a request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from aanlevering.cli.registry_holder import ttp_client_for
from aanlevering.counterparts.common.demo_ca import DemoCA, client_subject
from aanlevering.counterparts.registry_holder.config import ReceiverConfig
from aanlevering.counterparts.ttp.config import read_config_document
from aanlevering.counterparts.ttp.demo_config import write_config_document
from aanlevering.errors import ConfigError
from aanlevering.pseudonym.ttp.client import TTPClient
from aanlevering.pseudonym.ttp.errors import TTPRefused
from aanlevering.pseudonym.ttp.models import PseudonymInputs, RecordPseudonyms
from aanlevering.tls import ClientTLS
from support.tls import client_pair, server_args
from support.ttp import SOURCE_KEY, TTPSetup, digest


@pytest.fixture
def tls_ttp(fresh_ttp: TTPSetup, demo_ca: DemoCA) -> Iterator[TTPSetup]:
    document = read_config_document(fresh_ttp.config)
    for organisation in document["organisations"]:
        if organisation["id"] in ("demo-hospital", "dica"):
            organisation["certificate_subject"] = client_subject(organisation["id"])
    write_config_document(fresh_ttp.config, document)
    fresh_ttp.start(server_args(demo_ca), ca=demo_ca.ca_cert)
    yield fresh_ttp


def _mtls(ca: DemoCA, organisation: str) -> ClientTLS:
    cert, key = client_pair(ca, organisation)
    return ClientTLS(ca_bundle=ca.ca_cert, client_cert=cert, client_key=key)


def test_web_mode_with_client_certificates_instead_of_api_keys(
    tls_ttp: TTPSetup, demo_ca: DemoCA
) -> None:
    assert tls_ttp.url.startswith("https://")
    hospital = TTPClient(
        tls_ttp.url,
        "",
        tls=_mtls(demo_ca, "demo-hospital"),
        backoff=0.01,
        source_key_checks={"dica-dsaa": SOURCE_KEY},
    )
    temps = hospital.temporary_pseudonyms(
        "dica-dsaa",
        [PseudonymInputs("p", {"NGGV": digest("tls-1")})],
        run_id="tls-1",
        profile_version="nl-2026.1",
    )
    # The registry holder's exchange, configured with its certificate and no TTP API key.
    holder_config = ReceiverConfig(
        receiver_id="dica",
        storage_dir=tls_ttp.folder / "holder",
        registrations=frozenset({"dica-dsaa"}),
        hospital_key_hashes={},
        ttp_url=tls_ttp.url,
        ttp_tls=_mtls(demo_ca, "dica"),
    )
    holder = ttp_client_for(holder_config)("dica-dsaa")
    final = holder.exchange(
        "dica-dsaa", [RecordPseudonyms("p", dict(temps.pseudonyms["p"]))], run_id="tls-1x"
    )
    assert final.pseudonyms["p"]["NGGV"].startswith("NGGV:v1:")

    # The API key still works over TLS; a certificate whose subject no organisation
    # names (valid CA) authenticates nobody.
    keyed = TTPClient(
        tls_ttp.url, tls_ttp.api_keys["demo-hospital"], tls=ClientTLS(ca_bundle=demo_ca.ca_cert)
    )
    assert keyed.health().status == "ok"
    stranger = requests.post(
        tls_ttp.url + "/pseudonyms/temporary",
        json={},
        verify=str(demo_ca.ca_cert),
        cert=client_pair(demo_ca, "other-hospital"),
        timeout=5,
    )
    assert stranger.status_code == 401


def test_unverifiable_ttp_is_refused_at_once_not_retried(
    tls_ttp: TTPSetup, other_ca: DemoCA
) -> None:
    sleeps: list[float] = []
    client = TTPClient(
        tls_ttp.url,
        tls_ttp.api_keys["demo-hospital"],
        tls=ClientTLS(ca_bundle=other_ca.ca_cert),
        max_retries=3,
        sleep=sleeps.append,
        source_key_checks={"dica-dsaa": SOURCE_KEY},
    )
    with pytest.raises(TTPRefused) as refused:
        client.temporary_pseudonyms(
            "dica-dsaa",
            [PseudonymInputs("p", {"NGGV": digest("tls-2")})],
            run_id="tls-2",
            profile_version="nl-2026.1",
        )
    assert refused.value.code == "tls_verification_failed"
    assert sleeps == []


def test_a_registry_holder_without_key_or_certificate_for_the_ttp_is_told_which() -> None:
    config = ReceiverConfig(
        receiver_id="dica",
        storage_dir=Path("/nonexistent"),
        registrations=frozenset({"dica-dsaa"}),
        hospital_key_hashes={},
        ttp_url="https://127.0.0.1:1",
    )
    with pytest.raises(ConfigError, match="dica-dsaa and no ttp_tls client_cert"):
        ttp_client_for(config)("dica-dsaa")


def test_plain_http_to_a_remote_ttp_is_refused() -> None:
    with pytest.raises(ConfigError, match="plain http"):
        TTPClient("http://ttp.example.org:8765", "key")
    TTPClient("http://ttp.example.org:8765", "key", tls=ClientTLS(allow_insecure_http=True))
    with pytest.raises(ConfigError, match="plain http"):
        TTPClient.from_env(
            {"AANLEVERING_TTP_URL": "http://10.0.0.5", "AANLEVERING_TTP_API_KEY": "k"}
        )
    assert (
        TTPClient.from_env(
            {
                "AANLEVERING_TTP_URL": "http://10.0.0.5",
                "AANLEVERING_TTP_API_KEY": "k",
                "AANLEVERING_TTP_ALLOW_INSECURE_HTTP": "true",
            }
        ).base_url
        == "http://10.0.0.5"
    )


def _temporary_with(
    ttp: TTPSetup, ca: DemoCA, key_of: str, cert_of: str, run: str
) -> requests.Response:
    body = {
        "registration": "dica-dsaa",
        "request_id": f"cred-{run}",
        "profile_version": "nl-2026.1",
        "source_key": SOURCE_KEY.as_json(),
        "records": [{"ref": "p", "digests": {"NGGV": digest(f"cred-{run}")}}],
    }
    return requests.post(
        ttp.url + "/pseudonyms/temporary",
        json=body,
        headers=ttp.headers(key_of),
        verify=str(ca.ca_cert),
        cert=client_pair(ca, cert_of),
        timeout=5,
    )


@pytest.mark.parametrize(
    ("cert_of", "status"),
    [("demo-hospital", 200), ("dica", 401), ("other-hospital", 401)],
    ids=["its-own-certificate", "another-organisations", "nobodys-certificate"],
)
def test_an_api_key_over_another_partys_certificate_is_refused(
    tls_ttp: TTPSetup, demo_ca: DemoCA, cert_of: str, status: int
) -> None:
    """The hospital's key with a certificate it does not hold: one party's credentials (1027)."""
    response = _temporary_with(tls_ttp, demo_ca, "demo-hospital", cert_of, cert_of)
    assert response.status_code == status, response.text
    if status == 401:  # as for an unknown key: nothing said about whose credentials these are
        assert response.json()["detail"]["code"] == "unauthenticated"
        assert "demo-hospital" not in response.text and cert_of not in response.text
        last = json.loads(tls_ttp.audit_log.read_text().splitlines()[-1])
        assert (last["organisation"], last["outcome"]) == (
            "(unauthenticated)",
            "refused:unauthenticated",
        )
