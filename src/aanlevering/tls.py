"""Client-side TLS towards one counterparty (TTP or registry holder): CA, client cert, URL rule.

Every outgoing HTTP client of the product (TTP client, https channel, the
TTP's forwarder, the registry holder's exchanger) takes one
:class:`ClientTLS`. It refuses ``http://`` unless the URL is loopback or the
configuration sets ``allow_insecure_http`` explicitly in demo mode (1082), verifies the server
against the given CA bundle (the system store otherwise), and presents a
client certificate when one is configured (mTLS; the certificate's subject
can then stand in for the API key). Certificate failures are configuration
problems, not outages: callers treat :func:`is_certificate_error` as permanent.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aanlevering.demo_mode import DEMO_MODE_ENV, demo_mode
from aanlevering.errors import ConfigError

if TYPE_CHECKING:  # imported at first use: a task that never calls out does not pay (0741)
    import requests

_TRUE = {"1", "true", "yes", "on"}


def is_loopback_url(url: str) -> bool:
    """True when the URL's host is ``localhost``, in 127.0.0.0/8, or ``::1``.

    Not a name under ``.localhost`` (decision 0403): RFC 6761 asks resolvers to
    keep those on loopback, but whether this host's resolver (or a DNS server
    behind it) does is not ours to know, and ``evil.localhost`` may point anywhere.
    """
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ClientTLS:
    """How to reach one counterparty over TLS (all paths optional)."""

    ca_bundle: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    allow_insecure_http: bool = False

    def check_url(self, url: str, what: str) -> None:
        """ConfigError for a URL that would send credentials or data in the clear."""
        scheme = urlsplit(url).scheme.lower()
        if scheme == "https":
            return
        if scheme != "http":
            raise ConfigError(f"{what}: URL {url!r} must start with https://")
        if is_loopback_url(url) or (self.allow_insecure_http and demo_mode()):
            return
        if self.allow_insecure_http:
            # "never in production" was a comment; outside the demo it is a rule (1082).
            raise ConfigError(
                f"{what}: plain http:// to a non-loopback host ({urlsplit(url).hostname}) is "
                f"refused outside demo mode, allow_insecure_http or not: patient data goes "
                f"over https:// only ({DEMO_MODE_ENV} is not yes; decision 1082)"
            )
        raise ConfigError(
            f"{what}: plain http:// to a non-loopback host ({urlsplit(url).hostname}) is refused; "
            "use https:// or set allow_insecure_http: true explicitly"
        )

    @property
    def verify(self) -> str | bool:
        """What ``requests`` takes as ``verify``: the CA bundle, or the system store.

        Pass it on every request: ``requests`` lets ``REQUESTS_CA_BUNDLE`` override a
        session's ``verify``.
        """
        return str(self.ca_bundle) if self.ca_bundle is not None else True

    @property
    def cert(self) -> tuple[str, str] | str | None:
        """What ``requests`` takes as ``cert`` (None: no client certificate)."""
        if self.client_cert is None:
            return None
        if self.client_key is None:
            return str(self.client_cert)
        return (str(self.client_cert), str(self.client_key))

    @classmethod
    def from_env(cls, prefix: str, env: Mapping[str, str] | None = None) -> ClientTLS:
        """Read ``<prefix>_CA_FILE``, ``_CLIENT_CERT_FILE``, ``_CLIENT_KEY_FILE`` and
        ``_ALLOW_INSECURE_HTTP``."""
        env = os.environ if env is None else env

        def path(name: str) -> Path | None:
            value = env.get(f"{prefix}_{name}")
            if not value:
                return None
            found = Path(value).expanduser()
            if not found.is_file():
                raise ConfigError(f"{prefix}_{name}: file {found} not found")
            return found

        return cls(
            ca_bundle=path("CA_FILE"),
            client_cert=path("CLIENT_CERT_FILE"),
            client_key=path("CLIENT_KEY_FILE"),
            allow_insecure_http=env.get(f"{prefix}_ALLOW_INSECURE_HTTP", "").lower() in _TRUE,
        )


def is_certificate_error(error: BaseException) -> bool:
    """True for a TLS verification or handshake failure (permanent: fix the configuration)."""
    import requests

    return isinstance(error, requests.exceptions.SSLError)


def redirect_refusal(counterparty: str, what: str, response: requests.Response) -> str:
    """Why a 3xx answer is refused; names the status and the target's origin only.

    Clients send with ``allow_redirects=False``: a redirect would carry the
    data (and headers) to a host, scheme or port never checked against
    :meth:`ClientTLS.check_url` (decision 0360). The target's path and query
    are left out of the message, as they may hold anything.
    """
    target = urlsplit(response.headers.get("Location", ""))
    origin = f"{target.scheme}://{target.netloc.rpartition('@')[2]}" if target.netloc else "?"
    return (
        f"{counterparty} answered {what} with HTTP {response.status_code}, a redirect to "
        f"{origin}; redirects are not followed: configure the URL it points to, if it is right"
    )
