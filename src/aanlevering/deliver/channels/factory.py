"""Build the channel a registration's config asks for, with secrets from files.

Secrets never sit in the registration config: API keys and SSH keys are read
from files whose paths come from the environment (defaults under
``$AANLEVERING_HOME/secrets``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from aanlevering.catalogue.model import RegistrationConfig
from aanlevering.deliver.channels import Channel
from aanlevering.deliver.channels.outbox import OutboxChannel
from aanlevering.deliver.channels.ttp_local import TtpLocalChannel
from aanlevering.errors import ConfigError
from aanlevering.private_files import check_key_file
from aanlevering.pseudonym.ttp.client import TTPClient
from aanlevering.settings import Settings, expand_env
from aanlevering.tls import ClientTLS


def _secret_file(env: Mapping[str, str], name: str, default: Path) -> Path:
    path = Path(env.get(name) or default)
    if not path.is_file():
        raise ConfigError(f"secret file {path} not found (set {name} to its location)")
    return path


def registry_holder_api_key(settings: Settings, env: Mapping[str, str] | None = None) -> str:
    """This hospital's API key at the registry holder."""
    env = os.environ if env is None else env
    path = _secret_file(
        env,
        "AANLEVERING_REGISTRY_HOLDER_API_KEY_FILE",
        settings.secrets_dir / "registry-holder.api-key",
    )
    check_key_file(path, "registry holder API key")
    return path.read_text(encoding="utf-8").strip()


def delivery_tls(config: RegistrationConfig, env: Mapping[str, str]) -> ClientTLS:
    """TLS towards this registration's registry holder, from its ``delivery.tls`` block."""
    paths: dict[str, Path | None] = {}
    for name in ("ca_bundle", "client_cert", "client_key"):
        value = expand_env(config.delivery.tls.get(name, ""), dict(env))
        if value and not Path(value).is_file():
            raise ConfigError(f"registration {config.id}: delivery.tls.{name} {value} not found")
        paths[name] = Path(value) if value else None
    return ClientTLS(
        ca_bundle=paths["ca_bundle"],
        client_cert=paths["client_cert"],
        client_key=paths["client_key"],
        allow_insecure_http=config.delivery.allow_insecure_http,
    )


def build_channel(
    config: RegistrationConfig,
    settings: Settings,
    *,
    outbox: Path | None = None,
    env: Mapping[str, str] | None = None,
    ttp: TTPClient | None = None,
) -> Channel:
    """The channel for ``config`` (``outbox`` overrides it, e.g. for a manual delivery).

    ``ttp`` is the hospital's TTP client, needed for the ``ttp-local`` channel.
    """
    env = dict(os.environ) if env is None else dict(env)
    delivery = config.delivery
    if outbox is not None or delivery.channel == "outbox":
        root = outbox or Path(expand_env(delivery.endpoint or "", env) or settings.home / "outbox")
        return OutboxChannel(Path(root))
    endpoint = expand_env(delivery.endpoint or "", env)
    if delivery.channel == "https":
        # Here, not at the top: requests and urllib3 cost every task process ~0.1 s of CPU (0741).
        from aanlevering.deliver.channels.https import HttpsChannel

        tls = delivery_tls(config, env)
        # With a client certificate the API key is optional (the subject identifies us).
        api_key = (
            registry_holder_api_key(settings, env)
            if tls.client_cert is None
            or Path(
                env.get("AANLEVERING_REGISTRY_HOLDER_API_KEY_FILE")
                or settings.secrets_dir / "registry-holder.api-key"
            ).is_file()
            else ""
        )
        return HttpsChannel(endpoint, api_key, timeout=delivery.receipt_timeout_seconds, tls=tls)
    if delivery.channel == "sftp":
        # Here, not at the top: paramiko costs every task process ~0.1 s of CPU (0522).
        from aanlevering.deliver.channels.sftp import SftpChannel, SftpTarget

        target = SftpTarget.from_url(
            endpoint,
            _secret_file(
                env, "AANLEVERING_SFTP_KEY_FILE", settings.secrets_dir / "sftp" / "id_ed25519"
            ),
            _secret_file(
                env, "AANLEVERING_SFTP_KNOWN_HOSTS", settings.secrets_dir / "sftp" / "known_hosts"
            ),
        )
        check_key_file(target.private_key_file, "SFTP private key")
        return SftpChannel(target, receipt_timeout=delivery.receipt_timeout_seconds)
    if ttp is None:
        raise ConfigError(f"registration {config.id}: channel ttp-local needs a TTP client")
    from aanlevering.pseudonym.key_check import source_key_check
    from aanlevering.pseudonym.keys import load_keys

    source_key, _ = load_keys(settings, config.id)
    return TtpLocalChannel(
        ttp, config.pseudonymisation.profile, source_key_check=source_key_check(source_key)
    )
