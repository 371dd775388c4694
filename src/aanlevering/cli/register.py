"""``aanlevering register ingest | status | decide | calendar``: register decisions and obligation.

``ingest FILE_OR_URL`` records a decision feed (YAML, JSON or CSV) in the event
log; re-ingesting the same feed appends nothing. ``status`` prints per
registration its register state, since when, and whether it may deliver on
the day. ``decide`` records one decision by hand. ``calendar`` lists the
delivery periods with their state (owed, due, overdue, delivered).
"""

from __future__ import annotations

import argparse
import os
from datetime import date
from pathlib import Path

from aanlevering.catalogue import Catalogue, RegistrationConfig, load_catalogue
from aanlevering.errors import ConfigError, NoObligation
from aanlevering.events import open_event_store
from aanlevering.obligation.calendar import StaticLedger, delivery_calendar
from aanlevering.obligation.decisions import DECISION_KINDS, REGISTRATION_ID, RegisterDecision
from aanlevering.obligation.feed import read_feed
from aanlevering.obligation.freshness import record_feed_read
from aanlevering.obligation.permission import may_deliver
from aanlevering.obligation.rules import load_calendar_rules
from aanlevering.obligation.service import record_decisions
from aanlevering.obligation.status import RegistrationStatus, load_status, load_statuses
from aanlevering.operator_text import checked_operator_text
from aanlevering.periods import Period, run_day
from aanlevering.pseudonym.key_continuity import check_one_provider
from aanlevering.settings import Settings, load_settings
from aanlevering.shown_names import shown_text

OTHER_REGISTRATIONS_SETTING = "AANLEVERING_REGISTER_OTHER_REGISTRATIONS"
ID_EXPECTED = (
    "expected a registration id of lowercase letters, digits and '-' starting with a letter "
    "(like nkr-borst)"
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``register`` command group."""
    parser = subparsers.add_parser(
        "register", help="register decisions, delivery obligation and calendar"
    )
    parser.add_argument("--catalogue", help="catalogue folder (default: $AANLEVERING_CATALOGUE)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    ingest = actions.add_parser("ingest", help="record a decision feed (file or http(s) URL)")
    ingest.add_argument("source", metavar="FILE_OR_URL")
    ingest.add_argument(
        "--other-registration",
        action="append",
        default=[],
        type=_registration_id,
        metavar="ID",
        help="a registration the feed may name that is not in this hospital's catalogue "
        "(repeatable; also AANLEVERING_REGISTER_OTHER_REGISTRATIONS, comma-separated): a row "
        "naming any other registration refuses the whole feed, nothing recorded",
    )
    ingest.set_defaults(handler=_ingest)

    status = actions.add_parser("status", help="register state and permission per registration")
    status.add_argument("--registration", metavar="ID", help="only this registration")
    status.add_argument("--on", type=_date, help="the day to judge (default: today)")
    status.add_argument("--history", action="store_true", help="also print every decision")
    status.add_argument(
        "--check",
        action="store_true",
        help="with --registration: exit 3 when it may not deliver on the day",
    )
    status.set_defaults(handler=_status)

    decide = actions.add_parser("decide", help="record one decision by hand")
    decide.add_argument("--registration", metavar="ID", required=True)
    decide.add_argument("--decision", choices=DECISION_KINDS, required=True)
    decide.add_argument("--decided-on", type=_date, required=True, metavar="DATE")
    decide.add_argument("--effective-from", type=_date, metavar="DATE")
    term = decide.add_mutually_exclusive_group()
    term.add_argument("--term-years", type=int, metavar="N")
    term.add_argument("--until", type=_date, metavar="DATE", help="first day no longer included")
    decide.add_argument(
        "--note",
        default="",
        help="a short note, kept in the event log for good: no patient data (no name, "
        "number of five digits or more, date, postcode, phone or e-mail; a case number "
        "such as ZIN-2026-014 passes)",
    )
    decide.set_defaults(handler=_decide)

    calendar = actions.add_parser("calendar", help="delivery periods and their state")
    calendar.add_argument("--registration", metavar="ID", help="only this registration")
    calendar.add_argument("--on", type=_date, help="the day to judge (default: today)")
    calendar.add_argument(
        "--delivered",
        action="append",
        default=[],
        metavar="ID:PERIOD",
        help="a delivered period until the delivery ledger is wired (repeatable)",
    )
    calendar.set_defaults(handler=_calendar)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-03-01, got {text!r}") from None


def _registration_id(text: str) -> str:
    """An ``--other-registration`` value: the shape of a registration id, never quoted back."""
    if not REGISTRATION_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(ID_EXPECTED)
    return text


def other_registrations() -> set[str]:
    """The registrations of ``AANLEVERING_REGISTER_OTHER_REGISTRATIONS`` (comma-separated).

    Why a setting: the scheduled ingest (``ingest-register-decisions``) reads
    Zorginstituut's feed, which names registrations this hospital does not
    deliver; it confirms them here once (decision 0962). A value that is no
    registration id is refused by its place in the list, never quoted.
    """
    text = os.environ.get(OTHER_REGISTRATIONS_SETTING, "")
    ids = [part.strip() for part in text.replace(";", ",").split(",")]
    for place, value in enumerate(ids, start=1):
        if value and not REGISTRATION_ID.fullmatch(value):
            raise ConfigError(
                f"{OTHER_REGISTRATIONS_SETTING}, item {place}: {ID_EXPECTED}; nothing recorded"
            )
    return {value for value in ids if value}


def _catalogue(args: argparse.Namespace, settings: Settings) -> Catalogue:
    return load_catalogue(str(args.catalogue or settings.catalogue_dir))


def _ingest(args: argparse.Namespace) -> int:
    settings = load_settings()
    known = _catalogue_ids(str(args.catalogue or settings.catalogue_dir))
    known |= set(args.other_registration) | other_registrations()  # confirmed (0962)
    decisions = read_feed(args.source, known=known)
    with open_event_store(settings.event_store_url) as store:
        check_one_provider(store, settings.provider_id)  # decision 0452
        result = record_decisions(
            store,
            decisions,
            metadata={"actor": "register ingest", "source": shown_text(args.source)},
        )
        record_feed_read(store, len(decisions))  # runs ask how current this is (0643)
    print(
        f"{len(decisions)} decision(s) read: {result.appended} recorded, "
        f"{result.already_recorded} already in the log "
        f"({len(result.registrations)} registration(s))"
    )
    return 0


def _decide(args: argparse.Namespace) -> int:
    settings = load_settings()
    _check_known(str(args.catalogue or settings.catalogue_dir), args.registration)
    decision = RegisterDecision(
        registration=args.registration,
        kind=args.decision,
        decided_on=args.decided_on,
        effective_from=args.effective_from,
        term_years=args.term_years,
        until=args.until,
        note=checked_operator_text(args.note, "--note", required=False),  # 0882
    )
    with open_event_store(settings.event_store_url) as store:
        check_one_provider(store, settings.provider_id)  # decision 0452
        result = record_decisions(store, [decision], metadata={"actor": "register decide"})
        status = load_status(store, args.registration)
    what = "recorded" if result.appended else "already in the log; nothing recorded"
    print(f"{args.registration}: {args.decision} of {args.decided_on} {what}")
    change = status.change_on(args.effective_from or args.decided_on)
    if change is not None:
        print(f"{args.registration}: {change.describe()}")
    return 0


def _check_known(catalogue_dir: str, registration: str) -> None:
    """Refuse a decision by hand for a registration the catalogue does not have.

    Why: the log is append-only, so a typo (``dsaa-zud``) stays in it for good,
    and the run of the real registration says only that no decision exists. A
    registration whose file does not load is still known (the register does not
    depend on the file); the feed (``register ingest``) also records the
    registrations the hospital confirmed it may name (decision 0962).
    """
    known = _catalogue_ids(catalogue_dir)
    if registration not in known:
        raise ConfigError(
            f"registration {registration!r} is not in the catalogue {catalogue_dir} (known: "
            f"{', '.join(sorted(known)) or 'none'}); nothing recorded: a decision stays in the "
            "append-only log for good. Decisions about registrations this hospital does not "
            "deliver come with the feed (`register ingest`)"
        )


def _catalogue_ids(catalogue_dir: str) -> set[str]:
    """The catalogue's registrations, those whose file does not load included."""
    from aanlevering.catalogue.loader import load_registrations

    registrations, problems = load_registrations(catalogue_dir)
    return set(registrations) | {
        Path(p.file).stem for p in problems if Path(p.file).parent.name == "registrations"
    }


def _status(args: argparse.Namespace) -> int:
    settings = load_settings()
    on = args.on or run_day()
    catalogue = _catalogue(args, settings)
    with open_event_store(settings.event_store_url) as store:
        if args.registration:
            statuses = {args.registration: load_status(store, args.registration)}
        else:
            statuses = load_statuses(store)
    ids = (
        [args.registration]
        if args.registration
        else sorted(set(statuses) | set(catalogue.registrations))
    )
    refused: str | None = None
    for registration in ids:
        status = statuses.get(registration, RegistrationStatus(registration))
        change = status.change_on(on)
        state = status.state_on(on)
        since = f"since {change.since}" if change else "no decision yet"
        until = f"until {change.until}" if change and change.until else "-"
        config = catalogue.registrations.get(registration)
        if config is None:
            verdict = "may deliver: n/a (not in this hospital's catalogue)"
        else:
            decision = may_deliver(config, status, on)
            verdict = f"may deliver on {on}: {'yes' if decision else 'no'} ({decision.reason})"
            if not decision.allowed:
                refused = f"registration {registration}: may not deliver on {on}: {decision.reason}"
        print(f"{registration}\t{state}\t{since}\t{until}\t{verdict}")
        if args.history:
            for item in status.timeline():
                print(f"  {item.describe()}" + (f" - {item.note}" if item.note else ""))
    if args.check:
        if not args.registration:
            raise ConfigError("register status --check needs --registration")
        if refused is not None:
            raise NoObligation(refused)
    return 0


def _ledger(values: list[str]) -> StaticLedger:
    delivered: dict[str, set[str]] = {}
    for value in values:
        registration, _, label = value.partition(":")
        if not registration or not label:
            raise ConfigError(f"--delivered {value!r}: expected ID:PERIOD, like nkr-borst:2026")
        delivered.setdefault(registration, set()).add(Period.parse(label).label)
    return StaticLedger({k: frozenset(v) for k, v in delivered.items()})


def _calendar(args: argparse.Namespace) -> int:
    settings = load_settings()
    on = args.on or run_day()
    catalogue = _catalogue(args, settings)
    rules = load_calendar_rules(settings)
    ledger = _ledger(args.delivered)
    configs: list[RegistrationConfig] = (
        [catalogue.get(args.registration)] if args.registration else list(catalogue)
    )
    with open_event_store(settings.event_store_url) as store:
        for config in configs:
            status = load_status(store, config.id)
            calendar = delivery_calendar(config, status, ledger, on, rules)
            flag = "FLAGGED" if calendar.yearly.flagged else "ok"
            print(
                f"{config.id}\t{config.frequency}\tyearly check: {flag} ({calendar.yearly.reason})"
            )
            for entry in calendar.entries:
                due = f"due by {entry.due_by}" if entry.due_by else "-"
                print(f"  {entry.period.label}\t{entry.state}\t{due}\t{entry.reason}")
    return 0
