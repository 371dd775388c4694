"""The Deliveries page renders the event log's projection and refuses unauthenticated calls.

The page's app takes Airflow's ``get_user`` in the api-server (tested against
a real ``airflow standalone`` in tests/e2e/test_airflow_standalone.py); here
it gets a dependency that accepts one fixed bearer token, through real HTTP
requests against the app.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import HTTPException, Request
from fastapi.testclient import TestClient

from aanlevering.airflow.deliveries_page import create_app, render

DOCUMENT = {
    "as_of": "2026-11-22",
    "last_position": 42,
    "deliveries": [
        {
            "registration": "dica-dsaa",
            "period": "2026-Q1",
            "version": 1,
            "kind": "delivery",
            "status": "receipted",
            "record_counts": {"operatie": 51},
            "excluded_optouts": 2,
            "validation_report": "REPORTS/dica-dsaa/2026-Q1/v1/validation-report.json",
            "receipt_id": "rcpt-123",
            "received_at": "2026-11-22T07:00:00+00:00",
        }
    ],
    "registrations": {
        "dica-dsaa": {
            "name": "DSAA",
            "registry_holder": "DICA",
            "frequency": "quarter",
            "format": "csv",
            "register_state": "included",
            "may_deliver": True,
            "periods": [
                {"period": "2026-Q1", "state": "delivered", "due_by": "2026-05-01"},
                {"period": "2026-Q2", "state": "overdue", "due_by": "2026-08-01"},
            ],
        },
        "ldtr": {
            "name": "LTR",
            "registry_holder": "LNAZ",
            "frequency": "month",
            "format": "fhir-ndjson",
            "register_state": "pending",
            "may_deliver": False,
            "periods": [],
        },
    },
}


def _document(reports: Path) -> dict:  # type: ignore[type-arg]
    entry = dict(DOCUMENT["deliveries"][0])  # type: ignore[index]
    entry["validation_report"] = str(reports / "dica-dsaa/2026-Q1/v1/validation-report.json")
    return {**DOCUMENT, "deliveries": [entry]}


def test_rows_show_state_counts_report_and_receipt_with_overdue_highlighted(
    tmp_path: Path,
) -> None:
    page = render(_document(tmp_path), tmp_path)
    assert "rcpt-123" in page and "operatie: 51" in page
    assert 'href="reports/dica-dsaa/2026-Q1/v1/validation-report.html"' in page
    overdue_row = page.split("<tr class='overdue'", 1)[1].split("</tr>", 1)[0]
    assert "font-weight:bold" in overdue_row and "2026-Q2" in overdue_row
    only = render(_document(tmp_path), tmp_path, only="ldtr")
    assert "rcpt-123" not in only and "LTR" in only


def test_the_calendar_comes_first_and_the_table_agrees_with_it(tmp_path: Path) -> None:
    document = _document(tmp_path)
    periods = document["registrations"]["dica-dsaa"]["periods"]
    periods[1] = {**periods[1], "owed": True, "last_run": "validation-blocked"}
    page = render(document, tmp_path)
    section = page.split("id='dica-dsaa'", 1)[1]
    assert section.index("<table class='cal'") < section.index("<th>period</th>")
    assert "data-period='2026-Q2' data-state='blocked'" in section
    assert "data-verdict='met'" in section  # 2026-Q1 delivered
    blocked_row = section.split("<tr class='blocked'", 1)[1].split("</tr>", 1)[0]
    assert "2026-Q2" in blocked_row
    assert page.count("class='legend'") == 1
    only = render(document, tmp_path, only="ldtr")
    assert "data-registration='dica-dsaa'" not in only and "No periods yet." in only


def _accept_token(request: Request) -> str:
    if request.headers.get("Authorization") != "Bearer good":
        raise HTTPException(status_code=401, detail="Not authenticated")
    return "admin"


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path))
    report = tmp_path / "reports" / "dica-dsaa" / "2026-Q1" / "v1" / "validation-report.html"
    report.parent.mkdir(parents=True)
    report.write_text("<html>report</html>")
    (tmp_path / "secret.txt").write_text("not a report")
    return TestClient(create_app(_accept_token, lambda user, registrations: set(registrations)))


def test_every_route_needs_the_token(client: TestClient) -> None:
    for path in (
        "/",
        "/api/deliveries.json",
        "/reports/dica-dsaa/2026-Q1/v1/validation-report.html",
    ):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer bad"}).status_code == 401


def test_reports_are_served_only_from_the_reports_folder(client: TestClient) -> None:
    auth = {"Authorization": "Bearer good"}
    ok = client.get("/reports/dica-dsaa/2026-Q1/v1/validation-report.html", headers=auth)
    assert ok.status_code == 200 and "report" in ok.text
    assert client.get("/reports/../secret.txt", headers=auth).status_code == 404
    assert client.get("/reports/%2e%2e/secret.txt", headers=auth).status_code == 404
    assert client.get("/reports/nope.html", headers=auth).status_code == 404


def test_the_page_reads_the_event_log(client: TestClient) -> None:
    page = client.get("/", headers={"Authorization": "Bearer good"})
    assert page.status_code == 200
    assert "<h1>Deliveries</h1>" in page.text and "dica-dsaa" in page.text
    document = client.get("/api/deliveries.json", headers={"Authorization": "Bearer good"})
    assert set(document.json()["registrations"]) >= {"dica-dsaa", "ldtr", "nkr-borst"}


def test_one_broken_registration_file_is_named_and_the_others_still_show(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decision 0474: the page showed nothing (a 500) when one registration file broke."""
    import shutil

    catalogue = tmp_path / "catalogue"
    shutil.copytree(Path(__file__).resolve().parents[3] / "schemas" / "catalogue", catalogue)
    (catalogue / "registrations" / "ldtr.yaml").write_text("id: ldtr\nfrequency: [\n")
    monkeypatch.setenv("AANLEVERING_CATALOGUE", str(catalogue))
    page = client.get("/", headers={"Authorization": "Bearer good"})
    assert page.status_code == 200
    assert "id='dica-dsaa'" in page.text and "id='nkr-borst'" in page.text
    assert "id='ldtr'" not in page.text
    banner = page.text.split("class='unloadable'", 1)[1].split("</p>", 1)[0]
    assert "registrations/ldtr.yaml" in banner and "registrations check" in banner
    assert str(tmp_path) not in banner  # names relative to the catalogue, no problem text
    document = client.get("/api/deliveries.json", headers={"Authorization": "Bearer good"})
    assert document.json()["unloadable_catalogue_files"] == ["registrations/ldtr.yaml"]
