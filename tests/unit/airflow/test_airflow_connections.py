"""Airflow Connections parsed into endpoint settings (URI and JSON forms), errors naming the field.

Connections are built by Airflow's own parser (``airflow.sdk.Connection`` from
a URI or JSON, as an ``AIRFLOW_CONN_<ID>`` variable or a secrets backend gives
them) and looked up through ``Connection.get`` for the environment-variable
backend. No network.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))

from airflow.sdk import Connection

from aanlevering.airflow.connections import (
    TTP_CONNECTION_ID,
    AirflowConnections,
    endpoint_from_connection,
    registry_holder_connection_id,
)
from aanlevering.errors import ConfigError

KEY = "hospital-api-key-5f0c2d9e"
CERT = "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n"
PRIVATE = "-----BEGIN PRIVATE KEY-----\nMIIEprivate\n-----END PRIVATE KEY-----\n"


def _from_json(conn_id: str, **fields: object) -> Connection:
    return Connection.from_json(json.dumps(fields), conn_id=conn_id)


def test_uri_form_gives_the_url_the_api_key_and_no_tls() -> None:
    conn = Connection(conn_id=TTP_CONNECTION_ID, uri=f"https://:{KEY}@ttp.example.nl:8765")
    found = endpoint_from_connection(conn, "TTP")
    assert found.url == "https://ttp.example.nl:8765"
    assert found.api_key == KEY
    assert found.source == "Airflow connection 'aanlevering_ttp'"
    assert (found.ca_bundle, found.client_cert, found.client_key) == (None, None, None)
    assert KEY not in repr(found)


def test_uri_form_with_a_path_and_a_ca_file_in_the_query(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text(CERT)
    uri = (
        f"https://:{KEY}@rh.example.nl/registrations/dica-dsaa/deliveries"
        f"?ca_bundle={quote(str(ca), safe='')}"
    )
    found = endpoint_from_connection(Connection(conn_id="rh", uri=uri), "registry holder")
    assert found.url == "https://rh.example.nl/registrations/dica-dsaa/deliveries"
    assert found.ca_bundle is not None and found.ca_bundle.path == ca
    assert found.ca_bundle.text is None


def test_json_form_with_pem_text_in_extras_keeps_it_in_memory_out_of_repr() -> None:
    conn = _from_json(
        "rh",
        conn_type="https",
        host="rh.example.nl",
        port=8443,
        extra={"ca_bundle": CERT, "client_cert": CERT, "client_key": PRIVATE},
    )
    found = endpoint_from_connection(conn, "registry holder")
    assert found.url == "https://rh.example.nl:8443"
    assert found.api_key == ""  # the client certificate identifies the hospital
    assert found.client_key is not None and found.client_key.text == PRIVATE
    assert found.client_key.path is None
    assert "PRIVATE" not in repr(found) and "MIIE" not in repr(found)


def test_http_connection_form_puts_the_scheme_in_schema() -> None:
    conn = _from_json("t", conn_type="http", host="ttp.example.nl", schema="https", password=KEY)
    assert endpoint_from_connection(conn, "TTP").url == "https://ttp.example.nl"


def test_scheme_written_in_host_wins_and_generic_types_default_to_https() -> None:
    written = _from_json("t", conn_type="generic", host="http://127.0.0.1:9", password=KEY)
    assert endpoint_from_connection(written, "TTP").url == "http://127.0.0.1:9"
    generic = _from_json("t", conn_type="generic", host="ttp.example.nl", password=KEY)
    assert endpoint_from_connection(generic, "TTP").url == "https://ttp.example.nl"


def test_sftp_connection_gives_user_host_port_path_and_key_material(tmp_path: Path) -> None:
    hosts = tmp_path / "known_hosts"
    hosts.write_text("[rh.example.nl]:2222 ssh-ed25519 AAAAC3Nza\n")
    conn = _from_json(
        registry_holder_connection_id("ldtr"),
        conn_type="sftp",
        host="rh.example.nl",
        port=2222,
        login="aanlevering",
        schema="incoming/ldtr",
        extra={"private_key": PRIVATE, "known_hosts_file": str(hosts)},
    )
    found = endpoint_from_connection(conn, "registry holder of ldtr")
    assert found.url == "sftp://aanlevering@rh.example.nl:2222/incoming/ldtr"
    assert found.ssh_key is not None and found.ssh_key.text == PRIVATE
    assert found.known_hosts is not None and found.known_hosts.path == hosts


def test_registry_holder_connection_ids_work_as_environment_variable_names() -> None:
    assert registry_holder_connection_id("dica-dsaa") == "aanlevering_registry_holder__dica_dsaa"
    assert registry_holder_connection_id("NKR-Borst") == "aanlevering_registry_holder__nkr_borst"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"conn_type": "https", "password": KEY}, "field 'host' is empty"),
        ({"conn_type": "https", "host": "ttp.example.nl"}, "field 'password' (the API key at"),
        (
            {"conn_type": "sftp", "host": "h", "extra": {"private_key": PRIVATE}},
            "field 'login' is empty",
        ),
        (
            {"conn_type": "sftp", "host": "h", "login": "u", "extra": {"private_key": PRIVATE}},
            "extra 'known_hosts' or 'known_hosts_file' is needed",
        ),
        (
            {"conn_type": "https", "host": "h", "password": KEY, "extra": {"ca_file": "x"}},
            "unknown extra ca_file",
        ),
        (
            {"conn_type": "https", "host": "h", "password": KEY, "extra": {"client_key": PRIVATE}},
            "extra 'client_key' is set but 'client_cert' is not",
        ),
        (
            {"conn_type": "https", "host": "h", "password": KEY, "extra": {"ca_bundle": "/nope"}},
            "extra 'ca_bundle': file /nope not found",
        ),
        ({"conn_type": "ftp", "host": "h", "schema": "", "password": KEY}, None),
    ],
)
def test_missing_or_wrong_fields_are_errors_naming_connection_and_field(
    fields: dict[str, object], expected: str | None
) -> None:
    conn = _from_json("aanlevering_ttp", **fields)
    if expected is None:  # an unknown connection type is not a scheme: https is assumed
        assert endpoint_from_connection(conn, "TTP").url == "https://h"
        return
    with pytest.raises(ConfigError) as error:
        endpoint_from_connection(conn, "TTP")
    assert str(error.value).startswith("Airflow connection 'aanlevering_ttp': ")
    assert expected in str(error.value)
    assert KEY not in str(error.value) and "MIIE" not in str(error.value)


def test_extra_that_is_not_json_is_an_error_not_silently_empty() -> None:
    conn = Connection(conn_id="aanlevering_ttp", conn_type="https", host="h", password=KEY)
    conn.extra = "{not json"
    with pytest.raises(ConfigError, match="'aanlevering_ttp': field 'extra' is not valid JSON"):
        endpoint_from_connection(conn, "TTP")


def test_key_material_that_is_neither_pem_nor_a_file_is_not_echoed() -> None:
    pasted = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7"
    conn = _from_json(
        "aanlevering_ttp",
        conn_type="https",
        host="h",
        password=KEY,
        extra={"client_cert": CERT, "client_key": pasted},
    )
    with pytest.raises(ConfigError, match="extra 'client_key': not a file path") as error:
        endpoint_from_connection(conn, "TTP")
    assert "MIIEvQ" not in str(error.value)


def test_lookup_through_airflow_reads_airflow_conn_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_AANLEVERING_TTP",
        json.dumps({"conn_type": "https", "host": "ttp.example.nl", "password": KEY}),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_AANLEVERING_REGISTRY_HOLDER__DICA_DSAA",
        f"https://:{KEY}@rh.example.nl",
    )
    monkeypatch.delenv("AIRFLOW_CONN_AANLEVERING_REGISTRY_HOLDER__LDTR", raising=False)
    source = AirflowConnections(required=False)
    ttp = source.ttp()
    assert ttp is not None and ttp.url == "https://ttp.example.nl" and ttp.api_key == KEY
    holder = source.registry_holder("dica-dsaa")
    assert holder is not None and holder.url == "https://rh.example.nl"
    assert source.registry_holder("ldtr") is None  # no connection: the environment is used

    with pytest.raises(ConfigError, match=r"'aanlevering_registry_holder__ldtr'.*not defined"):
        AirflowConnections(required=True).registry_holder("ldtr")


def test_required_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AANLEVERING_REQUIRE_CONNECTIONS", "true")
    assert AirflowConnections().required
    monkeypatch.setenv("AANLEVERING_REQUIRE_CONNECTIONS", "")
    assert not AirflowConnections().required
    monkeypatch.setenv("AANLEVERING_REQUIRE_CONNECTIONS", " Off ")
    assert not AirflowConnections().required


@pytest.mark.parametrize("text", ["ture", "required", "enabled"])
def test_a_mistyped_require_is_refused_not_read_as_off(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    # Read as "off", a typo would let tasks fall back to the environment in production.
    monkeypatch.setenv("AANLEVERING_REQUIRE_CONNECTIONS", text)
    with pytest.raises(ConfigError) as refused:
        AirflowConnections()
    assert str(refused.value) == (
        f"AANLEVERING_REQUIRE_CONNECTIONS must be yes or no (1/0, true/false, on/off), not {text!r}"
    )
