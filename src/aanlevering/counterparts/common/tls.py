"""Serving the reference counterparties over TLS, optionally asking for client certificates (mTLS).

``--tls-cert/--tls-key`` turn on TLS; ``--tls-client-ca`` asks every client
for a certificate signed by that CA (optional, so API-key clients still
connect; a presented certificate that does not verify fails the handshake).
The verified certificate's subject (RFC 4514 string, e.g.
``CN=demo-hospital,O=Demo``) reaches the app as ``request.state`` value
:data:`SUBJECT_STATE` through a small uvicorn protocol subclass (:mod:`.peer_cert`), because
uvicorn puts no TLS details in the ASGI scope.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aanlevering.errors import ConfigError

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

#: Key in the ASGI scope's ``state`` holding the verified client certificate's subject.
SUBJECT_STATE = "tls_client_subject"


def client_subject(connection: HTTPConnection) -> str | None:
    """The verified client certificate subject of this request, if any."""
    value = connection.scope.get("state", {}).get(SUBJECT_STATE)
    return value if isinstance(value, str) else None


def peer_address(connection: HTTPConnection) -> str:
    """The peer's IP address as the socket saw it (``-`` when unknown)."""
    client = connection.scope.get("client")
    return str(client[0]) if client else "-"


@dataclass(frozen=True)
class ServerTLS:
    """Certificate, key and (for mTLS) the CA that signs client certificates."""

    cert: Path | None = None
    key: Path | None = None
    client_ca: Path | None = None

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise ConfigError("--tls-cert and --tls-key go together")
        if self.client_ca is not None and self.cert is None:
            raise ConfigError("--tls-client-ca needs --tls-cert and --tls-key")
        for path in (self.cert, self.key, self.client_ca):
            if path is not None and not path.is_file():
                raise ConfigError(f"TLS file {path} not found")

    @property
    def enabled(self) -> bool:
        """Whether the server speaks TLS."""
        return self.cert is not None

    def uvicorn_options(self) -> dict[str, Any]:
        """Keyword arguments for ``uvicorn.run`` (empty dict: plain HTTP)."""
        if not self.enabled:
            return {}
        from aanlevering.counterparts.common.peer_cert import PeerCertificateProtocol

        options: dict[str, Any] = {
            "ssl_certfile": str(self.cert),
            "ssl_keyfile": str(self.key),
            "http": PeerCertificateProtocol,
        }
        if self.client_ca is not None:
            options["ssl_ca_certs"] = str(self.client_ca)
            options["ssl_cert_reqs"] = ssl.CERT_OPTIONAL
        return options


def add_tls_arguments(parser: Any) -> None:
    """Add ``--tls-cert``, ``--tls-key`` and ``--tls-client-ca`` to a ``serve`` parser."""
    parser.add_argument("--tls-cert", type=Path, help="PEM server certificate (turns on TLS)")
    parser.add_argument("--tls-key", type=Path, help="PEM private key of the server certificate")
    parser.add_argument(
        "--tls-client-ca",
        type=Path,
        help="PEM CA of client certificates (mTLS; a verified subject can replace the API key)",
    )


def server_tls_from_args(args: Any) -> ServerTLS:
    """The ServerTLS the ``serve`` arguments ask for."""
    return ServerTLS(cert=args.tls_cert, key=args.tls_key, client_ca=args.tls_client_ca)
