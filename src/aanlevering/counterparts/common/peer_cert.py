"""uvicorn's HTTP protocol, extended to hand the verified client certificate's subject to the app.

uvicorn puts no TLS details in the ASGI scope; this subclass reads the peer
certificate once per connection and stores its RFC 4514 subject in the
connection's copy of the app state, which uvicorn copies into every
request's ``scope["state"]``.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol

from aanlevering.counterparts.common.tls import SUBJECT_STATE


def _subject_of(transport: asyncio.BaseTransport) -> str | None:
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    from cryptography import x509

    return x509.load_der_x509_certificate(der).subject.rfc4514_string()


class PeerCertificateProtocol(H11Protocol):
    """uvicorn's h11 protocol, plus the verified client certificate's subject in scope state."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Remember the peer's subject for every request on this connection."""
        super().connection_made(transport)
        subject = _subject_of(transport)
        if subject is not None:
            # app_state is copied into each request's scope["state"]; give this
            # connection its own copy so subjects never leak between connections.
            self.app_state = {**self.app_state, SUBJECT_STATE: subject}
