"""Idempotent request ids and client retries against a TTP that fails and recovers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
import requests

from aanlevering.pseudonym.ttp.client import TTPClient
from aanlevering.pseudonym.ttp.errors import TTPRefused, TTPUnavailable
from aanlevering.pseudonym.ttp.models import PseudonymInputs
from support.servers import free_port
from support.ttp import SOURCE_KEY_JSON, TTPSetup, digest

Arm = Callable[..., None]


def body(request_id: str, seed: str) -> dict[str, object]:
    return {
        "registration": "dica-dsaa",
        "request_id": request_id,
        "profile_version": "nl-2026.1",
        "source_key": SOURCE_KEY_JSON,
        "records": [{"ref": "1", "digests": {"NGGV": digest(seed)}}],
    }


def audit_entries_since(ttp: TTPSetup, count: int) -> list[dict[str, object]]:
    return [json.loads(line) for line in ttp.audit_log.read_text().splitlines()[count:]]


def audit_size(ttp: TTPSetup) -> int:
    return len(ttp.audit_log.read_text().splitlines())


def people(prefix: str, n: int = 3) -> list[PseudonymInputs]:
    return [PseudonymInputs(f"{prefix}-{i}", {"NGGV": digest(f"{prefix}-{i}")}) for i in range(n)]


def test_same_request_id_same_body_gives_the_same_answer(ttp: TTPSetup) -> None:
    url, headers = ttp.url + "/pseudonyms/temporary", ttp.headers("demo-hospital")
    first = requests.post(url, json=body("idem-1", "a"), headers=headers, timeout=5)
    again = requests.post(url, json=body("idem-1", "a"), headers=headers, timeout=5)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content

    other = requests.post(url, json=body("idem-1", "b"), headers=headers, timeout=5)
    assert other.status_code == 409
    assert other.json()["detail"]["code"] == "request_id_reused"

    # Request ids are per organisation: another hospital may use the same id.
    elsewhere = requests.post(
        url, json=body("idem-1", "b"), headers=ttp.headers("demo-hospital-b"), timeout=5
    )
    assert elsewhere.status_code == 200


def test_client_retries_5xx_and_gets_the_answer(ttp: TTPSetup, faults: Arm) -> None:
    faults(2, "error")
    before = audit_size(ttp)
    result = ttp.client("demo-hospital", max_retries=3).temporary_pseudonyms(
        "dica-dsaa", people("retry-5xx"), run_id="retry-5xx", profile_version="nl-2026.1"
    )
    assert len(result.pseudonyms) == 3
    # Two injected failures never reached the service; the third attempt was served once.
    assert [e["outcome"] for e in audit_entries_since(ttp, before)] == ["ok"]


def test_client_retries_a_hanging_ttp_after_its_timeout(ttp: TTPSetup, faults: Arm) -> None:
    faults(1, "hang", hang_seconds=3)
    started = time.monotonic()
    result = ttp.client("demo-hospital", timeout=0.5, max_retries=2).temporary_pseudonyms(
        "dica-dsaa", people("retry-hang"), run_id="retry-hang", profile_version="nl-2026.1"
    )
    assert len(result.pseudonyms) == 3
    assert time.monotonic() - started < 3  # it did not wait for the hang to end


def test_answer_lost_on_the_way_back_is_replayed_not_served_twice(
    ttp: TTPSetup, faults: Arm
) -> None:
    records = people("lost")
    faults(1, "error_after")
    before = audit_size(ttp)
    result = ttp.client("demo-hospital").temporary_pseudonyms(
        "dica-dsaa", records, run_id="lost", profile_version="nl-2026.1"
    )
    entries = audit_entries_since(ttp, before)
    assert [e["outcome"] for e in entries] == ["ok", "ok"]
    assert entries[0]["request_id"] == entries[1]["request_id"] == "lost:dica-dsaa:temporary:00000"

    # A rerun of the same run id reads the same answer from the TTP's cache.
    rerun = ttp.client("demo-hospital").temporary_pseudonyms(
        "dica-dsaa", records, run_id="lost", profile_version="nl-2026.1"
    )
    assert rerun.pseudonyms == result.pseudonyms
    assert rerun.batches == result.batches


def test_client_gives_up_after_bounded_retries(ttp: TTPSetup, faults: Arm) -> None:
    faults(10, "error")
    client = ttp.client("demo-hospital", max_retries=2, backoff=0.01)
    with pytest.raises(TTPUnavailable) as unavailable:
        client.temporary_pseudonyms(
            "dica-dsaa", people("give-up"), run_id="give-up", profile_version="nl-2026.1"
        )
    assert unavailable.value.attempts == 3
    assert "HTTP 500" in str(unavailable.value)


def test_client_does_not_retry_a_conflict(ttp: TTPSetup) -> None:
    client = ttp.client("demo-hospital", max_retries=3)
    client.temporary_pseudonyms(
        "dica-dsaa", people("conflict"), run_id="conflict", profile_version="nl-2026.1"
    )
    before = audit_size(ttp)
    with pytest.raises(TTPRefused) as refused:
        client.temporary_pseudonyms(
            "dica-dsaa", people("conflict", 4), run_id="conflict", profile_version="nl-2026.1"
        )
    assert refused.value.status == 409
    assert len(audit_entries_since(ttp, before)) == 1


def test_unreachable_ttp_is_reported_after_retries() -> None:
    client = TTPClient(f"http://127.0.0.1:{free_port()}", "key", max_retries=1, backoff=0.01)
    with pytest.raises(TTPUnavailable) as unavailable:
        client.health()
    assert unavailable.value.attempts == 2
    assert "ConnectionError" in str(unavailable.value)
