"""Real ``airflow standalone`` (SQLite, LocalExecutor) runs a backfill from the REST API.

Started by ``scripts/airflow.sh`` (as ``make run`` does) on free ports with
its home in the test's ``AANLEVERING_HOME``; the TTP and registry holder are
the e2e ``world``'s processes. The backfill starts in 2025 on purpose:
Airflow does not clamp ``from_date`` to the DAG's ``start_date``, so the
2025-Q4 run exists and must end without a delivery (skipped), while 2026-Q1
is delivered and receipted. The scheduler makes no scheduled (catch-up) runs
(``[scheduler] use_job_schedule = False``, as in the Celery test), so only
the backfill's runs exist. The Deliveries page is checked without a token
(refused), with a bad token (refused) and with the logged-in user's token,
and last in headless Chromium after logging in through the login form: the
calendar at a glance is there (cells with their states in words, the
legal-minimum lines, the legend) and hovering a delivered cell shows its
counts and opt-out exclusions. Screenshots are kept in test-artefacts/:
deliveries-page.png (inside the Airflow UI) and
deliveries-calendar-hover.png (the page with a cell's tooltip open).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from aanlevering.deliver.ledger import load_ledger
from aanlevering.obligation.decisions import RegisterDecision
from aanlevering.obligation.service import record_decisions
from conftest import World, identity_values
from support.browser import Browser
from support.servers import free_port

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
DAG_ID = "deliver-dica-dsaa"
DEADLINE_SECONDS = 360
ARTEFACTS = REPO / "test-artefacts"


@pytest.fixture(scope="module")
def airflow(world: World) -> Iterator[dict[str, Any]]:
    port = free_port()
    env = {
        **os.environ,
        **world.env,
        "AANLEVERING_AIRFLOW_PORT": str(port),
        "AANLEVERING_AIRFLOW_LOG_PORT": str(free_port()),
        "AANLEVERING_AIRFLOW_TRIGGER_LOG_PORT": str(free_port()),
        "AANLEVERING_INPUT__DICA_DSAA": str(world.demo / "csv-utf8"),
        # Only the backfill's runs: once unpaused, the DAG's catch-up runs of the closed
        # quarters after 2026-Q1 would run beside the browser test (asserted on by none)
        # and hold up the stop by half a minute (decision 0875).
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
    }
    env.pop("AIRFLOW_HOME", None)
    script = str(REPO / "scripts" / "airflow.sh")
    try:
        started = subprocess.run(
            ["bash", script, "start"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert started.returncode == 0, started.stdout + started.stderr
        home = Path(env["AANLEVERING_HOME"]) / "airflow"
        password = json.loads((home / "passwords.json").read_text())["admin"]
        url = f"http://127.0.0.1:{port}"
        answer = requests.post(
            f"{url}/auth/token", json={"username": "admin", "password": password}, timeout=30
        )
        answer.raise_for_status()
        token = answer.json()["access_token"]
        yield {"url": url, "token": token, "home": home, "startup": started.stdout}
    finally:
        subprocess.run(["bash", script, "stop"], env=env, timeout=120, check=False)


#: Attempts of a read (GET) whose answer timed out: the API server shares two cores with
#: the scheduler, the task processes and the rest of the suite, and a read is safe to repeat.
READ_ATTEMPTS = 3


def _api(airflow: dict[str, Any], method: str, path: str, **kwargs: Any) -> Any:
    attempts = READ_ATTEMPTS if method == "GET" else 1
    for attempt in range(1, attempts + 1):
        try:
            answer = requests.request(
                method,
                f"{airflow['url']}/api/v2{path}",
                headers={"Authorization": f"Bearer {airflow['token']}"},
                timeout=30,
                **kwargs,
            )
            break
        except requests.Timeout:
            if attempt == attempts:
                raise
    assert answer.ok, f"{method} {path}: {answer.status_code} {answer.text[:500]}"
    return answer.json()


def _create_backfill(airflow: dict[str, Any], body: dict[str, Any]) -> Any:
    """POST /backfills; SQLite answers 503 while the scheduler holds the lock: retry, bounded."""
    for _ in range(30):
        answer = requests.post(
            f"{airflow['url']}/api/v2/backfills",
            headers={"Authorization": f"Bearer {airflow['token']}"},
            json=body,
            timeout=30,
        )
        if answer.status_code != 503:
            assert answer.ok, f"{answer.status_code} {answer.text[:500]}"
            return answer.json()
        time.sleep(1)
    raise AssertionError(f"backfill not accepted: {answer.text[:500]}")


def _wait_for_backfill(airflow: dict[str, Any], backfill_id: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        backfill = _api(airflow, "GET", f"/backfills/{backfill_id}")
        runs = [
            r
            for r in _api(airflow, "GET", f"/dags/{DAG_ID}/dagRuns", params={"limit": 50})[
                "dag_runs"
            ]
            if r["run_type"] == "backfill"
        ]
        finished = all(r["state"] in {"success", "failed"} for r in runs)
        if backfill["completed_at"] and runs and finished:
            return runs
        time.sleep(2)
    log = (airflow["home"] / "standalone.log").read_text(errors="replace")[-3000:]
    raise AssertionError(f"backfill not done in {DEADLINE_SECONDS}s: {runs}\n{log}")


def test_the_startup_prints_the_ui_url_and_login(airflow: dict[str, Any]) -> None:
    assert f"Airflow UI: {airflow['url']}" in airflow["startup"]
    assert "login: admin / " in airflow["startup"]


def test_the_deliveries_page_needs_an_airflow_login(airflow: dict[str, Any]) -> None:
    page = f"{airflow['url']}/deliveries/"
    assert requests.get(page, timeout=30).status_code == 401
    forged = requests.get(page, headers={"Authorization": "Bearer not-a-jwt"}, timeout=30)
    assert forged.status_code in {401, 403}
    assert requests.get(page, cookies={"_token": "x.y.z"}, timeout=30).status_code in {401, 403}
    ok = requests.get(page, headers={"Authorization": f"Bearer {airflow['token']}"}, timeout=30)
    assert ok.status_code == 200 and "<h1>Deliveries</h1>" in ok.text
    # The UI has the nav entry and the per-DAG tab.
    views = [v for p in _api(airflow, "GET", "/plugins")["plugins"] for v in p["external_views"]]
    assert {(v["destination"], v["href"]) for v in views} >= {
        ("nav", "/deliveries/"),
        ("dag", "/deliveries/?dag_id={DAG_ID}"),
    }


def test_backfill_from_the_rest_api_delivers_2026_and_skips_2025(
    world: World, airflow: dict[str, Any]
) -> None:
    dags = _api(airflow, "GET", "/dags", params={"dag_id_pattern": "deliver-%"})["dags"]
    assert DAG_ID in {d["dag_id"] for d in dags}
    assert all(d["is_paused"] for d in dags)  # nothing delivers before it is switched on
    backfill = _create_backfill(
        airflow,
        {
            "dag_id": DAG_ID,
            "from_date": "2025-10-01T00:00:00+02:00",
            "to_date": "2026-01-01T00:00:00+01:00",
            "max_active_runs": 1,
        },
    )
    # Backfill runs of a paused DAG never start: unpause (as make run does).
    _api(airflow, "PATCH", f"/dags/{DAG_ID}", json={"is_paused": False})
    runs = _wait_for_backfill(airflow, backfill["id"])
    by_start = {r["data_interval_start"][:10]: r for r in runs}
    assert all(r["state"] == "success" for r in runs), runs

    def task_states(run: dict[str, Any]) -> dict[str, str]:
        path = f"/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances"
        return {t["task_id"]: t["state"] for t in _api(airflow, "GET", path)["task_instances"]}

    before_2026 = [r for start, r in by_start.items() if start < "2025-12-31"]
    assert before_2026, f"Airflow clamped from_date after all? runs: {sorted(by_start)}"
    for run in before_2026:
        assert task_states(run)["check_obligation"] == "skipped"
    q1 = [r for start, r in by_start.items() if start.startswith("2025-12-31")]
    assert len(q1) == 1, sorted(by_start)  # 2026-01-01 00:00 Amsterdam is 2025-12-31 23:00 UTC
    assert set(task_states(q1[0]).values()) == {"success"}

    with world.store() as store:
        entry = load_ledger(store).current("dica-dsaa", "2026-Q1")
    assert entry is not None and entry.status == "receipted"
    received = [e["idempotency_key"] for e in world.holder.ledger()]
    assert entry.idempotency_key in received
    assert not any(k.startswith("demo-hospital.dica-dsaa.2025") for k in received)

    page = requests.get(
        f"{airflow['url']}/deliveries/?dag_id={DAG_ID}",
        headers={"Authorization": f"Bearer {airflow['token']}"},
        timeout=30,
    ).text
    assert entry.receipt_id and entry.receipt_id in page
    assert "ldtr" not in page  # the per-DAG tab shows its own registration only
    leaked = [v for v in identity_values(world.demo) if len(v) >= 6 and v in page]
    assert leaked == []
    report = requests.get(
        f"{airflow['url']}/deliveries/" + page.split('href="', 1)[1].split('"', 1)[0],
        headers={"Authorization": f"Bearer {airflow['token']}"},
        timeout=30,
    )
    assert report.status_code == 200 and "<html" in report.text.lower()


def test_a_browser_logs_in_and_sees_receipted_deliveries(
    world: World, airflow: dict[str, Any], tmp_path: Path
) -> None:
    with world.store() as store:
        receipted = [e for e in load_ledger(store).rows() if e.status == "receipted"]
    assert receipted  # the backfill test ran first
    with world.store() as store:  # an obligation for ldtr, so its calendar has owed periods
        record_decisions(
            store,
            [
                RegisterDecision(
                    registration="ldtr",
                    kind="included",
                    decided_on=date(2026, 1, 15),
                    effective_from=date(2026, 1, 15),
                    term_years=5,
                )
            ],
        )
    password = json.loads((airflow["home"] / "passwords.json").read_text())["admin"]
    browser = Browser(tmp_path / "chromium-profile")
    try:
        browser.call("Page.navigate", url=f"{airflow['url']}/")
        browser.wait_for("!!document.querySelector('input[name=password]')")
        assert "/auth/login" in browser.js("location.pathname")
        for selector, text in (
            ("input[name=username]", "admin"),
            ("input[name=password]", password),
        ):
            browser.js(f"document.querySelector('{selector}').focus()")
            browser.call("Input.insertText", text=text)
        browser.wait_for("!document.querySelector('button[type=submit]').disabled")
        browser.act("document.querySelector('button[type=submit]').click()")
        browser.wait_for("!location.pathname.startsWith('/auth/login')")

        browser.call("Page.navigate", url=f"{airflow['url']}/deliveries/")
        browser.wait_for("document.body && document.body.innerText.includes('Deliveries')")
        text = browser.js("document.body.innerText")
        for entry in receipted:
            assert entry.receipt_id and entry.receipt_id in text
        assert "delivered" in text
        leaked = [v for v in identity_values(world.demo) if len(v) >= 6 and v in text]
        assert leaked == []
        calendar = _check_the_calendar(browser, receipted[0])
        leaked = [v for v in identity_values(world.demo) if len(v) >= 6 and v in calendar]
        assert leaked == []
        hovered = base64.b64decode(browser.call("Page.captureScreenshot", format="png")["data"])

        # The page inside the Airflow UI (nav entry), kept as a screenshot.
        browser.call("Page.navigate", url=f"{airflow['url']}/plugin/deliveries")
        browser.wait_for("!!document.querySelector('iframe[src*=\"/deliveries/\"]')")
        browser.wait_for(  # same origin: the calendar inside the iframe can be seen from here
            "(() => { const d = document.querySelector('iframe[src*=\"/deliveries/\"]')"
            ".contentDocument; return !!d && !!d.querySelector('table.cal td.cell') })()"
        )
        time.sleep(1)  # let the iframe paint
        shot = base64.b64decode(browser.call("Page.captureScreenshot", format="png")["data"])
    finally:
        browser.close()
    assert shot.startswith(b"\x89PNG") and len(shot) > 10_000
    assert hovered.startswith(b"\x89PNG") and len(hovered) > 10_000
    ARTEFACTS.mkdir(exist_ok=True)
    (ARTEFACTS / "deliveries-page.png").write_bytes(shot)
    (ARTEFACTS / "deliveries-calendar-hover.png").write_bytes(hovered)


def _check_the_calendar(browser: Browser, delivered: Any) -> str:
    """The calendar's cells and legal-minimum lines are there; hovering shows counts only.

    Returns every text the calendar holds (cells, tooltips, lines) for the privacy check.
    """
    cells = browser.js(
        "[...document.querySelectorAll('table.cal td.cell')].map(c => "
        "[c.closest('table').dataset.registration, c.dataset.period, c.dataset.state, "
        "c.innerText])"
    )
    by_cell = {(registration, period): (state, text) for registration, period, state, text in cells}
    state, label = by_cell[(delivered.registration, delivered.period)]
    assert state == "delivered" and "delivered" in label  # the state in words, not colour only
    # ldtr was included in January (by the caller): its closed months are owed, not delivered.
    ldtr = {period: state for (registration, period), (state, _) in by_cell.items()
            if registration == "ldtr"}  # fmt: skip
    assert ldtr["2026-01"] == "overdue" and "open" in ldtr.values()
    verdicts = browser.js(
        "Object.fromEntries([...document.querySelectorAll('p.legal')].map(p => "
        "[p.previousElementSibling.dataset.registration, p.dataset.verdict]))"
    )
    assert verdicts[delivered.registration] == "met"
    # Nothing delivered for ldtr: 2026 is "not yet due" until its deadline (1 April 2027).
    assert verdicts["ldtr"] == ("not yet due" if date.today() < date(2027, 4, 1) else "not met")
    assert browser.js("document.querySelectorAll('.legend li').length") == 7

    selector = (
        f"table.cal[data-registration='{delivered.registration}'] "
        f"td.cell[data-period='{delivered.period}']"
    )
    tip = f'document.querySelector("{selector} .tip")'
    assert browser.js(f"getComputedStyle({tip}).display") == "none"
    box = browser.js(
        f'(() => {{ const r = document.querySelector("{selector}").getBoundingClientRect();'
        " return [r.x + r.width / 2, r.y + r.height / 2] })()"
    )
    browser.call("Input.dispatchMouseEvent", type="mouseMoved", x=box[0], y=box[1])
    browser.wait_for(f"getComputedStyle({tip}).display === 'block'", seconds=10)
    hover = browser.js(f"{tip}.innerText")
    counts = ", ".join(f"{k} {v}" for k, v in sorted(delivered.record_counts.items()))
    assert f"records: {counts}" in hover
    assert f"excluded by opt-out: {delivered.excluded_optouts}" in hover
    assert delivered.receipt_id in hover
    return str(browser.js("[...document.querySelectorAll('table.cal, p.legal')]"
                          ".map(e => e.textContent).join('\\n')"))  # fmt: skip
