"""The delivery endpoint and the start date are checked when the catalogue loads (0422).

Before, a password written into the endpoint was accepted (and sat in Git),
an endpoint of the wrong scheme for its channel or a plain http:// endpoint
to a remote host passed ``registrations check`` and failed only at send time
(on the first closed period, at night), and a start before the Wkz made the
calendar owe periods of 2020 that no run will ever deliver.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from aanlevering.catalogue.loader import load_registrations

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"
PASSWORD = "Geheim-Wachtwoord-42"


@pytest.fixture
def catalogue_copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, target)
    return target


def _problems_of(catalogue: Path, name: str, change: Callable[[dict[str, Any]], None]) -> str:
    file = catalogue / "registrations" / f"{name}.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    change(data)
    file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    registrations, problems = load_registrations(catalogue)
    text = "\n".join(str(p) for p in problems)
    assert (name in registrations) == (not problems), text
    return text


def _endpoint(channel: str, endpoint: str, **more: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: data["delivery"].update(channel=channel, endpoint=endpoint, **more)


@pytest.mark.parametrize(
    ("channel", "endpoint"),
    [
        ("sftp", f"sftp://aanlevering:{PASSWORD}@sftp.registry.example/in"),
        ("https", f"https://hospital:{PASSWORD}@registry.example/deliveries"),
        ("sftp", "sftp://aanlevering:${SFTP_PASSWORD}@sftp.registry.example/in"),
    ],
)
def test_a_password_in_the_endpoint_is_refused_without_quoting_it(
    catalogue_copy: Path, channel: str, endpoint: str
) -> None:
    problems = _problems_of(catalogue_copy, "ldtr", _endpoint(channel, endpoint))
    assert "ldtr.yaml: $.delivery.endpoint: " in problems
    assert "password" in problems
    assert PASSWORD not in problems


@pytest.mark.parametrize(
    ("channel", "endpoint", "expected"),
    [
        ("https", "sftp://aanlevering@sftp.registry.example/in", "https://"),
        ("sftp", "https://registry.example/deliveries", "sftp://"),
        ("https", "ftp://registry.example/in", "https://"),
    ],
)
def test_an_endpoint_of_another_scheme_than_its_channel_is_refused(
    catalogue_copy: Path, channel: str, endpoint: str, expected: str
) -> None:
    problems = _problems_of(catalogue_copy, "ldtr", _endpoint(channel, endpoint))
    assert "ldtr.yaml: $.delivery.endpoint: " in problems
    assert f"channel {channel} needs an {expected} endpoint" in problems


def test_plain_http_to_a_remote_host_is_refused(catalogue_copy: Path) -> None:
    problems = _problems_of(
        catalogue_copy, "dica-dsaa", _endpoint("https", "http://registry.example/deliveries")
    )
    assert "dica-dsaa.yaml: $.delivery.endpoint: plain http:// to a non-loopback host" in problems


@pytest.mark.parametrize(
    ("endpoint", "more"),
    [
        ("http://127.0.0.1:8766/registrations/dica-dsaa/deliveries", {}),
        ("http://localhost:8766/deliveries", {}),
        ("http://registry.example/deliveries", {"allow_insecure_http": True}),
        ("http://${REGISTRY_HOST:-127.0.0.1}/deliveries", {}),
        ("${REGISTRY_URL}/deliveries", {}),
        ("https://registry.example/deliveries", {}),
    ],
)
def test_endpoints_people_use_still_load(
    catalogue_copy: Path, endpoint: str, more: dict[str, Any]
) -> None:
    assert _problems_of(catalogue_copy, "dica-dsaa", _endpoint("https", endpoint, **more)) == ""


def test_a_start_before_the_wkz_is_refused(catalogue_copy: Path) -> None:
    problems = _problems_of(catalogue_copy, "ldtr", lambda data: data.update(start="2020-01-01"))
    assert "ldtr.yaml: $.start: 2020-01-01 is before 2026-01-01" in problems


def test_a_later_start_loads(catalogue_copy: Path) -> None:
    assert _problems_of(catalogue_copy, "ldtr", lambda data: data.update(start="2026-04-01")) == ""


@pytest.mark.parametrize(
    ("name", "start", "expected"),
    [
        ("ldtr", "2026-02-15", "inside the month period 2026-02"),
        ("dica-dsaa", "2026-02-01", "inside the quarter period 2026-Q1"),
        ("nkr-borst", "2026-07-01", "inside the year period 2026"),
    ],
)
def test_a_start_inside_a_period_is_refused_with_both_boundaries(
    catalogue_copy: Path, name: str, start: str, expected: str
) -> None:
    problems = _problems_of(catalogue_copy, name, lambda data: data.update(start=start))
    assert f"{name}.yaml: $.start: {start} is {expected}" in problems
    assert "start on the first day of a period" in problems


def test_a_start_on_a_period_boundary_loads(catalogue_copy: Path) -> None:
    assert _problems_of(catalogue_copy, "dica-dsaa", lambda d: d.update(start="2026-04-01")) == ""


@pytest.mark.parametrize("endpoint", ["outbox/dica", "../../srv/out", "file:///srv/outbox"])
def test_an_outbox_that_is_no_absolute_folder_is_refused(
    catalogue_copy: Path, endpoint: str
) -> None:
    # A relative folder lands wherever the process happens to run (CLI, Airflow worker).
    problems = _problems_of(catalogue_copy, "dica-dsaa", _endpoint("outbox", endpoint))
    assert (
        "dica-dsaa.yaml: $.delivery.endpoint: channel outbox needs an absolute folder" in problems
    )


@pytest.mark.parametrize("endpoint", ["/srv/aanlevering/outbox", "${AANLEVERING_HOME}/outbox"])
def test_an_absolute_or_environment_outbox_loads(catalogue_copy: Path, endpoint: str) -> None:
    assert _problems_of(catalogue_copy, "dica-dsaa", _endpoint("outbox", endpoint)) == ""
