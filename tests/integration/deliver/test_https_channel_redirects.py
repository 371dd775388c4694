"""The https channel follows no redirect: a 3xx is a rejection and nothing goes elsewhere.

Transport audit (decision 0360): ``requests`` followed a registry holder's
307 from the configured ``https://`` endpoint to another host over plain
``http://`` and sent the data files and the manifest there, past the rule
that refuses ``http://`` to anything but loopback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.counterparts.common.demo_ca import DemoCA
from aanlevering.deliver.channels.https import HttpsChannel
from aanlevering.deliver.receipt import RejectedDelivery
from aanlevering.tls import ClientTLS
from conftest import stage
from support.redirect import redirecting_server


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_refused_and_nothing_reaches_its_target(
    demo_ca: DemoCA, tmp_path: Path, status: int
) -> None:
    folder = tmp_path / "staged"
    manifest = stage(folder)
    with redirecting_server(demo_ca, status) as (base, recorder):
        channel = HttpsChannel(
            f"{base}/registrations/ldtr/deliveries",
            "api-key-never-shown",
            timeout=10,
            tls=ClientTLS(ca_bundle=demo_ca.ca_cert),
        )
        with pytest.raises(RejectedDelivery, match=f"HTTP {status}.*redirect") as refused:
            channel.send(folder, manifest)
    assert recorder.seen == []
    assert "api-key-never-shown" not in str(refused.value)
