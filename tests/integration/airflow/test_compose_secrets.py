"""Least privilege in docker-compose: each service sees only its own secrets.

Two halves. The compose file: which volumes each service mounts (the TTP's
and the registry holder's data volumes only in their own service, the
hospital's credentials only in Airflow's, read-only), who runs as whom, and
which settings each gets. And the provisioning script the one-shot
``counterparts-init`` service runs, executed here for real against temporary
folders: what ends up in each volume, and that every file each service's
config names lies in that service's own volume.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from aanlevering.counterparts.registry_holder.config import load_receiver_config
from aanlevering.counterparts.ttp.config import load_config
from aanlevering.counterparts.ttp.keys import KeyRing

REPO = Path(__file__).resolve().parents[3]
SECRET_VOLUMES = {"ttp-data": "ttp", "registry-holder-data": "registry-holder"}
AIRFLOW = {"airflow-init", "api-server", "scheduler", "dag-processor", "triggerer"}
INIT = "counterparts-init"
TASK_RUNNERS = {"scheduler", "airflow-worker"}  # LocalExecutor runs tasks in the scheduler


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return dict(loaded["services"])


def _mounts(service: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """volume or bind source -> (target, mode)."""
    found = {}
    for volume in service.get("volumes", []):
        parts = str(volume).split(":")
        found[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "rw")
    return found


CATALOGUE = "./schemas/catalogue"


def test_each_secret_volume_is_mounted_by_its_own_service_only(services: dict[str, Any]) -> None:
    for volume, owner in SECRET_VOLUMES.items():
        users = {name for name, service in services.items() if volume in _mounts(service)}
        assert users == {owner, INIT}, volume
    hospital = {name for name, s in services.items() if "hospital-secrets" in _mounts(s)}
    assert hospital == {*TASK_RUNNERS, INIT}
    for name in hospital - {INIT}:
        assert _mounts(services[name])["hospital-secrets"][1] == "ro", name
    # The registry holder also watches the SFTP inbox volume the sftp service writes (0920).
    for name in ("ttp", "registry-holder"):
        assert set(_mounts(services[name])) - {CATALOGUE, "sftp-inbox"} == {f"{name}-data"}, name
    assert "sftp-inbox" not in _mounts(services["ttp"])
    # The registry holder reads its registrations' terms from the public catalogue, read-only
    # (decision 0435); the TTP needs no catalogue at run time.
    assert _mounts(services["registry-holder"])[CATALOGUE][1] == "ro"
    assert CATALOGUE not in _mounts(services["ttp"])


def test_the_hospital_keys_reach_only_the_services_that_run_tasks(
    services: dict[str, Any],
) -> None:
    # patient-ref.key and the other hospital keys: not on the staging volume every Airflow
    # service mounts, not in the web-facing api-server (docs/airflow.md).
    home = services["scheduler"]["environment"]["AANLEVERING_HOME"]
    keys = {name for name, s in services.items() if "hospital-keys" in _mounts(s)}
    assert keys == TASK_RUNNERS
    for name in TASK_RUNNERS:
        mounts = _mounts(services[name])
        assert mounts["hospital-keys"] == (f"{home}/secrets", "rw"), name
        assert mounts["aanlevering-data"][0] == home, name
    for name in AIRFLOW - TASK_RUNNERS:
        assert not {"hospital-keys", "hospital-secrets"} & set(_mounts(services[name])), name


def test_counterparties_get_no_airflow_settings_and_run_locked_down(
    services: dict[str, Any],
) -> None:
    for name in ("ttp", "registry-holder", INIT):
        service = services[name]
        env = service.get("environment") or {}
        assert not [k for k in env if k.startswith("AIRFLOW")], name
        assert "AANLEVERING_EVENT_STORE" not in env, name
        assert not any("PASSWORD" in str(v) for v in env.values()), name
        assert service["user"] == "50000" and service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
    for name in AIRFLOW:
        assert services[name]["user"] == "50000", name
    ttp_command = services["ttp"]["command"]
    assert "--tls-cert" in ttp_command and "--tls-key" in ttp_command
    env = services["scheduler"]["environment"]
    assert env["AANLEVERING_TTP_URL"].startswith("${AANLEVERING_TTP_URL:-https://")
    assert env["AANLEVERING_REGISTRY_HOLDER_URL"].startswith(
        "${AANLEVERING_REGISTRY_HOLDER_URL:-https://"
    )


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_provisioning_hands_each_service_only_its_own_secrets(
    services: dict[str, Any], tmp_path: Path
) -> None:
    ttp, holder, secrets = tmp_path / "ttp", tmp_path / "rh", tmp_path / "secrets"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "TTP_DIR": str(ttp),
        "RH_DIR": str(holder),
        "SECRETS_DIR": str(secrets),
        "SFTP_DIR": str(tmp_path / "sftp"),
        "SFTP_INBOX": str(tmp_path / "sftp-inbox"),
        "AANLEVERING_CATALOGUE": str(REPO / "schemas" / "catalogue"),
        "AANLEVERING_HOME": str(tmp_path / "home"),
    }
    script = REPO / "deploy" / "counterparts-init.sh"
    subprocess.run(["sh", str(script)], env=env, check=True, capture_output=True)

    # Airflow's volume: its two API keys, the two CAs, its SFTP key and the SFTP drop's
    # pinned host key (decision 0920), nothing else.
    assert _files(secrets) == {
        "ttp.key",
        "ttp-ca.pem",
        "registry-holder.api-key",
        "registry-holder-ca.pem",
        "sftp/id_ed25519",
        "sftp/known_hosts",
    }
    scheduler = services["scheduler"]["environment"]
    target = _mounts(services["scheduler"])["hospital-secrets"][0]
    for name in ("TTP_API_KEY_FILE", "TTP_CA_FILE", "REGISTRY_HOLDER_API_KEY_FILE"):
        path = Path(scheduler[f"AANLEVERING_{name}"])
        assert path.parent == Path(target) and (secrets / path.name).is_file(), name

    # Every file a service's config names lies in that service's own volume.
    ttp_config = load_config(ttp / "ttp.yaml")
    KeyRing(ttp_config)  # the master key is readable where the TTP looks
    named = [ttp_config.master_key_file, ttp_config.forwarding.tls.ca_bundle]
    named += [r.forward_api_key_file for r in ttp_config.registrations.values()]
    assert all(p is not None and p.is_relative_to(ttp) and p.is_file() for p in named)
    receiver = load_receiver_config(holder / "registry-holder.yaml")
    named = [receiver.ttp_tls.ca_bundle, *receiver.ttp_api_key_files.values()]
    assert all(p is not None and p.is_relative_to(holder) and p.is_file() for p in named)

    # No clear key ends up with a party that does not present it.
    hospital_keys = {
        (secrets / n).read_text().strip() for n in ("ttp.key", "registry-holder.api-key")
    }
    holder_keys = {p.read_text().strip() for p in (holder / "ttp-clients").iterdir()}
    ttp_secrets = {p.read_text().strip() for p in (ttp / "keys").iterdir()} | {
        p.read_text().strip() for p in (ttp / "forwarding").iterdir()
    }
    for folder, foreign in (
        (ttp, hospital_keys | holder_keys),
        (holder, hospital_keys | {(ttp / "keys" / "master.key").read_text().strip()}),
        (secrets, holder_keys | ttp_secrets),
    ):
        text = "\n".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())
        assert not [key for key in foreign if key in text], folder.name
    ttp_private = "\n".join(p.read_text() for p in ttp.rglob("*.key"))
    assert (holder / "tls" / "server.key").read_text() not in ttp_private

    # Running it again changes nothing (idempotent provisioning).
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    again = subprocess.run(["sh", str(script)], env=env, check=True, capture_output=True)
    assert b"already provisioned" in again.stdout
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
