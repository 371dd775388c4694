"""The calendar at a glance: one cell per period and the legal-minimum line, from the projection.

Why a view over the projection document (and not over the event log): the
Deliveries page and ``aanlevering status`` already read that document, so
both show the same cells without projecting twice, and what they show can be
rebuilt from the log like every other read model. Cells hold counts, states,
dates and receipt ids only; nothing here can identify a patient.

A cell's state is the calendar's (:mod:`.calendar`), with one overlay:
an owed period that is not delivered and whose last run was stopped by
validation (or whose latest version the registry holder refused) is
``blocked``: waiting does not help, new data is needed. A cell not delivered
whose latest version was sent without a receipt and then stopped says it may
be at the registry holder (decisions 0752, 0791).

The legal minimum (Wkz, from 2026-01-01): at least one delivery per year.
Per calendar year with an obligation, the year is *met* when a period of
that year has a receipted delivery, *not met* when none has and the year's
deadline (its end plus the yearly grace, or the latest due date of its
periods if that is later) has passed, and *not yet due* before then.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from aanlevering.obligation.calendar import add_months
from aanlevering.obligation.rules import DEFAULT_GRACE_MONTHS
from aanlevering.obligation.run_outcomes import BLOCKING_OUTCOMES
from aanlevering.periods import run_day

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: The Wkz took effect on this day; no year before it is owed.
LEGAL_START = date(2026, 1, 1)


class CellState(StrEnum):
    """What a cell of the calendar shows (the calendar's states plus ``blocked``)."""

    DELIVERED = "delivered"
    DUE = "due"
    OVERDUE = "overdue"
    OPEN = "open"
    NOT_OWED = "not-owed"
    BLOCKED = "blocked"
    LAPSED = "lapsed"


#: Legend text per state, in the order the legend shows them.
STATE_MEANING: Mapping[CellState, str] = {
    CellState.DELIVERED: "a receipted delivery exists",
    CellState.DUE: "closed and owed, still within the grace",
    CellState.OVERDUE: "closed and owed, past the grace",
    CellState.OPEN: "owed, the period has not closed yet",
    CellState.BLOCKED: "the last run was blocked (validation or refused): new data needed",
    CellState.LAPSED: "owed but never delivered; delivery is no longer allowed",
    CellState.NOT_OWED: "no obligation for this period",
}


class Verdict(StrEnum):
    """The legal-minimum verdict for a year and for a registration."""

    MET = "met"
    NOT_MET = "not met"
    NOT_YET_DUE = "not yet due"
    NOT_OWED = "not owed"


@dataclass(frozen=True)
class Cell:
    """One period of one registration as the calendar shows it."""

    period: str
    state: CellState
    owed: bool
    due_by: str | None
    reason: str
    version: int | None = None
    records: Mapping[str, int] | None = None
    excluded_optouts: int | None = None
    receipt_id: str | None = None
    received_at: str | None = None
    #: The receipted retraction that withdrew ``version`` since (None: none did; 0792).
    withdrawn_by: int | None = None

    @property
    def year(self) -> int:
        """The calendar year of the period (labels start with it: ``2026-Q1``)."""
        return _int(self.period[:4]) or 0

    @property
    def short(self) -> str:
        """The label within its year: ``Q1``, ``Mar``, or the year itself."""
        within = self.period[5:]
        month = _int(within) if within.isdigit() else None
        if month is not None and 1 <= month <= 12:
            return MONTHS[month - 1]
        return within or self.period

    def hover(self) -> str:
        """The cell's detail: state, dates, counts, opt-out exclusions, receipt (no values)."""
        reason = "" if self.reason == self.state.value else self.reason
        parts = [f"{self.period}: {self.state.value}", reason]
        if self.due_by and self.state is not CellState.NOT_OWED:
            parts.append(f"due by {self.due_by}")
        if self.version is not None:
            parts.append(f"version {self.version}")
        if self.records is not None:
            counts = ", ".join(f"{name} {count}" for name, count in sorted(self.records.items()))
            parts.append(f"records: {counts or 'none'}")
        if self.excluded_optouts is not None:
            parts.append(f"excluded by opt-out: {self.excluded_optouts}")
        if self.withdrawn_by is not None:  # its receipt is no longer what the holder keeps
            parts.append(f"withdrawn by the retraction v{self.withdrawn_by}")
        elif self.receipt_id:
            parts.append(f"receipt {self.receipt_id} ({(self.received_at or '')[:10]})")
        return "; ".join(part for part in parts if part)


@dataclass(frozen=True)
class YearVerdict:
    """The legal minimum for one calendar year."""

    year: int
    verdict: Verdict
    delivered: int
    deadline: date | None

    def describe(self) -> str:
        """``2026 met (2 periods delivered)`` and the like."""
        if self.verdict is Verdict.MET:
            plural = "s" if self.delivered != 1 else ""
            return f"{self.year} met ({self.delivered} period{plural} delivered)"
        if self.verdict is Verdict.NOT_MET:
            return f"{self.year} NOT met (nothing delivered by {self.deadline})"
        if self.verdict is Verdict.NOT_YET_DUE:
            return f"{self.year} not yet due (deliver by {self.deadline})"
        return f"{self.year} not owed"


@dataclass(frozen=True)
class LegalMinimum:
    """Whether the registration meets "at least one delivery per year" since 2026."""

    verdict: Verdict
    years: tuple[YearVerdict, ...]
    yearly_flag: str | None = None

    def describe(self) -> str:
        """One line for people: the verdict, then each year."""
        if not self.years or all(y.verdict is Verdict.NOT_OWED for y in self.years):
            text = (
                "Legal minimum (one delivery per year since 2026-01-01): not owed (no obligation)"
            )
        else:
            years = "; ".join(y.describe() for y in self.years)
            text = (
                f"Legal minimum (one delivery per year since 2026-01-01): "
                f"{self.verdict.value.upper()}: {years}"
            )
        if self.yearly_flag:
            text += f". Warning: {self.yearly_flag}"
        return text


@dataclass(frozen=True)
class RegistrationCalendar:
    """The cells and the legal-minimum line of one registration."""

    registration: str
    name: str
    frequency: str
    cells: tuple[Cell, ...]
    legal_minimum: LegalMinimum

    def by_year(self) -> list[tuple[int, list[Cell]]]:
        """Cells grouped by calendar year, oldest first."""
        years: dict[int, list[Cell]] = {}
        for cell in self.cells:
            years.setdefault(cell.year, []).append(cell)
        return sorted(years.items())


def current_deliveries(deliveries: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Any]:
    """Per (registration, period): the receipted version if any, else the latest version.

    Retractions (``kind`` other than delivery) are left out: they are not a
    delivery of the period.
    """
    chosen: dict[tuple[str, str], Mapping[str, Any]] = {}
    for entry in deliveries:
        if entry.get("kind", "delivery") != "delivery":
            continue
        key = (str(entry["registration"]), str(entry["period"]))
        held = chosen.get(key)
        if held is None or _rank(entry) >= _rank(held):
            chosen[key] = entry
    return chosen


def withdrawing_retractions(deliveries: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], int]:
    """Per (registration, period): the version of its latest receipted version, if a retraction.

    Why: every delivery of such a period below that version is withdrawn; its
    receipt, shown as the period's, read as data the registry holder keeps
    (decision 0792). Periods whose latest receipted version is a delivery are absent.
    """
    latest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for entry in deliveries:
        if entry.get("status") != "receipted":
            continue
        key = (str(entry["registration"]), str(entry["period"]))
        held = latest.get(key)
        if held is None or (_int(entry.get("version")) or 0) >= (_int(held.get("version")) or 0):
            latest[key] = entry
    return {
        key: _int(entry.get("version")) or 0
        for key, entry in latest.items()
        if entry.get("kind", "delivery") == "retraction"
    }


def withdrawn_by(
    entry: Mapping[str, Any] | None, withdrawing: Mapping[tuple[str, str], int]
) -> int | None:
    """The retraction version that withdrew ``entry`` (a delivery row), None if it stands."""
    if entry is None:
        return None
    retraction = withdrawing.get((str(entry["registration"]), str(entry["period"])))
    version = _int(entry.get("version")) or 0
    return retraction if retraction is not None and version < retraction else None


def _rank(entry: Mapping[str, Any]) -> tuple[int, int]:
    # An unconfirmed hand-over (0794) or a version taken by other content (0841) is not
    # the period's delivery: its receipt is not shown as the period's.
    held = (
        entry.get("status") == "receipted"
        and not entry.get("not_confirmed")
        and not entry.get("taken")
    )
    return (1 if held else 0, _int(entry.get("version")) or 0)


def _int(value: Any) -> int | None:
    """An int from the document, None when it holds none (the page renders what it gets)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _state(value: Any) -> CellState:
    try:
        return CellState(value)
    except ValueError:
        return CellState.NOT_OWED


def latest_versions(deliveries: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Any]:
    """Per (registration, period): the highest version, whatever its status."""
    latest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for entry in deliveries:
        if entry.get("kind", "delivery") != "delivery":
            continue
        key = (str(entry["registration"]), str(entry["period"]))
        held = latest.get(key)
        if held is None or (_int(entry.get("version")) or 0) >= (_int(held.get("version")) or 0):
            latest[key] = entry
    return latest


def cell_for(
    registration: str,
    period: Mapping[str, Any],
    chosen: Mapping[tuple[str, str], Any],
    latest_by_period: Mapping[tuple[str, str], Any],
    withdrawing: Mapping[tuple[str, str], int] | None = None,
) -> Cell:
    """The cell of one period of the projection (see the module docstring for ``blocked``)."""
    state = _state(period["state"])
    reason = str(period.get("reason") or "")
    if state.value != period["state"]:
        reason = f"unknown state {period['state']}"
    key = (registration, str(period["period"]))
    entry = chosen.get(key)
    latest = latest_by_period.get(key)
    if state in (CellState.DUE, CellState.OVERDUE, CellState.OPEN):
        if period.get("last_run") in BLOCKING_OUTCOMES:
            state, reason = (
                CellState.BLOCKED,
                f"validation blocked the last run: new data is needed ({reason})",
            )
        elif (
            latest is not None
            and latest.get("status") == "rejected"
            and not latest.get("receipt_mismatch")  # not refused, see below (0842)
        ):
            state, reason = (
                CellState.BLOCKED,
                f"the registry holder refused version {latest.get('version')} ({reason})",
            )
    sent = (
        latest.get("sent_without_receipt")
        or latest.get("receipt_mismatch")  # 0842
        or latest.get("not_confirmed")
        or latest.get("abandoned")  # 0843
        or latest.get("other_content")  # 0841
        if latest is not None
        else None
    )
    if sent and state is not CellState.DELIVERED:  # "never delivered" is not known (0752, 0791)
        reason = f"{reason}; version {latest.get('version') if latest else ''}: {sent}"
    return Cell(
        period=key[1],
        state=state,
        owed=bool(period.get("owed", state is not CellState.NOT_OWED)),
        due_by=period.get("due_by"),
        reason=reason,
        version=_int(entry["version"]) if entry else None,
        records=dict(entry.get("record_counts") or {}) if entry else None,
        excluded_optouts=_int(entry.get("excluded_optouts") or 0) if entry else None,
        # A taken version's receipt is of content this log does not know: not the period's.
        receipt_id=entry.get("receipt_id") if entry and not entry.get("taken") else None,
        received_at=str(entry.get("received_at") or "") if entry else None,
        withdrawn_by=withdrawn_by(entry, withdrawing or {}),
    )


def legal_minimum(
    cells: Sequence[Cell],
    as_of: date,
    *,
    year_grace_months: int = DEFAULT_GRACE_MONTHS["year"],
    yearly_flag: str | None = None,
) -> LegalMinimum:
    """The legal-minimum verdict per year and overall (see the module docstring)."""
    years: list[YearVerdict] = []
    for year in range(max(LEGAL_START.year, min((c.year for c in cells), default=as_of.year)),
                      as_of.year + 1):  # fmt: skip
        in_year = [c for c in cells if c.year == year]
        owed = [c for c in in_year if c.owed]
        delivered = sum(1 for c in in_year if c.state is CellState.DELIVERED)
        if not owed and not delivered:
            years.append(YearVerdict(year, Verdict.NOT_OWED, 0, None))
            continue
        deadline = add_months(date(year + 1, 1, 1), year_grace_months)
        due_dates = [day for c in owed if (day := _day(c.due_by)) is not None]
        deadline = max([deadline, *due_dates])
        if delivered:
            verdict = Verdict.MET
        elif as_of >= deadline:
            verdict = Verdict.NOT_MET
        else:
            verdict = Verdict.NOT_YET_DUE
        years.append(YearVerdict(year, verdict, delivered, deadline))
    verdicts = {y.verdict for y in years}
    if Verdict.NOT_MET in verdicts:
        overall = Verdict.NOT_MET
    elif Verdict.MET in verdicts:
        overall = Verdict.MET
    elif Verdict.NOT_YET_DUE in verdicts:
        overall = Verdict.NOT_YET_DUE
    else:
        overall = Verdict.NOT_OWED
    return LegalMinimum(overall, tuple(years), yearly_flag)


def registration_calendar(
    registration: str, view: Mapping[str, Any], document: Mapping[str, Any]
) -> RegistrationCalendar:
    """The calendar of one registration of a projection document."""
    deliveries: Sequence[Mapping[str, Any]] = document.get("deliveries", [])
    chosen = current_deliveries(deliveries)
    latest = latest_versions(deliveries)
    withdrawing = withdrawing_retractions(deliveries)
    cells = tuple(
        cell_for(registration, p, chosen, latest, withdrawing) for p in view.get("periods", [])
    )
    yearly = view.get("yearly_check") or {}
    as_of = _day(document.get("as_of")) or run_day()
    return RegistrationCalendar(
        registration=registration,
        name=str(view.get("name", registration)),
        frequency=str(view.get("frequency", "")),
        cells=cells,
        legal_minimum=legal_minimum(
            cells, as_of, yearly_flag=yearly.get("reason") if yearly.get("flagged") else None
        ),
    )


def calendars(document: Mapping[str, Any], only: str | None = None) -> list[RegistrationCalendar]:
    """Every registration's calendar (or only one), sorted by id."""
    return [
        registration_calendar(registration, view, document)
        for registration, view in sorted(document.get("registrations", {}).items())
        if only is None or registration == only
    ]
