"""The adapters a run talks to on embedded defaults (and in production, by settings)."""

from __future__ import annotations

from pathlib import Path

from aanlevering.catalogue import RegistrationConfig
from aanlevering.deliver.channels import Channel
from aanlevering.events.store import EventStore
from aanlevering.pipeline.run import Ports
from aanlevering.settings import Settings


def default_ports(settings: Settings, store: EventStore) -> Ports:
    """TTP client from the environment; channels as each registration config says."""
    from aanlevering.deliver.channels.factory import build_channel
    from aanlevering.pseudonym.ttp.client import TTPClient

    ttp = TTPClient.from_env()

    def channel_for(registration: RegistrationConfig, outbox: Path | None) -> Channel:
        return build_channel(registration, settings, outbox=outbox, ttp=ttp)

    return Ports(store=store, ttp=ttp, channel_for=channel_for)
