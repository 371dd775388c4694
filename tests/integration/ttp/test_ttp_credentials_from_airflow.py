"""mTLS to the real TTP with the CA, client certificate and key given as PEM text in a Connection.

``AIRFLOW_CONN_AANLEVERING_TTP`` (JSON, no password: the client certificate
identifies the hospital) is looked up by Airflow's own ``Connection.get``;
the run ports write the PEM text to 0600 files in a private folder (here
``AANLEVERING_CREDENTIALS_DIR``; /dev/shm by default), the TTP answers over
mTLS, and the files are gone when the step ends. A CA that did not sign the
TTP's certificate is refused: the text is really what the client verifies with.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))

from aanlevering.airflow.connections import AirflowConnections
from aanlevering.counterparts.common.demo_ca import DemoCA, client_subject
from aanlevering.counterparts.ttp.config import read_config_document
from aanlevering.counterparts.ttp.demo_config import write_config_document
from aanlevering.events.factory import open_event_store
from aanlevering.pseudonym.ttp.errors import TTPRefused
from aanlevering.pseudonym.ttp.models import PseudonymInputs
from aanlevering.runs.ports import open_ports
from aanlevering.settings import Settings, load_settings
from support.tls import client_pair, server_args
from support.ttp import SOURCE_KEYS, TTPSetup, digest


@pytest.fixture
def mtls_ttp(fresh_ttp: TTPSetup, demo_ca: DemoCA) -> Iterator[TTPSetup]:
    document = read_config_document(fresh_ttp.config)
    for organisation in document["organisations"]:
        if organisation["id"] == "demo-hospital":
            organisation["certificate_subject"] = client_subject("demo-hospital")
    write_config_document(fresh_ttp.config, document)
    fresh_ttp.start(server_args(demo_ca), ca=demo_ca.ca_cert)
    yield fresh_ttp


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        {"AANLEVERING_DEMO_MODE": "yes", "AANLEVERING_HOME": str(tmp_path / "home")}
    )


def _connection(ttp: TTPSetup, ca: DemoCA, client: DemoCA) -> str:
    cert, key = client_pair(client, "demo-hospital")
    extra = {
        "ca_bundle": ca.ca_cert.read_text(),
        "client_cert": cert.read_text(),
        "client_key": key.read_text(),
    }
    return json.dumps({"conn_type": "https", "host": ttp.url, "extra": extra})


def _pseudonymise(ports_ttp: object, run: str) -> str:
    from aanlevering.pseudonym.ttp.client import TTPClient

    assert isinstance(ports_ttp, TTPClient)
    ports_ttp.source_key_checks.update(SOURCE_KEYS)
    answer = ports_ttp.temporary_pseudonyms(
        "dica-dsaa",
        [PseudonymInputs("p", {"NGGV": digest(run)})],
        run_id=run,
        profile_version="nl-2026.1",
    )
    return answer.pseudonyms["p"]["NGGV"]


def test_pem_text_from_a_connection_gives_mtls_and_leaves_no_file(
    mtls_ttp: TTPSetup,
    demo_ca: DemoCA,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_AANLEVERING_TTP", _connection(mtls_ttp, demo_ca, demo_ca))
    monkeypatch.delenv("AANLEVERING_TTP_API_KEY", raising=False)
    credentials = tmp_path / "credentials"
    monkeypatch.setenv("AANLEVERING_CREDENTIALS_DIR", str(credentials))
    with (
        open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as store,
        open_ports(settings, store, AirflowConnections(required=True)) as ports,
    ):
        assert _pseudonymise(ports.ttp, "conn-mtls-1").startswith("T1:NGGV:v1:")
        written = sorted(p for p in credentials.rglob("*") if p.is_file())
        assert [p.name for p in written] == [
            "ttp-ca.pem",
            "ttp-client-cert.pem",
            "ttp-client-key.pem",
        ]
        assert {stat.S_IMODE(p.stat().st_mode) for p in written} == {0o600}
        assert stat.S_IMODE(written[0].parent.stat().st_mode) == 0o700
    assert list(credentials.iterdir()) == []


def test_a_ca_that_did_not_sign_the_ttp_is_refused(
    mtls_ttp: TTPSetup,
    demo_ca: DemoCA,
    other_ca: DemoCA,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_AANLEVERING_TTP", _connection(mtls_ttp, other_ca, demo_ca))
    with (
        open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as store,
        open_ports(settings, store, AirflowConnections(), tmp_path / "credentials") as ports,
        pytest.raises(TTPRefused) as refused,
    ):
        _pseudonymise(ports.ttp, "conn-mtls-2")
    assert refused.value.code == "tls_verification_failed"
