"""SFTP delivery to a real sshd with the SSH key and known hosts only in an Airflow Connection.

``AIRFLOW_CONN_AANLEVERING_REGISTRY_HOLDER__LDTR`` (JSON: sftp, host, port,
login, the inbox as schema, the private key and known_hosts as text in
extras), looked up by Airflow's ``Connection.get`` and turned into LDTR's
channel by the run ports. The key is a 0600 file for as long as the ports are
open and gone afterwards; the inbox watcher receipts the delivery.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))

from aanlevering.airflow.connections import AirflowConnections
from aanlevering.catalogue import load_catalogue
from aanlevering.counterparts.registry_holder.sftp_inbox import start_watcher
from aanlevering.counterparts.registry_holder.store import DeliveryStore
from aanlevering.deliver.channels.sftp import SftpChannel
from aanlevering.deliver.manifest import Manifest
from aanlevering.events.factory import open_event_store
from aanlevering.runs.ports import open_ports
from aanlevering.settings import load_settings
from support.sshd import SftpServer

CATALOGUE = Path(__file__).resolve().parents[3] / "schemas" / "catalogue"


def test_sftp_delivery_with_key_material_only_in_a_connection(
    sftp_server: SftpServer,
    staged: tuple[Path, Manifest],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, manifest = staged
    inbox = sftp_server.root / "ldtr"
    inbox.mkdir()
    connection = {
        "conn_type": "sftp",
        "host": "127.0.0.1",
        "port": sftp_server.port,
        "login": sftp_server.user,
        "schema": str(inbox),
        "extra": {
            "private_key": sftp_server.client_key.read_text(),
            "known_hosts": sftp_server.known_hosts.read_text(),
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_AANLEVERING_REGISTRY_HOLDER__LDTR", json.dumps(connection))
    for name in ("AANLEVERING_SFTP_KEY_FILE", "AANLEVERING_SFTP_KNOWN_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AANLEVERING_TTP_API_KEY", "unused-here")  # no TTP connection: env
    keys = tmp_path / "keys"
    monkeypatch.setenv("AANLEVERING_CREDENTIALS_DIR", str(keys))
    settings = load_settings(
        {
            "AANLEVERING_DEMO_MODE": "yes",
            "AANLEVERING_HOME": str(tmp_path / "home"),
            "AANLEVERING_CATALOGUE": str(CATALOGUE),
        }
    )
    store = DeliveryStore(tmp_path / "receiver", "reference")
    stop = start_watcher({inbox: "demo-hospital"}, store, interval=0.1)
    try:
        with (
            open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as events,
            open_ports(settings, events, AirflowConnections()) as ports,
        ):
            channel = ports.channel_for(load_catalogue(CATALOGUE).get("ldtr"), None)
            assert isinstance(channel, SftpChannel)
            key = channel.target.private_key_file
            assert key.parent.parent == keys and stat.S_IMODE(key.stat().st_mode) == 0o600
            receipt = channel.send(folder, manifest)
    finally:
        stop.set()
    assert receipt.idempotency_key == manifest.idempotency_key
    assert len(store.ledger()) == 1
    assert list(keys.iterdir()) == []
