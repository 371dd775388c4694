"""The decision feed follows no redirect (decision 0402, as 0360 for delivery).

A real server on 127.0.0.1 answers with a 3xx to another port: the feed is a
ConfigError naming the redirect's origin, and the other server receives nothing.
"""

from __future__ import annotations

import pytest

from aanlevering.errors import ConfigError
from aanlevering.obligation.feed import read_feed
from support.redirect import redirecting_server


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirected_feed_is_refused_and_nothing_reaches_the_target(status: int) -> None:
    refused = pytest.raises(ConfigError, match=rf"HTTP {status}, a redirect to")
    with redirecting_server(None, status) as (base, recorder), refused as raised:
        read_feed(f"{base}/decisions.yaml")
    assert recorder.url in str(raised.value)
    assert recorder.seen == []
