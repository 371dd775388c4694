"""The calendar at a glance as HTML: one renderer for the Deliveries page and ``status``.

Why one renderer in the library: the page (Airflow plugin) and the command
must show the same cells, colours and legal-minimum line; both pass the
projection document (:mod:`.calendar_view` turns it into cells).

Server-side HTML only: no script and nothing fetched at run time (the CSS is
inline here), so it works under the page's ``default-src 'none'`` policy and
as a file opened from disk. Colour is never the only signal: every cell says
its state in words and the legend explains each. The hover detail (counts,
opt-out exclusions, receipt) is a CSS tooltip, also shown on keyboard focus
and linked with ``aria-describedby``. Every text is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from aanlevering.obligation.calendar_view import (
    STATE_MEANING,
    CellState,
    RegistrationCalendar,
    Verdict,
    calendars,
)

#: (background, border, text colour, mark) per state; marks repeat the state for colour-blind eyes.
STATE_COLOURS: Mapping[CellState, tuple[str, str, str, str]] = {
    CellState.DELIVERED: ("#c8e6c9", "#2e7d32", "#123d16", "\u2713"),
    CellState.DUE: ("#fff1b8", "#9a7400", "#3d2e00", "!"),
    CellState.OVERDUE: ("#ffcdd2", "#c62828", "#5c0b0b", "!!"),
    CellState.OPEN: ("#e3ecf7", "#4a6fa5", "#1d3357", "\u2026"),
    CellState.BLOCKED: ("#e6d7f2", "#6a1b9a", "#34084f", "\u2715"),
    CellState.LAPSED: ("#d7ccc8", "#5d4037", "#2e1f1a", "\u2013"),
    CellState.NOT_OWED: ("#f4f4f4", "#b0b0b0", "#555555", "\u00b7"),
}

VERDICT_CLASS: Mapping[Verdict, str] = {
    Verdict.MET: "lm-met",
    Verdict.NOT_MET: "lm-not-met",
    Verdict.NOT_YET_DUE: "lm-not-yet-due",
    Verdict.NOT_OWED: "lm-not-owed",
}

CALENDAR_CSS = (
    ".cal{border-collapse:separate;border-spacing:3px;margin:.3em 0 .2em}"
    ".cal th{font-weight:normal;color:#444;padding:2px 6px 2px 0;text-align:right;border:0}"
    ".cal td.cell{position:relative;border:2px solid;border-radius:4px;padding:2px 5px;"
    "min-width:3.2em;font-size:.85em;line-height:1.2;text-align:left;cursor:default}"
    ".cal td.cell b{display:block}"
    ".cal .tip{display:none;position:absolute;z-index:10;left:0;top:100%;width:22em;"
    "background:#222;color:#fff;padding:6px 8px;border-radius:4px;font-size:.85rem;"
    "white-space:normal;box-shadow:0 2px 6px rgba(0,0,0,.3)}"
    ".cal td.cell:hover .tip,.cal td.cell:focus .tip{display:block}"
    ".cal td.cell:focus{outline:3px solid #1a73e8}"
    ".legal{margin:.2em 0 1.2em;padding:4px 8px;border-left:5px solid #999;width:fit-content}"
    ".lm-met{border-color:#2e7d32;background:#eef8ee}"
    ".lm-not-met{border-color:#c62828;background:#fdeeee;font-weight:bold}"
    ".lm-not-yet-due{border-color:#9a7400;background:#fffaf0}"
    ".lm-not-owed{border-color:#b0b0b0;color:#555}"
    ".legend{display:flex;flex-wrap:wrap;gap:6px;list-style:none;padding:0;margin:.5em 0 1em}"
    ".legend li{border:2px solid;border-radius:4px;padding:2px 6px;font-size:.85em}"
    + "".join(
        f".s-{state.value}{{background:{bg};border-color:{border}!important;color:{fg}}}"
        for state, (bg, border, fg, _) in STATE_COLOURS.items()
    )
)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def legend_html() -> str:
    """The legend: every state with its colour, mark and meaning in words."""
    items = "".join(
        f"<li class='s-{state.value}'>{_e(STATE_COLOURS[state][3])} <b>{_e(state.value)}</b>: "
        f"{_e(meaning)}</li>"
        for state, meaning in STATE_MEANING.items()
    )
    return f"<ul class='legend' aria-label='calendar legend'>{items}</ul>"


def calendar_html(calendar: RegistrationCalendar) -> str:
    """One registration's calendar: a row of cells per year, then the legal-minimum line."""
    rows = []
    for year, cells in calendar.by_year():
        tds = []
        for cell in cells:
            tip_id = f"tip-{calendar.registration}-{cell.period}"
            mark = STATE_COLOURS[cell.state][3]
            tds.append(
                f"<td class='cell s-{_e(cell.state.value)}' tabindex='0' "
                f"data-period='{_e(cell.period)}' data-state='{_e(cell.state.value)}' "
                f"aria-describedby='{_e(tip_id)}'><b>{_e(cell.short)}</b>"
                f"{_e(mark)} {_e(cell.state.value)}"
                f"<span class='tip' role='tooltip' id='{_e(tip_id)}'>{_e(cell.hover())}</span></td>"
            )
        rows.append(f"<tr><th scope='row'>{_e(year)}</th>{''.join(tds)}</tr>")
    table = (
        f"<table class='cal' data-registration='{_e(calendar.registration)}' "
        f"aria-label='delivery calendar of {_e(calendar.registration)}'>{''.join(rows)}</table>"
        if rows
        else "<p>No periods yet.</p>"
    )
    minimum = calendar.legal_minimum
    line = (
        f"<p class='legal {VERDICT_CLASS[minimum.verdict]}' "
        f"data-verdict='{_e(minimum.verdict.value)}'>{_e(minimum.describe())}</p>"
    )
    return table + line


def calendar_page(document: Mapping[str, Any], only: str | None = None) -> str:
    """A whole HTML document with every registration's calendar (``status --format html``)."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Delivery calendar</title><style>",
        "body{font-family:sans-serif;margin:1em}h2{margin-bottom:.2em}",
        CALENDAR_CSS,
        "</style></head><body><h1>Delivery calendar</h1>",
        f"<p>As of {_e(document.get('as_of', '-'))}; event log position "
        f"{_e(document.get('last_position', '-'))}. Counts only: no patient data.</p>",
        legend_html(),
    ]
    for calendar in calendars(document, only):
        parts.append(
            f"<h2 id='{_e(calendar.registration)}'>{_e(calendar.name)} "
            f"<small>({_e(calendar.registration)}, {_e(calendar.frequency)})</small></h2>"
        )
        parts.append(calendar_html(calendar))
    parts.append("</body></html>")
    return "".join(parts)
