"""The Deliveries page: a calendar per registration, then periods with counts, reports, receipts.

A small FastAPI app that the Airflow plugin mounts under ``/deliveries`` in
the api-server. It reads the event log (through
:func:`aanlevering.projections.build_projections`, so it always shows what
the log says) and renders plain HTML; no patient data exists in what it
reads, and it shows only counts, periods, states and receipt ids. The
calendar at a glance (cells per period, the legal-minimum line) comes from
the library's renderer, :mod:`aanlevering.obligation.calendar_html`, which
``aanlevering status --format html`` uses too.

Plugin apps get no Airflow authentication by themselves, so every route
depends on an ``authenticate`` callable: in Airflow it is Airflow's own
``get_user`` (the JWT of the logged-in user, from the ``_token`` cookie the UI
sets or an ``Authorization: Bearer`` header); without a valid token the page
answers 401/403. A user sees a registration's rows (and its reports) only
when ``readable`` says they may read that registration's DAG: in Airflow, the
auth manager's ``filter_authorized_dag_ids``.

Only the registry holder's report (``validation-report.html``/``.json``,
which holds no values) is served, with ``Content-Security-Policy: sandbox``
and ``nosniff``: GX Data Docs show clinical values and are never served here
(they stay files for the hospital's engineers). Every cell is escaped.
"""

# No `from __future__ import annotations`: FastAPI resolves the local dependency alias at runtime.

import html
import json
from collections.abc import Callable, Collection, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from aanlevering.obligation.calendar_html import CALENDAR_CSS, calendar_html, legend_html
from aanlevering.obligation.calendar_view import calendars, withdrawing_retractions, withdrawn_by
from aanlevering.periods import run_day
from aanlevering.projections import TAKEN_RECORDS, may_have_arrived

if TYPE_CHECKING:
    from aanlevering.catalogue.loader import CatalogueInvalid

#: (user, registration ids) -> the ids whose DAG the user may read.
Readable = Callable[[Any, Collection[str]], Collection[str]]

#: The only files the page serves: the registry holder's report, which has no values.
REPORT_NAMES = frozenset({"validation-report.html", "validation-report.json"})

#: Headers on every answer; reports get a sandbox on top (no script, no form, no origin).
PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
REPORT_HEADERS = {**PAGE_HEADERS, "Content-Security-Policy": "sandbox"}

STATE_STYLE = {
    "delivered": "background:#d7f5dd",
    "overdue": "background:#ffd2cc;font-weight:bold",
    "due": "background:#fff3c4",
    "open": "background:#eef2f7",
    "not-owed": "color:#777",
    "blocked": "background:#e6d7f2;font-weight:bold",
    "lapsed": "background:#d7ccc8",
}


def deliveries_document(on: date | None = None) -> dict[str, Any]:
    """The projection document as of ``on`` (default today), fresh from the event log."""
    from aanlevering.catalogue.loader import load_loadable_catalogue
    from aanlevering.events.factory import open_event_store
    from aanlevering.projections import build_projections
    from aanlevering.settings import load_settings

    settings = load_settings()
    # One broken registration file must not blank the page for every other
    # registration; the page names it instead (decision 0474).
    catalogue, broken = load_loadable_catalogue(settings.catalogue_dir)
    with open_event_store(settings.event_store_url) as store:
        document = build_projections(store, catalogue, on or run_day())
    document[UNLOADABLE] = unloadable_files(broken, settings.catalogue_dir)
    return document


#: The document's list of catalogue files that do not load (names only).
UNLOADABLE = "unloadable_catalogue_files"


def unloadable_files(broken: "CatalogueInvalid | None", catalogue_dir: Path) -> list[str]:
    """The catalogue files that do not load, relative to the catalogue folder.

    Only the names: the problems themselves (a YAML excerpt, a path) stay in
    ``aanlevering registrations check``, which the page points to.
    """
    if broken is None:
        return []
    names = set()
    for problem in broken.problems:
        file = Path(problem.file)
        try:
            names.add(file.resolve().relative_to(catalogue_dir.resolve()).as_posix())
        except ValueError:
            names.add(file.name)
    return sorted(names)


def visible(document: dict[str, Any], allowed: Collection[str]) -> dict[str, Any]:
    """``document`` with only the registrations (and their deliveries) in ``allowed``."""
    return {
        **document,
        "registrations": {
            key: value for key, value in document["registrations"].items() if key in allowed
        },
        "deliveries": [e for e in document["deliveries"] if e.get("registration") in allowed],
    }


def _cell(value: object) -> str:
    return html.escape("-" if value is None else str(value))


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
        f"{CALENDAR_CSS}</style></head><body>",
        f"<h1>Deliveries</h1><p>As of {_cell(document['as_of'])}; "
        f"event log position {_cell(document['last_position'])}. Counts only: no patient data "
        "is shown or kept here.</p>",
        legend_html(),
    ]
    if document.get(UNLOADABLE):
        parts.append(
            "<p class='unloadable' style='background:#ffd2cc;padding:4px 8px'><b>Not shown: "
            "catalogue files that do not load</b> (their DAGs fail; run <code>aanlevering "
            "registrations check</code>): "
            + ", ".join(html.escape(name) for name in document[UNLOADABLE])
            + "</p>"
        )
    shown = {calendar.registration: calendar for calendar in calendars(document, only)}
    withdrawing = withdrawing_retractions(document["deliveries"])
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
        parts.extend(_without_legal_basis(document["deliveries"], registration_id))
        calendar = shown.get(registration_id)
        parts.append(calendar_html(calendar) if calendar else "")
        # A period the calendar shows blocked reads blocked in the table too.
        blocked = {c.period for c in calendar.cells if c.state == "blocked"} if calendar else set()
        parts.append(
            "<table><tr><th>period</th><th>status</th><th>due by</th><th>version</th>"
            "<th>records</th><th>excluded (opt-out)</th><th>accounting</th><th>validation</th>"
            "<th>receipt</th></tr>"
        )
        for period in registration["periods"]:
            entry = by_period.get((registration_id, period["period"]))
            state = "blocked" if period["period"] in blocked else period["state"]
            records = (
                ", ".join(f"{k}: {v}" for k, v in sorted(entry["record_counts"].items()))
                if entry
                else "-"
            )
            excluded = _cell(entry["excluded_optouts"] if entry else None)
            if entry and entry.get("taken"):  # never blank, never a known 0 (decision 0972)
                records, excluded = TAKEN_RECORDS, "unknown"
            report = _report_link(entry.get("validation_report") if entry else None, reports_dir)
            receipt = (
                f"{html.escape(entry['receipt_id'])} ({html.escape(str(entry['received_at']))})"
                if entry and entry.get("receipt_id")
                else (html.escape(entry["status"]) if entry else "-")
            )
            if entry and entry.get("taken"):  # other content, not the period's (0841)
                receipt = f"held with content this log does not know ({receipt})"
            retraction = withdrawn_by(entry, withdrawing)
            if retraction is not None:  # its receipt is not what the holder keeps (0792)
                receipt = f"withdrawn by the retraction v{retraction} ({receipt})"
            parts.append(
                f"<tr class='{html.escape(state)}' style='{STATE_STYLE.get(state, '')}'>"
                f"<td>{html.escape(period['period'])}</td><td>{html.escape(state)}</td>"
                f"<td>{html.escape(period['due_by'] or '-')}</td>"
                f"<td>{_cell(entry['version'] if entry else None)}</td>"
                f"<td>{html.escape(records)}</td>"
                f"<td>{excluded}</td>"
                f"<td>{html.escape(_accounting(entry))}</td>"
                f"<td>{report}</td>"
                f"<td>{receipt}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return "".join(parts)


#: Warnings above the calendar for one version, in this order: (row flag, which is also the
#: paragraph's class with dashes; background; marks; the text from the row).
_VERSION_WARNINGS: tuple[tuple[str, str, str, Callable[[dict[str, Any]], str]], ...] = (
    # Sent, then stopped before a receipt: the holder may hold it (decision 0752).
    ("sent_without_receipt", "#ffd2cc", "!!", may_have_arrived),
    # In an outbox, its upload not confirmed: not at the registry holder (decision 0794).
    ("not_confirmed", "#fff3b0", "!", lambda entry: str(entry["not_confirmed"])),
    # The receipt check refused the holder's answer: it may hold it (decision 0842).
    ("receipt_mismatch", "#ffd2cc", "!!", lambda entry: str(entry["receipt_mismatch"])),
    # Placed in an outbox, never confirmed, given up (decision 0843).
    ("abandoned", "#fff3b0", "!", lambda entry: str(entry["abandoned"])),
)


def _without_legal_basis(deliveries: list[dict[str, Any]], registration_id: str) -> list[str]:
    """A warning per version the holder keeps without a legal basis (decision 0645).

    Why: the engineer watches this page, not ``aanlevering status``; a
    rejection ingested after a delivery leaves the registry holder with data it
    may not keep, and only a retraction withdraws it, so the page says so above
    the calendar with the command that does it (as ``status`` does, 0644). The
    flag is read from every row, not only the period's latest version: a later
    version that failed does not withdraw the one the holder keeps.
    """
    return [
        "<p class='without-legal-basis' style='background:#ffd2cc;padding:4px 8px'><b>!! "
        f"{html.escape(str(entry['period']))} v{_cell(entry.get('version'))}: "
        f"{html.escape(str(entry['without_legal_basis']))}</b>; the registry holder holds it: "
        f"withdraw it with <code>aanlevering retract --registration "
        f"{html.escape(registration_id)} --period {html.escape(str(entry['period']))} "
        "--reason ...</code></p>"
        for entry in deliveries
        if entry.get("registration") == registration_id and entry.get("without_legal_basis")
    ] + [
        f"<p class='{flag.replace('_', '-')}' style='background:{background};padding:4px "
        f"8px'><b>{marks} {html.escape(str(entry['period']))} "
        f"v{_cell(entry.get('version'))}:</b> {html.escape(text(entry))}</p>"
        for flag, background, marks, text in _VERSION_WARNINGS
        for entry in deliveries
        if entry.get("registration") == registration_id and entry.get(flag)
    ]


def _accounting(entry: Mapping[str, Any] | None) -> str:
    """Read, without a pseudonym type, dropped, delivered: counts only ("-" for older versions)."""
    raw = entry.get("accounting") if entry else None
    if not raw:
        return "-"
    failed = ", ".join(f"{t} {v['patients']}" for t, v in raw["failed"].items() if v["patients"])
    outside = (
        f"outside the period {raw.get('outside_before', 0)} before, "
        f"{raw.get('outside_after', 0)} after, orphans {raw.get('orphans', 0)}; "
        if "records_in_source" in raw
        else ""
    )
    moved = ", ".join(f"{n} from {p}" for p, n in sorted((raw.get("moved_from") or {}).items()))
    unfollowable = ", ".join(
        f"{d} {n}" for d, n in sorted((raw.get("not_followable") or {}).items())
    )
    others = ", ".join(f"{d} {n}" for d, n in sorted((raw.get("other_patient") or {}).items()))
    unchecked = sorted(raw.get("unchecked_periods") or ())
    set_aside = "".join(  # FHIR copies and records entered in error, left out (0692)
        f"{what} left out: {', '.join(f'{d} {n}' for d, n in sorted(counts.items()))}; "
        for what, counts in (
            ("second copies", raw.get("duplicates") or {}),
            ("entered in error", raw.get("entered_in_error") or {}),
        )
        if counts
    )
    return (
        f"{set_aside}{outside}read {raw['records_read']}; without a type: {failed or 'none'}; "
        f"dropped {raw['dropped']}; delivered {raw['delivered']}"
        # Not delivered: refused, awaiting a receipt, or stopped (decisions 0696, 0751).
        + "".join(
            f"; {what} {raw[key]}"
            for key, what in (
                ("refused", "refused by the registry holder"),
                ("unreceipted", "awaiting the registry holder's receipt"),
                ("blocked", "blocked (the run was stopped)"),
            )
            if raw.get(key)
        )
        + (f" (moved: {moved})" if moved else "")
        + (f"; not followable across periods: {unfollowable}" if unfollowable else "")
        + (f"; linked resources of another patient left out: {others}" if others else "")
        + (f"; not checked against {', '.join(unchecked)}" if unchecked else "")
    )


def report_file(reports_dir: Path, path: str, allowed: Collection[str]) -> Path:
    """The report at ``path`` under ``reports_dir``; 404 for anything else.

    Served: ``<registration>/<period>/v<N>/validation-report.html|json`` of a
    registration in ``allowed``. Not served: Data Docs (they show values),
    other files, other registrations' reports, paths that leave the folder.
    """
    root = reports_dir.resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise HTTPException(status_code=404, detail="no such report")
    parts = target.relative_to(root).parts
    if len(parts) != 4 or parts[3] not in REPORT_NAMES or parts[0] not in allowed:
        raise HTTPException(status_code=404, detail="no such report")
    return target


def create_app(authenticate: Callable[..., Any], readable: Readable) -> FastAPI:
    """The page's app; every route requires ``authenticate`` to accept the request.

    ``readable`` narrows every answer to the registrations whose DAG the
    user may read; it is required, so no caller gets all rows by omission.
    """
    from aanlevering.settings import load_settings

    app = FastAPI(title="aanlevering deliveries")

    User = Annotated[Any, Depends(authenticate)]  # noqa: N806 - a type alias

    def allowed_for(user: Any, document: dict[str, Any]) -> set[str]:
        return set(readable(user, sorted(document["registrations"])))

    @app.get("/", response_class=HTMLResponse)
    def page(
        response: Response,
        user: User,
        dag_id: str | None = None,
        registration: str | None = None,
    ) -> str:
        only = registration or (dag_id.removeprefix("deliver-") if dag_id else None)
        document = deliveries_document()
        shown = visible(document, allowed_for(user, document))
        response.headers.update(PAGE_HEADERS)
        return render(shown, load_settings().reports_dir, only)

    @app.get("/api/deliveries.json")
    def document(user: User) -> JSONResponse:
        full = deliveries_document()
        shown = visible(full, allowed_for(user, full))
        return JSONResponse(json.loads(json.dumps(shown, default=str)), headers=PAGE_HEADERS)

    @app.get("/reports/{path:path}")
    def report(path: str, user: User) -> FileResponse:
        first = path.split("/", 1)[0]
        allowed = set(readable(user, [first]))
        target = report_file(load_settings().reports_dir, path, allowed)
        media = "text/html" if target.suffix == ".html" else "application/json"
        return FileResponse(target, media_type=media, headers=REPORT_HEADERS)

    return app
