"""The Deliveries page shows each user only the registrations whose DAG they may read,
serves only the registry holder's report (sandboxed), never Data Docs, and escapes every cell.

The page runs as a real server process (uvicorn on 127.0.0.1) with the test
ports of ``support.deliveries_app``; the report's script is tried in real
headless Chromium over the DevTools protocol.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from aanlevering.airflow.deliveries_page import render
from support.browser import Browser
from support.servers import PYTHON, ServerProcess, start_server

REPO = Path(__file__).resolve().parents[3]
HOSTILE = "<img src=x onerror=\"document.title='pwned'\">"
REPORT = (
    "<html><head><title>report</title></head><body><p id='x'>checks only</p>"
    "<script>document.title='pwned';document.getElementById('x').textContent='ran'"
    "</script></body></html>"
)
ACCESS = {"admin": ["dica-dsaa", "ldtr", "nkr-borst"], "trauma": ["ldtr"]}


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    home = tmp_path_factory.mktemp("home")
    for registration in ("dica-dsaa", "ldtr"):
        version = home / "reports" / registration / "2026-Q1" / "v1"
        (version / "data-docs").mkdir(parents=True)
        (version / "validation-report.html").write_text(REPORT, encoding="utf-8")
        (version / "validation-report.json").write_text('{"checks": []}', encoding="utf-8")
        (version / "data-docs" / "index.html").write_text(
            f"<html><body>clinical value {HOSTILE}</body></html>", encoding="utf-8"
        )
        (version / "validation-report.csv").write_text("not served", encoding="utf-8")
    server = start_server(
        [PYTHON, "-m", "uvicorn", "support.deliveries_app:app", "--port", "{port}"],
        log_path=home / "page.log",
        cwd=REPO / "tests",
        env={
            "AANLEVERING_HOME": str(home),
            "AANLEVERING_CATALOGUE": str(REPO / "schemas" / "catalogue"),
            "DELIVERIES_TEST_ACCESS": json.dumps(ACCESS),
            "PYTHONPATH": f"{REPO / 'src'}:{REPO / 'tests'}",
        },
    )
    try:
        yield server, home
    finally:
        server.stop()


def _get(server: ServerProcess, path: str, user: str = "admin") -> requests.Response:
    return requests.get(
        f"{server.url}/deliveries/{path}",
        headers={"Authorization": f"Bearer token-{user}"},
        timeout=30,
    )


def test_a_user_sees_only_the_registrations_whose_dag_they_may_read(
    page: tuple[ServerProcess, Path],
) -> None:
    server, _ = page
    everything = _get(server, "")
    assert everything.status_code == 200
    for registration in ("dica-dsaa", "ldtr", "nkr-borst"):
        assert f"id='{registration}'" in everything.text
    trauma = _get(server, "", user="trauma")
    assert "id='ldtr'" in trauma.text
    assert "dica-dsaa" not in trauma.text and "nkr-borst" not in trauma.text
    assert "DSAA" not in trauma.text
    document = _get(server, "api/deliveries.json", user="trauma").json()
    assert set(document["registrations"]) == {"ldtr"}
    assert all(e["registration"] == "ldtr" for e in document["deliveries"])
    tab = _get(server, "?dag_id=deliver-dica-dsaa", user="trauma")
    assert "dica-dsaa" not in tab.text


def test_only_the_registry_holders_report_is_served_with_a_sandbox(
    page: tuple[ServerProcess, Path],
) -> None:
    server, _ = page
    report = _get(server, "reports/dica-dsaa/2026-Q1/v1/validation-report.html")
    assert report.status_code == 200
    assert report.headers["Content-Security-Policy"] == "sandbox"
    assert report.headers["X-Content-Type-Options"] == "nosniff"
    assert report.headers["Content-Type"].startswith("text/html")
    as_json = _get(server, "reports/dica-dsaa/2026-Q1/v1/validation-report.json")
    assert as_json.status_code == 200 and as_json.headers["Content-Security-Policy"] == "sandbox"
    for path in (
        "reports/dica-dsaa/2026-Q1/v1/data-docs/index.html",
        "reports/dica-dsaa/2026-Q1/v1/validation-report.csv",
        "reports/dica-dsaa/2026-Q1/validation-report.html",
        "reports/dica-dsaa/2026-Q1/v1/../v1/data-docs/index.html",
        "reports/%2e%2e/page.log",
    ):
        answer = _get(server, path)
        assert answer.status_code == 404, path
        assert "clinical value" not in answer.text
    # another registration's report is not served to a user without access to its DAG
    assert (
        _get(server, "reports/dica-dsaa/2026-Q1/v1/validation-report.html", "trauma").status_code
        == 404
    )
    assert (
        _get(server, "reports/ldtr/2026-Q1/v1/validation-report.html", "trauma").status_code == 200
    )
    page_answer = _get(server, "")
    assert page_answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in page_answer.headers["Content-Security-Policy"]


def test_a_script_in_a_report_does_not_run_in_a_browser(
    page: tuple[ServerProcess, Path], tmp_path: Path
) -> None:
    server, _ = page
    browser = Browser(tmp_path / "chromium-profile")
    try:
        # control: the same markup outside the page's sandbox does run its script
        markup = REPORT.replace("'", "%27").replace("#", "%23")
        browser.call("Page.navigate", url=f"data:text/html,{markup}")
        browser.wait_for("document.readyState === 'complete' && !!document.getElementById('x')")
        assert browser.js("document.title") == "pwned"
        browser.call("Network.enable")
        browser.call("Network.setExtraHTTPHeaders", headers={"Authorization": "Bearer token-admin"})
        browser.call(
            "Page.navigate",
            url=f"{server.url}/deliveries/reports/dica-dsaa/2026-Q1/v1/validation-report.html",
        )
        browser.wait_for("document.readyState === 'complete' && !!document.getElementById('x')")
        shown: Any = browser.js("document.getElementById('x').textContent")
        title: Any = browser.js("document.title")
    finally:
        browser.close()
    assert shown == "checks only"
    assert title == "report"


def test_every_cell_is_escaped(tmp_path: Path) -> None:
    document = {
        "as_of": HOSTILE,
        "last_position": HOSTILE,
        "deliveries": [
            {
                "registration": "ldtr",
                "period": "2026-01",
                "version": HOSTILE,
                "kind": "delivery",
                "status": HOSTILE,
                "record_counts": {HOSTILE: HOSTILE},
                "excluded_optouts": HOSTILE,
                "validation_report": None,
                "receipt_id": HOSTILE,
                "received_at": HOSTILE,
            }
        ],
        "registrations": {
            "ldtr": {
                "name": HOSTILE,
                "registry_holder": HOSTILE,
                "frequency": HOSTILE,
                "format": HOSTILE,
                "register_state": HOSTILE,
                "may_deliver": True,
                "periods": [{"period": "2026-01", "state": HOSTILE, "due_by": HOSTILE}],
            }
        },
    }
    html = render(document, tmp_path)
    assert "<img" not in html and 'onerror="' not in html
    assert html.count("&lt;img src=x onerror=") >= 12
