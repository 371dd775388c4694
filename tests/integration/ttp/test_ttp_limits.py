"""Request limits of the reference TTP: 401/413/429 before a body is read.

A TTP with tiny limits. The raw-socket requests send only their head (or
part of the body), so an answer proves the server decided without reading
the rest: a server that read the body would wait for it until the timeout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests

from aanlevering.counterparts.ttp.config import read_config_document
from aanlevering.counterparts.ttp.demo_config import write_config_document
from support.raw_http import open_request, request_without_body
from support.ttp import TTPSetup

LIMITS = {
    "max_json_body_bytes": 4096,
    "max_upload_bytes": 8192,
    "requests_per_minute": 6,
    "failed_auth_per_minute": 3,
    "max_concurrent_uploads": 1,
}


@pytest.fixture
def limited_ttp(fresh_ttp: TTPSetup) -> Iterator[TTPSetup]:
    document = read_config_document(fresh_ttp.config)
    document["limits"] = LIMITS
    write_config_document(fresh_ttp.config, document)
    fresh_ttp.start()
    yield fresh_ttp


def _port(ttp: TTPSetup) -> int:
    assert ttp.server is not None
    return ttp.server.port


def _bearer(ttp: TTPSetup, organisation: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {ttp.api_keys[organisation]}"}


def test_unauthenticated_and_oversized_requests_are_answered_without_the_body(
    limited_ttp: TTPSetup,
) -> None:
    port = _port(limited_ttp)
    huge = {"Content-Length": str(200 * 1024 * 1024), "Content-Type": "application/json"}
    # No credentials: 401 although 200 MB are announced and none sent.
    anonymous = request_without_body(port, "POST", "/local/deliveries", huge)
    assert anonymous.status == 401
    # Authenticated, but over the endpoint's limit: 413 at once.
    oversized = request_without_body(
        port, "POST", "/pseudonyms/temporary", {**huge, **_bearer(limited_ttp, "demo-hospital")}
    )
    assert oversized.status == 413
    upload = request_without_body(
        port, "POST", "/local/deliveries", {**huge, **_bearer(limited_ttp, "demo-hospital")}
    )
    assert upload.status == 413


def test_a_body_without_content_length_is_cut_off_at_the_limit(limited_ttp: TTPSetup) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"registration": "dica-dsaa", "records": ['
        for _ in range(100):
            yield b'{"ref": "x", "digests": {}},' * 10

    answer = requests.post(
        limited_ttp.url + "/pseudonyms/temporary",
        data=chunks(),  # a generator: sent chunked, no Content-Length
        headers={**_bearer(limited_ttp, "demo-hospital"), "Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 413


def test_flooding_gets_429_with_retry_after(limited_ttp: TTPSetup) -> None:
    url = limited_ttp.url + "/pseudonyms/temporary"
    wrong = [
        requests.post(url, json={}, headers={"Authorization": "Bearer nope"}, timeout=5)
        for _ in range(6)
    ]
    assert [r.status_code for r in wrong] == [401, 401, 401, 429, 429, 429]
    assert int(wrong[-1].headers["Retry-After"]) >= 1

    headers = _bearer(limited_ttp, "demo-hospital")
    answers = [requests.post(url, json={}, headers=headers, timeout=5) for _ in range(8)]
    statuses = [a.status_code for a in answers]
    assert statuses[:6] == [422] * 6  # allowed through, refused for the empty body
    assert statuses[6:] == [429, 429]
    assert int(answers[-1].headers["Retry-After"]) >= 1
    # Another organisation has its own budget.
    other = requests.post(url, json={}, headers=_bearer(limited_ttp, "demo-hospital-b"), timeout=5)
    assert other.status_code != 429

    audit = [json.loads(line) for line in limited_ttp.audit_log.read_text().splitlines()]
    outcomes = [entry["outcome"] for entry in audit]
    assert outcomes.count("refused:unauthenticated") == 3
    assert outcomes.count("refused:too_many_failed_logins") == 3
    assert outcomes.count("refused:rate_limited") == 2
    refused = next(e for e in audit if e["outcome"] == "refused:unauthenticated")
    assert refused["peer"] == "127.0.0.1" and refused["organisation"] == "(unauthenticated)"
    verify = subprocess.run(
        [
            *(sys.executable, "-m", "aanlevering.cli.main", "ttp", "audit", "verify"),
            *("--config", str(limited_ttp.config)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0 and "hash chain intact" in verify.stdout


def test_concurrent_uploads_are_capped(limited_ttp: TTPSetup) -> None:
    port = _port(limited_ttp)
    headers = {
        **_bearer(limited_ttp, "demo-hospital"),
        "Content-Type": "multipart/form-data; boundary=xyz",
        "Content-Length": "5000",
    }
    # The first upload is in progress (head and part of its body sent) ...
    with open_request(port, "POST", "/local/deliveries", headers, b"--xyz\r\n"):
        # ... so a second one is told to come back later.
        second = request_without_body(port, "POST", "/local/deliveries", headers)
        assert second.status == 429
        assert int(second.headers["retry-after"]) >= 1
    # The first upload's client went away: its slot is free again (bounded poll).
    deadline = time.monotonic() + 5
    while True:
        third = request_without_body(
            port, "POST", "/local/deliveries", {**headers, "Content-Length": "0"}
        )
        if third.status != 429 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert third.status in {400, 422}
