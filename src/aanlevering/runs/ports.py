"""The adapters a run talks to: the TTP client, the event store and each registration's channel.

Endpoints and credentials come from one of two places, per counterparty:

1. a :class:`~aanlevering.runs.credentials.CredentialsSource` handed in by the
   entry point (Airflow Connections, :mod:`aanlevering.airflow.connections`),
   when it knows that counterparty: then *everything* (URL, API key, TLS) comes
   from it, nothing is mixed in from the environment;
2. otherwise the environment and files (``AANLEVERING_TTP_*``,
   ``AANLEVERING_REGISTRY_HOLDER_*``, the registration config's endpoint):
   the only source of the CLI, which never imports Airflow.

Which source was used is logged per counterparty; secrets never are.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from aanlevering.catalogue import RegistrationConfig
from aanlevering.deliver.channels import Channel
from aanlevering.errors import ConfigError
from aanlevering.events.store import EventStore
from aanlevering.pipeline.run import Ports
from aanlevering.pseudonym.ttp.client import TTPClient
from aanlevering.runs.credentials import CredentialsSource, EndpointCredentials, PrivateFiles
from aanlevering.settings import ENV_REFERENCE, Settings

log = logging.getLogger(__name__)

#: The channels whose registry holder a credentials source can describe.
SOURCED_CHANNELS = ("https", "sftp")


def default_ports(settings: Settings, store: EventStore) -> Ports:
    """TTP client and channels from the environment and files (the CLI's only source)."""
    ttp = TTPClient.from_env()
    # The CLI has no other source: a debug line, not noise on every run.
    log.debug("TTP: endpoint and credentials from the environment (%s)", ttp.base_url)

    def channel_for(registration: RegistrationConfig, outbox: Path | None) -> Channel:
        # Imported at first use: most steps never build a channel (decision 0522).
        from aanlevering.deliver.channels.factory import build_channel

        return build_channel(registration, settings, outbox=outbox, ttp=ttp)

    return Ports(store=store, ttp=ttp, channel_for=channel_for)


@contextmanager
def open_ports(
    settings: Settings,
    store: EventStore,
    credentials: CredentialsSource | None,
    private_dir: Path | None = None,
) -> Iterator[Ports]:
    """The ports of one step, credentials from ``credentials`` first (see the module docstring).

    TLS or SSH material given as text is written to private files under
    ``private_dir`` (default: in memory, :func:`~aanlevering.runs.credentials.credentials_dir`)
    and removed when the block ends.
    """
    if credentials is None:
        yield default_ports(settings, store)
        return
    with PrivateFiles(private_dir) as files:
        sourced = credentials.ttp()
        if sourced is None:
            ttp = TTPClient.from_env()
            log.info(
                "TTP: no connection; endpoint and credentials from the environment (%s)",
                ttp.base_url,
            )
        else:
            ttp = TTPClient(sourced.url, sourced.api_key, tls=files.client_tls(sourced, "ttp"))
            log.info("TTP: endpoint and credentials from %s (%s)", sourced.source, ttp.base_url)

        def channel_for(registration: RegistrationConfig, outbox: Path | None) -> Channel:
            from aanlevering.deliver.channels.factory import build_channel  # at first use, 0522

            if outbox is not None or registration.delivery.channel not in SOURCED_CHANNELS:
                # An outbox, or ttp-local (through the TTP client above): no registry holder here.
                return build_channel(registration, settings, outbox=outbox, ttp=ttp)
            found = credentials.registry_holder(registration.id)
            if found is None:
                log.info(
                    "registry holder of %s: endpoint and credentials from the environment",
                    registration.id,
                )
                return build_channel(registration, settings, outbox=outbox, ttp=ttp)
            return sourced_channel(registration, found, files)

        yield Ports(store=store, ttp=ttp, channel_for=channel_for)


def endpoint_url(sourced: str, configured_endpoint: str) -> str:
    """The URL to deliver to: the source's, with the configured endpoint's path when it has none.

    So one connection per registry holder can say ``https://rh.example.nl``
    while each registration's config keeps its own ``/registrations/<id>/...``
    path. ``${VAR:-default}`` in the configured endpoint counts as its default
    (or as a bare name): the environment is not consulted for a sourced endpoint.
    """
    parts = urlsplit(sourced)
    if parts.path.strip("/") or not configured_endpoint:
        return sourced
    literal = ENV_REFERENCE.sub(
        lambda m: m.group(2) if m.group(2) is not None else "placeholder", configured_endpoint
    )
    configured = urlsplit(literal if "://" in literal else f"https://{literal}")
    return urlunsplit((parts.scheme, parts.netloc, configured.path, configured.query, ""))


def sourced_channel(
    registration: RegistrationConfig, found: EndpointCredentials, files: PrivateFiles
) -> Channel:
    """The https or SFTP channel of ``registration`` with ``found``'s endpoint and credentials."""
    from aanlevering.deliver.channels.https import HttpsChannel
    from aanlevering.deliver.channels.sftp import SftpChannel, SftpTarget
    from aanlevering.private_files import check_key_file

    delivery = registration.delivery
    url = endpoint_url(found.url, delivery.endpoint or "")
    log.info(
        "registry holder of %s: endpoint and credentials from %s (%s)",
        registration.id,
        found.source,
        url,
    )
    if delivery.channel == "https":
        tls = files.client_tls(found, "registry-holder")
        if not found.api_key and tls.client_cert is None:
            raise ConfigError(
                f"{found.source}: no API key (password) and no client_cert extra: "
                "the registry holder could not tell who delivers"
            )
        return HttpsChannel(url, found.api_key, timeout=delivery.receipt_timeout_seconds, tls=tls)
    key_file = files.path_of(found.ssh_key, "sftp-key")
    known_hosts = files.path_of(found.known_hosts, "sftp-known-hosts")
    if key_file is None or known_hosts is None:
        missing = "private_key (or key_file)" if key_file is None else "known_hosts"
        raise ConfigError(f"{found.source}: extra {missing} is needed for an SFTP registry holder")
    check_key_file(key_file, f"{found.source}: SFTP private key")
    target = SftpTarget.from_url(url, key_file, known_hosts)
    return SftpChannel(target, receipt_timeout=delivery.receipt_timeout_seconds)
