"""The TTP client follows no redirect: a 3xx is refused at once, nothing goes elsewhere.

Transport audit (decision 0360): ``requests`` followed the TTP's 307 from the
configured ``https://`` URL to another host over plain ``http://`` and sent
the batch (source digests, MRN ciphertexts) there.
"""

from __future__ import annotations

import pytest

from aanlevering.counterparts.common.demo_ca import DemoCA
from aanlevering.pseudonym.ttp.errors import TTPRefused
from aanlevering.pseudonym.ttp.transport import Transport
from aanlevering.tls import ClientTLS
from support.redirect import redirecting_server


@pytest.mark.parametrize("status", [302, 307, 308])
def test_a_redirect_is_refused_not_followed_nor_retried(demo_ca: DemoCA, status: int) -> None:
    with redirecting_server(demo_ca, status) as (base, recorder):
        transport = Transport(
            base,
            "ttp-key-never-shown",
            max_retries=3,
            tls=ClientTLS(ca_bundle=demo_ca.ca_cert),
            sleep=lambda _: None,
        )
        with pytest.raises(TTPRefused, match=f"HTTP {status}.*redirect") as refused:
            transport.request(
                "POST",
                "/pseudonyms/temporary/columns",
                registration="ldtr",
                what="temporary pseudonyms",
                json_body={"registration": "ldtr", "count": 1},
            )
    assert refused.value.code == "redirect_refused"
    assert recorder.seen == []
    assert "ttp-key-never-shown" not in str(refused.value)
