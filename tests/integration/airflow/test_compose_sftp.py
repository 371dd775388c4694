"""Every example registration's channel has its counterpart in docker-compose.yml (0920).

LDTR delivers over SFTP, and compose had no SFTP server: its DAG could only fail
at deliver. Checked here with the parser (no Docker engine): each example
registration's endpoint, with the settings compose gives the task runners,
names a compose service on the port that service serves, as the account it
lets in; the SFTP drop's keys, known_hosts and sshd_config are the ones
``deploy/counterparts-init.sh`` makes (run for real, into a stand-in for the
container's file system) and lie where the services mount them; and the drop
takes keys only. tests/integration/deliver/test_compose_sftp_drop.py runs the
generated config in a real sshd and delivers through it.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from aanlevering.catalogue import load_catalogue
from aanlevering.counterparts.registry_holder.config import load_receiver_config
from aanlevering.settings import expand_env

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "deploy" / "counterparts-init.sh"
PROVIDER = "demo-hospital"
TASK_RUNNERS = ("scheduler", "airflow-worker")
#: What sshd may keep of root's powers in the sftp service, and why (see the service).
SFTP_CAPS = {"SETUID", "SETGID", "SYS_CHROOT", "DAC_READ_SEARCH"}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text("utf-8"))
    return dict(loaded["services"])


def _mounts(service: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """volume or bind source -> (target, mode)."""
    found = {}
    for volume in service.get("volumes", []):
        parts = str(volume).split(":")
        found[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "rw")
    return found


def _script_default(name: str) -> str:
    """The container path counterparts-init.sh uses for ``name`` when compose sets none."""
    match = re.search(rf'^{name}="\$\{{{name}:-([^}}]+)\}}"$', SCRIPT.read_text(), re.MULTILINE)
    assert match, f"{name} has no default in {SCRIPT.name}"
    return match.group(1)


def _compose_defaults(env: dict[str, Any]) -> dict[str, str]:
    """The values compose gives when .env sets none of them: ``${X:-default}`` -> default."""
    resolved = {}
    for key, value in env.items():
        text = str(value)
        match = re.fullmatch(r"\$\{[A-Z0-9_]+:-([^}]*)\}", text)
        resolved[str(key)] = match.group(1) if match else text
    return resolved


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """counterparts-init.sh run for real, each folder at its container path under a root.

    The root stands in for the container's file system: the script's own
    defaults (what compose uses) are kept, below the root; SFTP_CHROOT is the
    sftp service's path and is written into sshd_config as is.
    """
    root = tmp_path_factory.mktemp("container")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "AANLEVERING_PROVIDER_ID": PROVIDER,
        "AANLEVERING_CATALOGUE": str(REPO / "schemas" / "catalogue"),
        "AANLEVERING_HOME": str(root / "tmp" / "aanlevering"),
    }
    for name in ("TTP_DIR", "RH_DIR", "SECRETS_DIR", "SFTP_DIR", "SFTP_INBOX"):
        env[name] = str(root / _script_default(name).lstrip("/"))
    subprocess.run(["sh", str(SCRIPT)], env=env, check=True, capture_output=True)
    return root


def _inside(root: Path, container_path: str) -> Path:
    return root / container_path.lstrip("/")


def _sshd_config(root: Path) -> dict[str, str]:
    """The generated sshd_config, its paths as the container sees them (the root taken off)."""
    text = _inside(root, _script_default("SFTP_DIR")).joinpath("sshd_config").read_text()
    text = text.replace(f" {root}/", " /")
    pairs = (line.split(None, 1) for line in text.splitlines() if line and line[0] != "#")
    config: dict[str, str] = {}
    for key, value in pairs:
        assert key not in config, f"sshd_config sets {key} twice"
        config[key] = value
    return config


def test_every_example_registration_delivers_to_a_compose_service_that_serves_it(
    services: dict[str, Any], provisioned: Path
) -> None:
    env = _compose_defaults(services["scheduler"]["environment"])
    sshd = _sshd_config(provisioned)
    checked = {}
    for config in load_catalogue(REPO / "schemas" / "catalogue"):
        endpoint = urlsplit(expand_env(config.delivery.endpoint or "", env))
        assert endpoint.hostname in services, f"{config.id}: {endpoint.hostname} is no service"
        service = services[str(endpoint.hostname)]
        command = [str(word) for word in service["command"]]
        if config.delivery.channel in ("https", "ttp-local"):
            assert endpoint.scheme == "https", config.id
            assert command[command.index("--port") + 1] == str(endpoint.port), config.id
            assert "--tls-cert" in command, config.id
        elif config.delivery.channel == "sftp":
            assert command[:2] == ["/usr/sbin/sshd", "-D"], config.id
            assert sshd["Port"] == str(endpoint.port), config.id
            assert sshd["AllowUsers"] == endpoint.username, config.id
            # The endpoint's folder, seen from the chroot, is on the inbox volume.
            inbox_target = _mounts(service)["sftp-inbox"][0]
            folder = PurePosixPath(sshd["ChrootDirectory"]) / endpoint.path.lstrip("/")
            assert folder.parent == PurePosixPath(inbox_target), config.id
        else:
            pytest.fail(
                f"{config.id}: channel {config.delivery.channel} has no compose counterpart"
            )
        checked[config.id] = config.delivery.channel
    assert set(checked.values()) == {"https", "ttp-local", "sftp"}, checked


def test_the_sftp_inbox_is_the_one_the_registry_holder_watches(
    services: dict[str, Any], provisioned: Path
) -> None:
    inbox = _script_default("SFTP_INBOX")
    users = {name for name, s in services.items() if "sftp-inbox" in _mounts(s)}
    assert users == {"sftp", "registry-holder", "counterparts-init"}
    for name in ("registry-holder", "counterparts-init"):
        assert _mounts(services[name])["sftp-inbox"] == (inbox, "rw"), name
    rh_dir = _mounts(services["registry-holder"])["registry-holder-data"][0]
    assert rh_dir == _script_default("RH_DIR")
    receiver = load_receiver_config(_inside(provisioned, rh_dir) / "registry-holder.yaml")
    ldtr = _inside(provisioned, inbox) / "ldtr"
    assert ldtr.is_dir()
    assert receiver.sftp_inboxes[ldtr.resolve()] == PROVIDER
    # What the sftp service serves as <chroot>/incoming is that volume, and the chroot
    # itself (in the image) is not: sshd wants it root's, unwritable to the account.
    chroot = _sshd_config(provisioned)["ChrootDirectory"]
    assert _mounts(services["sftp"])["sftp-inbox"] == (f"{chroot}/incoming", "rw")
    assert chroot == _script_default("SFTP_CHROOT")
    dockerfile = (REPO / "deploy" / "sftp" / "Dockerfile").read_text()
    assert f"chmod 0755 /run/sshd {chroot}" in dockerfile


def test_the_hospital_reads_the_key_and_pinned_host_key_counterparts_init_made(
    services: dict[str, Any], provisioned: Path
) -> None:
    secrets = _script_default("SECRETS_DIR")
    assert _mounts(services["counterparts-init"])["hospital-secrets"] == (secrets, "rw")
    sftp_dir = _inside(provisioned, _script_default("SFTP_DIR"))
    host_key = (sftp_dir / "ssh_host_ed25519_key.pub").read_text().split()[:2]
    for name in TASK_RUNNERS:
        env = _compose_defaults(services[name]["environment"])
        assert _mounts(services[name])["hospital-secrets"] == (secrets, "ro"), name
        key = PurePosixPath(env["AANLEVERING_SFTP_KEY_FILE"])
        known_hosts = PurePosixPath(env["AANLEVERING_SFTP_KNOWN_HOSTS"])
        assert key.is_relative_to(secrets) and known_hosts.is_relative_to(secrets), name
        private = _inside(provisioned, str(key))
        assert stat.S_IMODE(private.stat().st_mode) == 0o600, name
        assert private.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----"), name
        # Pinned for the host and port the endpoint names, with the drop's own host key.
        (line,) = _inside(provisioned, str(known_hosts)).read_text().splitlines()
        pinned_for, *pinned_key = line.split()
        assert pinned_for == f"[{env['AANLEVERING_SFTP_HOST']}]:{env['AANLEVERING_SFTP_PORT']}"
        assert pinned_key == host_key, name
    # sshd lets in that key's public half, and nothing else.
    public = subprocess.run(
        ["ssh-keygen", "-y", "-f", str(_inside(provisioned, secrets) / "sftp" / "id_ed25519")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[:2]
    (authorized,) = (sftp_dir / "authorized_keys").read_text().splitlines()
    assert authorized.split()[0] == "restrict" and authorized.split()[1:3] == public
    # The hospital's private key is only in the hospital's volume.
    private_text = (_inside(provisioned, secrets) / "sftp" / "id_ed25519").read_text()
    for name in ("TTP_DIR", "RH_DIR", "SFTP_DIR", "SFTP_INBOX"):
        folder = _inside(provisioned, _script_default(name))
        texts = [p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()]
        assert not [t for t in texts if private_text.strip() in t], name


def test_the_sftp_drop_takes_keys_only_and_runs_locked_down(
    services: dict[str, Any], provisioned: Path
) -> None:
    sshd = _sshd_config(provisioned)
    assert sshd["PasswordAuthentication"] == "no"
    assert sshd["KbdInteractiveAuthentication"] == "no"
    assert sshd["PermitEmptyPasswords"] == "no"
    assert sshd["AuthenticationMethods"] == "publickey"
    assert sshd["PermitRootLogin"] == "no"
    assert sshd["UsePAM"] == "no" and sshd["StrictModes"] == "yes"
    assert sshd["DisableForwarding"] == "yes" and sshd["PermitTTY"] == "no"
    assert sshd["ForceCommand"].startswith("internal-sftp")
    sftp_dir = _script_default("SFTP_DIR")
    for name in ("HostKey", "AuthorizedKeysFile"):
        assert PurePosixPath(sshd[name]).parent == PurePosixPath(sftp_dir), name
        assert _inside(provisioned, sshd[name]).is_file(), name
    host_key = _inside(provisioned, sshd["HostKey"])
    assert stat.S_IMODE(host_key.stat().st_mode) == 0o600

    service = services["sftp"]
    assert service["build"]["context"] == "./deploy/sftp"
    assert (REPO / "deploy" / "sftp" / "Dockerfile").is_file()
    assert service["command"] == ["/usr/sbin/sshd", "-D", "-e", "-f", f"{sftp_dir}/sshd_config"]
    assert set(_mounts(service)) == {"sftp-data", "sftp-inbox"}
    assert _mounts(service)["sftp-data"] == (sftp_dir, "ro")
    users = {name for name, s in services.items() if "sftp-data" in _mounts(s)}
    assert users == {"sftp", "counterparts-init"}
    assert service["read_only"] is True
    assert service["cap_drop"] == ["ALL"] and set(service["cap_add"]) <= SFTP_CAPS
    assert "no-new-privileges:true" in service["security_opt"]
    assert not service.get("environment") and "ports" not in service
    assert service["depends_on"]["counterparts-init"]["condition"] == (
        "service_completed_successfully"
    )
    dockerfile = (REPO / "deploy" / "sftp" / "Dockerfile").read_text()
    assert re.search(r"^FROM debian:bookworm-slim$", dockerfile, re.MULTILINE)
    assert "'openssh-server=1:9.2p1-2+deb12u*'" in dockerfile  # pinned to one upstream version
    assert "useradd --uid 50000" in dockerfile
