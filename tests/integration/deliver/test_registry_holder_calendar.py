"""A delivery's period is on the registration's calendar (a real registry holder process).

The holder files what it receives under its period: a label that is no
period, dates that are another period's, or a period of another length
than the registration's would file records where they do not belong. It
refuses them with a reason (decision 0721).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from aanlevering.deliver.manifest import Manifest, idempotency_key
from conftest import stage  # module level: a later import may find another conftest
from support.holder_requests import send as _send
from support.registry_holder import RegistryHolder

CATALOGUE = Path(__file__).resolve().parents[3] / "schemas" / "catalogue"


def _in(manifest: Manifest, period: str, start: str, end: str) -> Manifest:
    key = idempotency_key(manifest.provider_id, manifest.registration, period, manifest.version)
    return replace(manifest, period=period, period_start=start, period_end=end, idempotency_key=key)


@pytest.mark.parametrize(
    ("period", "start", "end", "reason"),
    [
        ("2026-13", "2026-12-01", "2027-01-01", "is not a year"),  # no such month
        ("march", "2026-03-01", "2026-04-01", "is not a year"),
        ("2026-03", "2026-02-01", "2026-04-01", "are not those of period 2026-03"),  # starts early
        ("2026-03", "2026-03-01", "2026-06-01", "are not those of period 2026-03"),  # ends late
        ("2026-03", "2026-03-01", "2026-03-01", "are not those of period 2026-03"),  # no days
        ("2026-03", "2026-03-01", "soon", "must be dates"),
    ],
)
def test_a_period_off_the_calendar_is_refused(
    registry_holder: RegistryHolder,
    tmp_path: Path,
    period: str,
    start: str,
    end: str,
    reason: str,
) -> None:
    manifest = _in(stage(tmp_path / "d", provider=registry_holder.hospital), period, start, end)
    answer = _send(registry_holder, tmp_path / "d", manifest)
    assert answer.status_code == 422, answer.text
    assert reason in answer.text
    assert registry_holder.ledger() == []


def test_a_period_up_to_a_run_day_is_one_of_the_calendar(
    registry_holder: RegistryHolder, tmp_path: Path
) -> None:
    # A run of a period not yet closed covers its days up to the run day (decision 0393).
    manifest = _in(
        stage(tmp_path / "d", provider=registry_holder.hospital),
        "2026-03",
        "2026-03-01",
        "2026-03-16",
    )
    answer = _send(registry_holder, tmp_path / "d", manifest)
    assert answer.status_code == 201, answer.text


@pytest.fixture
def registry_holder(hospital_holder: RegistryHolder) -> RegistryHolder:
    """A hospital of its own on the module's shared holder (decision 0831)."""
    return hospital_holder


@pytest.mark.parametrize("kind", ["delivery", "retraction"])
def test_a_period_of_another_length_than_the_registrations_is_refused(
    knowing_holder: RegistryHolder, tmp_path: Path, kind: str
) -> None:
    manifest = _in(
        stage(tmp_path / "d", provider=knowing_holder.hospital),
        "2026-Q1",
        "2026-01-01",
        "2026-04-01",
    )  # ldtr: monthly
    if kind == "retraction":
        manifest = replace(manifest, kind="retraction", files=(), record_counts={})
    answer = _send(knowing_holder, tmp_path / "d", manifest)
    assert answer.status_code == 422, answer.text
    assert "period 2026-Q1 is a quarter; registration 'ldtr' is delivered per month" in answer.text
    assert knowing_holder.ledger() == []
