"""The Deliveries page: registrations x periods with status, counts, report links and receipts.

A small FastAPI app that the Airflow plugin mounts under ``/deliveries`` in
the api-server. It reads the event log (through
:func:`aanlevering.projections.build_projections`, so it always shows what
the log says) and renders plain HTML; no patient data exists in what it
reads, and it shows only counts, periods, states and receipt ids.

Plugin apps get no Airflow authentication by themselves, so every route
depends on an ``authenticate`` callable: in Airflow it is Airflow's own
``get_user`` (the JWT of the logged-in user, from the ``_token`` cookie the UI
sets or an ``Authorization: Bearer`` header); without a valid token the page
answers 401/403.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

STATE_STYLE = {
    "delivered": "background:#d7f5dd",
    "overdue": "background:#ffd2cc;font-weight:bold",
    "due": "background:#fff3c4",
    "open": "background:#eef2f7",
    "not-owed": "color:#777",
}


def deliveries_document(on: date | None = None) -> dict[str, Any]:
    """The projection document as of ``on`` (default today), fresh from the event log."""
    from aanlevering.catalogue import load_catalogue
    from aanlevering.events.factory import open_event_store
    from aanlevering.projections import build_projections
    from aanlevering.settings import load_settings

    settings = load_settings()
    catalogue = load_catalogue(settings.catalogue_dir)
    with open_event_store(settings.event_store_url) as store:
        return build_projections(store, catalogue, on or date.today())


def _report_link(report: str | None, reports_dir: Path) -> str:
    if not report:
        return "-"
    path = Path(report).with_suffix(".html")
    try:
        relative = path.resolve().relative_to(reports_dir.resolve())
    except ValueError:
        return "-"
    return f'<a href="reports/{html.escape(relative.as_posix())}">report</a>'


def render(document: dict[str, Any], reports_dir: Path, only: str | None = None) -> str:
    """HTML of the page; ``only`` limits it to one registration (the per-DAG tab)."""
    by_period: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in document["deliveries"]:
        if entry.get("kind", "delivery") == "delivery":
            by_period[(entry["registration"], entry["period"])] = entry  # latest version wins
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Deliveries</title>",
        "<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse;"
        "margin-bottom:2em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
        "</style></head><body>",
        f"<h1>Deliveries</h1><p>As of {html.escape(document['as_of'])}; "
        f"event log position {document['last_position']}. Counts only: no patient data "
        "is shown or kept here.</p>",
    ]
    for registration_id, registration in sorted(document["registrations"].items()):
        if only and registration_id != only:
            continue
        parts.append(
            f"<h2 id='{html.escape(registration_id)}'>{html.escape(registration['name'])} "
            f"<small>({html.escape(registration_id)}, "
            f"{html.escape(registration['registry_holder'])}, "
            f"{html.escape(registration['frequency'])}, {html.escape(registration['format'])})"
            f"</small></h2><p>Register: {html.escape(str(registration['register_state']))}; "
            f"may deliver: {'yes' if registration['may_deliver'] else 'no'}</p>"
        )
        parts.append(
            "<table><tr><th>period</th><th>status</th><th>due by</th><th>version</th>"
            "<th>records</th><th>excluded (opt-out)</th><th>validation</th><th>receipt</th></tr>"
        )
        for period in registration["periods"]:
            entry = by_period.get((registration_id, period["period"]))
            state = period["state"]
            records = (
                ", ".join(f"{k}: {v}" for k, v in sorted(entry["record_counts"].items()))
                if entry
                else "-"
            )
            report = _report_link(entry.get("validation_report") if entry else None, reports_dir)
            receipt = (
                f"{html.escape(entry['receipt_id'])} ({html.escape(str(entry['received_at']))})"
                if entry and entry.get("receipt_id")
                else (html.escape(entry["status"]) if entry else "-")
            )
            parts.append(
                f"<tr class='{html.escape(state)}' style='{STATE_STYLE.get(state, '')}'>"
                f"<td>{html.escape(period['period'])}</td><td>{html.escape(state)}</td>"
                f"<td>{html.escape(period['due_by'] or '-')}</td>"
                f"<td>{entry['version'] if entry else '-'}</td><td>{html.escape(records)}</td>"
                f"<td>{entry['excluded_optouts'] if entry else '-'}</td>"
                f"<td>{report}</td>"
                f"<td>{receipt}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return "".join(parts)


def create_app(authenticate: Callable[..., Any]) -> FastAPI:
    """The page's app; every route requires ``authenticate`` to accept the request."""
    from aanlevering.settings import load_settings

    app = FastAPI(title="aanlevering deliveries", dependencies=[Depends(authenticate)])

    @app.get("/", response_class=HTMLResponse)
    def page(dag_id: str | None = None, registration: str | None = None) -> str:
        only = registration or (dag_id.removeprefix("deliver-") if dag_id else None)
        return render(deliveries_document(), load_settings().reports_dir, only)

    @app.get("/api/deliveries.json")
    def document() -> JSONResponse:
        return JSONResponse(json.loads(json.dumps(deliveries_document(), default=str)))

    @app.get("/reports/{path:path}")
    def report(path: str) -> FileResponse:
        root = load_settings().reports_dir.resolve()
        target = (root / path).resolve()
        if not target.is_relative_to(root) or target.suffix not in {".html", ".json"}:
            raise HTTPException(status_code=404, detail="no such report")
        if not target.is_file():
            raise HTTPException(status_code=404, detail="no such report")
        return FileResponse(target)

    return app
