"""Plain http:// is allowed only to ``localhost``, 127.0.0.0/8 and ::1 (decision 0403).

A name under ``.localhost`` (``evil.localhost``) is resolved by whatever
resolver the host uses, and may point anywhere: it is no loopback host.
"""

from __future__ import annotations

import pytest

from aanlevering.deliver.channels.https import HttpsChannel
from aanlevering.errors import ConfigError
from aanlevering.tls import ClientTLS, is_loopback_url

LOOPBACK = [
    "http://localhost:8080/x",
    "http://LOCALHOST/x",
    "http://127.0.0.1:1/x",
    "http://127.10.20.30/x",
    "http://[::1]:8443/x",
]
NOT_LOOPBACK = [
    "http://evil.localhost:8080/x",
    "http://a.b.localhost/x",
    "http://localhost.evil.example/x",
    "http://127.0.0.1.nip.io/x",
    "http://localhost./x",
    "http://128.0.0.1/x",
    "http://[::2]/x",
    "http://0.0.0.0/x",
    "http://registry.example/x",
]


@pytest.mark.parametrize("url", LOOPBACK)
def test_loopback_hosts_may_take_plain_http(url: str) -> None:
    assert is_loopback_url(url)
    ClientTLS().check_url(url, "test")


@pytest.mark.parametrize("url", NOT_LOOPBACK)
def test_other_hosts_are_refused_plain_http(url: str) -> None:
    assert not is_loopback_url(url)
    with pytest.raises(ConfigError, match="plain http:// to a non-loopback host"):
        ClientTLS().check_url(url, "test")


def test_the_https_channel_refuses_an_evil_localhost_endpoint() -> None:
    with pytest.raises(ConfigError, match=r"non-loopback host \(evil\.localhost\)"):
        HttpsChannel("http://evil.localhost:9/registrations/ldtr/deliveries", api_key="k")


def test_allow_insecure_http_still_lets_the_operator_choose() -> None:
    ClientTLS(allow_insecure_http=True).check_url("http://evil.localhost/x", "test")
