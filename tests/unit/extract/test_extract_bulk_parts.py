"""Small parts of the bulk export client that need no server: URLs and Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aanlevering.extract.bulk_client import BulkExportError, kickoff_url, retry_after_seconds


def test_kickoff_urls_per_level() -> None:
    assert kickoff_url("https://fhir.example/r4/") == "https://fhir.example/r4/$export"
    assert (
        kickoff_url("https://fhir.example/r4", "patient")
        == "https://fhir.example/r4/Patient/$export"
    )
    assert kickoff_url("https://x", "group", "g1") == "https://x/Group/g1/$export"
    with pytest.raises(BulkExportError, match="group id"):
        kickoff_url("https://x", "group")


def test_retry_after_as_seconds_as_http_date_or_default() -> None:
    now = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7", 2.0, now) == 7.0
    assert retry_after_seconds("Mon, 01 Jun 2026 12:00:30 GMT", 2.0, now) == 30.0
    assert retry_after_seconds("Mon, 01 Jun 2026 11:00:00 GMT", 2.0, now) == 0.0
    assert retry_after_seconds(None, 2.0, now) == 2.0
    assert retry_after_seconds("soon", 2.0, now) == 2.0
