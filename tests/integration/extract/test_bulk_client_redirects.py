"""The FHIR bulk-export client follows no redirect (decision 0402, as 0360 for delivery).

A real server on 127.0.0.1 answers every request with a 3xx to another port;
the client stops with a BulkExportError naming the redirect's origin, and the
server on the other port receives nothing: no bearer token, no request.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.extract.bulk_client import BulkExportClient, BulkExportError, PollPolicy
from support.redirect import redirecting_server

FAST = PollPolicy(max_wait_seconds=5, default_interval=0.05, request_timeout=5)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_kick_off_redirect_is_refused_and_nothing_reaches_the_target(status: int) -> None:
    with redirecting_server(None, status) as (base, recorder):
        client = BulkExportClient(f"{base}/fhir", token="secret-token", policy=FAST)
        with pytest.raises(BulkExportError, match=rf"HTTP {status}, a redirect to") as raised:
            client.kick_off()
    assert recorder.url in str(raised.value)  # the other origin is named...
    assert "secret-token" not in str(raised.value)
    assert recorder.seen == []  # ...and received nothing


def test_status_poll_redirect_is_refused(tmp_path: Path) -> None:
    with redirecting_server(None) as (base, recorder):
        client = BulkExportClient(f"{base}/fhir", token="secret-token", policy=FAST)
        with pytest.raises(BulkExportError, match=r"HTTP 307, a redirect to"):
            client.wait(f"{base}/status/job-1")
    assert recorder.seen == []


def test_download_redirect_is_refused_and_no_file_is_written(tmp_path: Path) -> None:
    manifest = {
        "requiresAccessToken": True,
        "output": [{"type": "Patient", "url": "{base}/files/Patient.ndjson"}],
    }
    with redirecting_server(None, 302) as (base, recorder):
        client = BulkExportClient(f"{base}/fhir", token="secret-token", policy=FAST)
        manifest["output"][0]["url"] = f"{base}/files/Patient.ndjson"  # type: ignore[index]
        with pytest.raises(BulkExportError, match=r"HTTP 302, a redirect to"):
            client.download(manifest, tmp_path / "export")
    assert recorder.seen == []
    assert not list((tmp_path / "export").glob("*"))
