"""A throwaway CA for tests that speak real TLS to the reference counterparties.

``demo_ca`` (session scope) writes a CA, a server certificate for loopback
and client certificates for the organisations the tests use, with the same
code ``aanlevering demo-ca`` runs for the demo. ``other_ca`` is a second,
unrelated CA: certificates it signs must be refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.counterparts.common.demo_ca import DemoCA, make_demo_ca

CLIENTS = ("demo-hospital", "other-hospital", "dica", "ttp-admin", "ttp")


@pytest.fixture(scope="session")
def demo_ca(tmp_path_factory: pytest.TempPathFactory) -> DemoCA:
    return make_demo_ca(tmp_path_factory.mktemp("demo-ca"), clients=CLIENTS)


@pytest.fixture(scope="session")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> DemoCA:
    return make_demo_ca(tmp_path_factory.mktemp("other-ca"), clients=("demo-hospital",))


def server_args(ca: DemoCA, *, mtls: bool = True) -> tuple[str, ...]:
    """``--tls-*`` arguments for ``serve`` with the CA's server certificate."""
    args = ("--tls-cert", str(ca.server_cert), "--tls-key", str(ca.server_key))
    return (*args, "--tls-client-ca", str(ca.ca_cert)) if mtls else args


def client_pair(ca: DemoCA, organisation: str) -> tuple[Path, Path]:
    """Client certificate and key of ``organisation``."""
    return ca.clients[organisation]
