"""Ports take a counterparty's endpoint and credentials from a source first, the environment else.

A :class:`CredentialsSource` answer replaces URL, API key and TLS of that
counterparty (nothing mixed in from the environment); no answer means the
environment. PEM text becomes 0600 files in a fresh 0700 folder of the run
folder for the length of the step. Which source was used is logged, the
secret never. No network: clients and channels are built, not used.
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.deliver.channels.https import HttpsChannel
from aanlevering.deliver.channels.sftp import SftpChannel
from aanlevering.errors import ConfigError
from aanlevering.events.factory import open_event_store
from aanlevering.runs.credentials import (
    EndpointCredentials,
    PrivateFiles,
    Secret,
    credentials_dir,
)
from aanlevering.runs.ports import endpoint_url, open_ports
from aanlevering.settings import load_settings
from aanlevering.temp_folders import sweep_dead_owners

REPO = Path(__file__).resolve().parents[3]
KEY = "source-api-key-0d5e8a1f"
ENV_KEY = "environment-api-key-77aa"
CERT = "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n"
PRIVATE = "-----BEGIN PRIVATE KEY-----\nMIIEprivate\n-----END PRIVATE KEY-----\n"


class Source:
    """A credentials source answering from a dict (``None``: nothing known)."""

    def __init__(
        self,
        ttp: EndpointCredentials | None,
        holders: dict[str, EndpointCredentials] | None = None,
    ) -> None:
        self._ttp, self._holders = ttp, holders or {}
        self.asked: list[str] = []

    def ttp(self) -> EndpointCredentials | None:
        return self._ttp

    def registry_holder(self, registration_id: str) -> EndpointCredentials | None:
        self.asked.append(registration_id)
        return self._holders.get(registration_id)


def test_a_source_url_without_path_keeps_the_configured_path_without_reading_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AANLEVERING_REGISTRY_HOLDER_URL", "https://env.example.nl/base")
    configured = "${AANLEVERING_REGISTRY_HOLDER_URL:-https://127.0.0.1:8766}/registrations/x/d"
    assert (
        endpoint_url("https://rh.example.nl", configured)
        == "https://rh.example.nl/registrations/x/d"
    )
    assert (
        endpoint_url("https://rh.example.nl/", "${NO_DEFAULT}/r/y") == "https://rh.example.nl/r/y"
    )
    assert (
        endpoint_url("https://rh.example.nl/own/path", configured)
        == "https://rh.example.nl/own/path"
    )
    sftp = (
        "sftp://u@${AANLEVERING_SFTP_HOST:-127.0.0.1}:${AANLEVERING_SFTP_PORT:-2222}/incoming/ldtr"
    )
    assert (
        endpoint_url("sftp://a@rh.example.nl:22", sftp) == "sftp://a@rh.example.nl:22/incoming/ldtr"
    )


def test_private_files_are_0600_in_a_0700_folder_and_gone_afterwards(tmp_path: Path) -> None:
    given = tmp_path / "given.pem"
    given.write_text(CERT)
    with PrivateFiles(tmp_path / "run") as files:
        assert files.path_of(Secret(path=given), "ca.pem") == given  # a path is used as is
        assert files.folder is None  # nothing written yet: no folder
        written = files.path_of(Secret(text=PRIVATE), "key.pem")
        assert written is not None and written.read_text() == PRIVATE
        assert stat.S_IMODE(written.stat().st_mode) == 0o600
        assert stat.S_IMODE(written.parent.stat().st_mode) == 0o700
        assert written.parent.parent == tmp_path / "run"
        assert written.parent.name.startswith(f"aanlevering-credentials-{os.getpid()}-")
    assert not written.exists() and not written.parent.exists()
    assert given.exists()


def test_key_material_goes_to_memory_or_the_configured_folder_never_the_staging_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AANLEVERING_CREDENTIALS_DIR", raising=False)
    shm = Path("/dev/shm")
    expected = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    assert credentials_dir() == expected
    monkeypatch.setenv("AANLEVERING_CREDENTIALS_DIR", str(tmp_path / "creds"))
    with PrivateFiles() as files:
        written = files.path_of(Secret(text=PRIVATE), "key.pem")
        assert written is not None and written.parent.parent == tmp_path / "creds"
    assert list((tmp_path / "creds").iterdir()) == []


def test_folders_of_ended_processes_are_swept_others_kept(tmp_path: Path) -> None:
    killed = subprocess.run(
        [sys.executable, "-c", KILLED, str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
    )
    dead = Path(killed.stdout.strip()).parent
    with PrivateFiles(tmp_path) as files:
        written = files.path_of(Secret(text=PRIVATE), "key.pem")
        assert written is not None
        mine = written.parent
        other = tmp_path / "something-else-1-x4"
        legacy = tmp_path / "aanlevering-credentials-1-x5"  # no owner to judge: left alone
        for folder in (other, legacy):
            folder.mkdir()
            (folder / "key.pem").write_text(PRIVATE)
        assert not dead.exists()  # swept when this process wrote its first file
        assert sweep_dead_owners(tmp_path) == 0
        assert mine.exists() and other.exists() and legacy.exists()


#: Writes a key the product's way, says where, and is killed before it can clean up.
KILLED = """
import os, signal, sys
from pathlib import Path
from aanlevering.runs.credentials import PrivateFiles, Secret
path = PrivateFiles(Path(sys.argv[1])).path_of(Secret(text="k"), "key.pem")
print(path, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AANLEVERING_TTP_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AANLEVERING_TTP_API_KEY", ENV_KEY)
    for name in ("CA_FILE", "CLIENT_CERT_FILE", "CLIENT_KEY_FILE"):
        monkeypatch.delenv(f"AANLEVERING_TTP_{name}", raising=False)
    return load_settings(
        {
            "AANLEVERING_HOME": str(tmp_path / "home"),
            "AANLEVERING_CATALOGUE": str(REPO / "schemas" / "catalogue"),
        }
    )


def test_a_source_answer_replaces_the_environment_and_says_so_without_the_key(
    settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    catalogue = load_catalogue(settings.catalogue_dir)
    ttp = EndpointCredentials(
        source="Airflow connection 'aanlevering_ttp'",
        url="https://ttp.example.nl:8765",
        api_key=KEY,
        ca_bundle=Secret(text=CERT),
        client_cert=Secret(text=CERT),
        client_key=Secret(text=PRIVATE),
    )
    holder = EndpointCredentials(
        source="Airflow connection 'aanlevering_registry_holder__dica_dsaa'",
        url="https://rh.example.nl",
        api_key=KEY,
    )
    source = Source(ttp, {"dica-dsaa": holder})
    run_dir = tmp_path / "run"
    caplog.set_level(logging.INFO)
    with (
        open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as store,
        open_ports(settings, store, source, run_dir) as ports,
    ):
        assert ports.ttp.base_url == "https://ttp.example.nl:8765"
        tls = ports.ttp.transport._tls
        assert tls.client_key is not None and tls.client_key.read_text() == PRIVATE
        assert tls.client_key.parent.parent == run_dir
        channel = ports.channel_for(catalogue.get("dica-dsaa"), None)
        assert isinstance(channel, HttpsChannel)
        assert channel.endpoint == "https://rh.example.nl/registrations/dica-dsaa/deliveries"
        assert channel.api_key == KEY
        # An outbox delivery asks the source nothing.
        ports.channel_for(catalogue.get("dica-dsaa"), tmp_path / "outbox")
        assert source.asked == ["dica-dsaa"]
    assert not tls.client_key.exists()
    text = caplog.text
    assert "TTP: endpoint and credentials from Airflow connection 'aanlevering_ttp'" in text
    assert "registry holder of dica-dsaa: endpoint and credentials from Airflow connection" in text
    assert KEY not in text and "MIIE" not in text


def test_no_answer_means_the_environment(
    settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    caplog.set_level(logging.INFO)
    with (
        open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as store,
        open_ports(settings, store, Source(None), tmp_path / "run") as ports,
    ):
        assert ports.ttp.base_url == "http://127.0.0.1:9"
        assert ports.ttp.transport._headers == {"Authorization": f"Bearer {ENV_KEY}"}
    assert "TTP: no connection; endpoint and credentials from the environment" in caplog.text
    assert ENV_KEY not in caplog.text


def test_sftp_registry_holder_from_a_source_writes_its_key_privately(
    settings,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    catalogue = load_catalogue(settings.catalogue_dir)
    holder = EndpointCredentials(
        source="Airflow connection 'aanlevering_registry_holder__ldtr'",
        url="sftp://aanlevering@rh.example.nl:2222",
        ssh_key=Secret(text=PRIVATE),
        known_hosts=Secret(text="[rh.example.nl]:2222 ssh-ed25519 AAAAC3Nza\n"),
    )
    with (
        open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as store,
        open_ports(settings, store, Source(None, {"ldtr": holder}), tmp_path / "run") as ports,
    ):
        channel = ports.channel_for(catalogue.get("ldtr"), None)
        assert isinstance(channel, SftpChannel)
        target = channel.target
        assert (target.host, target.port, target.path) == ("rh.example.nl", 2222, "/incoming/ldtr")
        assert stat.S_IMODE(target.private_key_file.stat().st_mode) == 0o600
        assert target.private_key_file.read_text() == PRIVATE
    assert not target.private_key_file.exists()


def test_an_https_source_without_key_or_certificate_is_refused(
    settings,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    catalogue = load_catalogue(settings.catalogue_dir)
    holder = EndpointCredentials(source="Airflow connection 'x'", url="https://rh.example.nl")
    with (
        open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as store,
        open_ports(settings, store, Source(None, {"dica-dsaa": holder}), tmp_path / "r") as ports,
        pytest.raises(ConfigError, match="Airflow connection 'x': no API key"),
    ):
        ports.channel_for(catalogue.get("dica-dsaa"), None)
