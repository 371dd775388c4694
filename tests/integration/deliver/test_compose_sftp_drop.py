"""The compose SFTP drop, as counterparts-init provisions it, takes an LDTR delivery.

No Docker engine runs here, so the ``sftp`` service of docker-compose.yml is
replayed on 127.0.0.1 (decision 0920): ``deploy/counterparts-init.sh`` runs for
real against temporary folders, then a real OpenSSH ``sshd`` starts from the
``sshd_config`` it generated, as root but held to the capabilities and
no-new-privileges the compose service grants (``setpriv``), with the host key
and inbox owned by the login account as in the volumes (there counterparts-init
runs as that account's uid 50000). The hospital side is the product's own
channel, built by the channel factory from the scheduler's compose settings
(key file and known_hosts under the hospital-secrets mount); the receiving side
is the registry holder's watcher on the inboxes of the config counterparts-init
wrote. A receipt back means: key login works, the pinned host key matches, the
chroot holds ``incoming/ldtr``, and that folder is the one the holder watches.

Here the account is ``nobody`` (an account that exists on any Debian, not
root: the config refuses root); compose's account ``aanlevering`` is checked
against the endpoint in tests/integration/airflow/test_compose_sftp.py.
"""

from __future__ import annotations

import dataclasses
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from aanlevering.catalogue import load_catalogue
from aanlevering.counterparts.registry_holder.config import load_receiver_config
from aanlevering.counterparts.registry_holder.sftp_inbox import inbox_registration, start_watcher
from aanlevering.counterparts.registry_holder.store import DeliveryStore
from aanlevering.deliver.channels.factory import build_channel
from aanlevering.deliver.channels.sftp import SftpChannel
from aanlevering.deliver.manifest import Manifest
from aanlevering.deliver.receipt import RetryableDeliveryError
from aanlevering.settings import load_settings

REPO = Path(__file__).resolve().parents[3]
SSHD = Path("/usr/sbin/sshd")
ACCOUNT = "nobody"
PROVIDER = "demo-hospital"
SECRETS_MOUNT = "/etc/aanlevering/secrets"  # the hospital-secrets volume in the task runners


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text("utf-8"))
    return loaded


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def base() -> Iterator[Path]:
    """A folder whose every parent is root's and closed to others, as sshd's chroot demands.

    Why not tmp_path: /tmp is world-writable, and sshd refuses a chroot (and
    StrictModes an authorized_keys file) below it.
    """
    if os.geteuid() != 0:
        pytest.fail("sshd chroots only when started as root: run this test as root")
    run = Path("/run")
    assert run.stat().st_uid == 0 and not run.stat().st_mode & 0o022, "/run is not root's"
    folder = Path(tempfile.mkdtemp(prefix="aanlevering-sftp-", dir=run))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def _provision(tmp_path: Path, base: Path, port: int) -> dict[str, Path]:
    """counterparts-init.sh for real; the volumes as compose gives them to it first."""
    account = pwd.getpwnam(ACCOUNT)
    paths = {
        "ttp": tmp_path / "ttp",
        "rh": tmp_path / "rh",
        "secrets": tmp_path / "secrets",
        "sftp": base / "sftp-data",
        "chroot": base / "chroot",
    }
    paths["inbox"] = paths["chroot"] / "incoming"
    # The chroot is root's (the sftp image's /srv/sftp); the volumes start empty, 0755.
    # chmod, not mkdir's mode: the worker's umask may be private (an earlier test's).
    for folder in (paths["chroot"], paths["sftp"], paths["inbox"]):
        folder.mkdir()
        folder.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "TTP_DIR": str(paths["ttp"]),
        "RH_DIR": str(paths["rh"]),
        "SECRETS_DIR": str(paths["secrets"]),
        "SFTP_DIR": str(paths["sftp"]),
        "SFTP_INBOX": str(paths["inbox"]),
        "SFTP_CHROOT": str(paths["chroot"]),
        "SFTP_HOST": "127.0.0.1",
        "SFTP_PORT": str(port),
        "SFTP_LISTEN": "127.0.0.1",
        "SFTP_USER": ACCOUNT,
        "AANLEVERING_PROVIDER_ID": PROVIDER,
        "AANLEVERING_CATALOGUE": str(REPO / "schemas" / "catalogue"),
        "AANLEVERING_HOME": str(tmp_path / "home"),
    }
    script = REPO / "deploy" / "counterparts-init.sh"
    # With a container's umask (022), whatever the test process's is.
    done = subprocess.run(
        ["sh", "-c", 'umask 022 && exec sh "$0"', str(script)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # In compose the script runs as uid 50000, the account's: what it made is the account's.
    for volume in (paths["sftp"], paths["inbox"]):
        for path in [volume, *volume.rglob("*")]:
            os.lchown(path, account.pw_uid, account.pw_gid)
    return paths


def _sshd_under_compose_limits(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """sshd as root with only the compose service's capabilities and no-new-privileges."""
    service = _compose()["services"]["sftp"]
    assert service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]
    caps = ",".join(f"+{cap.lower()}" for cap in service["cap_add"])
    Path("/run/sshd").mkdir(exist_ok=True)
    command = [str(SSHD), "-D", "-e", "-f", str(config)]
    assert [str(c) for c in service["command"]][:4] == command[:4]
    return subprocess.Popen(
        ["setpriv", f"--bounding-set=-all,{caps}", "--inh-caps=-all", "--no-new-privs", *command],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _wait_for_banner(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(4).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"sshd did not answer on {port}: {log.read_text(errors='replace')}")


def _hospital_channel(paths: dict[str, Path], port: int) -> SftpChannel:
    """LDTR's channel from the factory, with the scheduler's compose settings."""
    scheduler = {
        str(k): str(v) for k, v in _compose()["services"]["scheduler"]["environment"].items()
    }
    env = {
        "AANLEVERING_SFTP_HOST": "127.0.0.1",
        "AANLEVERING_SFTP_PORT": str(port),
        **{
            name: scheduler[name].replace(SECRETS_MOUNT, str(paths["secrets"]))
            for name in ("AANLEVERING_SFTP_KEY_FILE", "AANLEVERING_SFTP_KNOWN_HOSTS")
        },
    }
    (ldtr,) = [c for c in load_catalogue(REPO / "schemas" / "catalogue") if c.id == "ldtr"]
    settings = load_settings({"AANLEVERING_HOME": str(paths["secrets"].parent / "home")})
    channel = build_channel(ldtr, settings, env=env)
    assert isinstance(channel, SftpChannel)
    assert channel.target.path == "/incoming/ldtr"
    # The endpoint's account is compose's `aanlevering`; here the local stand-in.
    target = dataclasses.replace(channel.target, username=ACCOUNT)
    return dataclasses.replace(channel, target=target, receipt_timeout=20, poll_interval=0.1)


def test_the_provisioned_sftp_drop_receipts_an_ldtr_delivery_over_real_sshd(
    tmp_path: Path, base: Path, staged: tuple[Path, Manifest]
) -> None:
    folder, manifest = staged
    port = _free_port()
    paths = _provision(tmp_path, base, port)
    log = tmp_path / "sshd.log"
    sshd = _sshd_under_compose_limits(paths["sftp"] / "sshd_config", log)
    receiver = load_receiver_config(paths["rh"] / "registry-holder.yaml")
    store = DeliveryStore(tmp_path / "store", receiver.receiver_id)
    stop = start_watcher(
        receiver.sftp_inboxes,
        store,
        interval=0.1,
        authorised=receiver.registrations_of,
        registration_of=lambda inbox: inbox_registration(inbox, receiver.registrations),
    )
    # In compose the holder and the account are one uid (50000); here root and nobody, so
    # the holder's answers must be readable by others for the account to read its receipt.
    umask = os.umask(0o077)
    try:
        _wait_for_banner(sshd, port, log)
        channel = _hospital_channel(paths, port)  # loading settings sets a private umask
        os.umask(0o022)
        receipt = channel.send(folder, manifest)
    finally:
        os.umask(umask)
        stop.set()
        sshd.terminate()
        sshd.wait(timeout=10)
    assert receipt.idempotency_key == manifest.idempotency_key
    assert [e["idempotency_key"] for e in store.ledger()] == [manifest.idempotency_key]
    # It came in through the chroot's incoming/ldtr, the inbox the holder's config names.
    delivered = paths["inbox"] / "ldtr" / manifest.idempotency_key
    assert (delivered / "receipt.json").is_file()
    assert (delivered / "Patient.ndjson").stat().st_uid == pwd.getpwnam(ACCOUNT).pw_uid
    assert stat.S_IMODE((delivered / "Patient.ndjson").stat().st_mode) == 0o600
    assert "Accepted publickey for nobody" in log.read_text(errors="replace")


def test_the_drop_lets_in_no_other_key_and_the_hospital_no_other_host(
    tmp_path: Path, base: Path, staged: tuple[Path, Manifest]
) -> None:
    """Key-only: a key that is not the hospital's gets nothing; a changed host key is refused."""
    folder, manifest = staged
    port = _free_port()
    paths = _provision(tmp_path, base, port)
    log = tmp_path / "sshd.log"
    sshd = _sshd_under_compose_limits(paths["sftp"] / "sshd_config", log)
    try:
        _wait_for_banner(sshd, port, log)
        channel = _hospital_channel(paths, port)
        stranger = tmp_path / "stranger"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True
        )
        stranger.chmod(0o600)
        other = dataclasses.replace(
            channel, target=dataclasses.replace(channel.target, private_key_file=stranger)
        )
        with pytest.raises(RetryableDeliveryError, match="Authentication failed"):
            other.send(folder, manifest)
        # A password is never offered and never taken: sshd offers publickey only.
        banner = subprocess.run(
            [
                "ssh",
                "-v",
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                f"UserKnownHostsFile={tmp_path / 'kh'}",
                "-p",
                str(port),
                f"{ACCOUNT}@127.0.0.1",
                "true",
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert banner.returncode != 0
        assert "Authentications that can continue: publickey\n" in banner.stderr, banner.stderr
    finally:
        sshd.terminate()
        sshd.wait(timeout=10)
    assert not list((paths["inbox"] / "ldtr").iterdir())
