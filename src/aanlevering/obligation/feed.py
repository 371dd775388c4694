"""Read a feed of register decisions from a file or an HTTP(S) URL (YAML, JSON or CSV).

Zorginstituut Nederland publishes decisions; until a machine-readable feed
exists, the hospital keeps one itself. Every format carries the same fields:

``registration``   registration id (``nkr-borst``)
``decision``       one of :data:`~aanlevering.obligation.decisions.DECISION_KINDS`
``decided_on``     date of the decision (``2026-03-01`` or ``01-03-2026``)
``effective_from`` date it takes effect (optional, default ``decided_on``)
``term_years``     term of an inclusion in whole years (inclusions only)
``until``          first day the inclusion no longer holds (inclusions only)
``note``           free text, e.g. the case number ``ZIN-2026-014`` (optional; no patient data)

YAML/JSON: a list of such mappings, or a mapping with that list under
``decisions``. CSV: a header row with these names, separated by ``,`` or
``;``. Problems are collected over the whole feed and reported together, each
with the source, the row (CSV: line number; YAML/JSON: entry number) and the
field, and what was expected there, never the value (decision 0932): a feed the
hospital types by hand can hold a BSN, a birth date or a name in any column,
and an error goes to the terminal and the Airflow task log. Nor is an unknown
column or key quoted (named by its place), nor a line of broken YAML. A ``note``
that looks like it holds patient data (an MRN, a birth date) refuses the whole
feed, as a typed note is refused (decision 0902). A row's ``registration``
must be one the reader knows (``known``: the hospital's catalogue and the
registrations it confirmed, decision 0962): an id has no shape that tells
it from a surname typed in that column, and the event log keeps it for good.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Collection, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import requests
import yaml

from aanlevering import yaml_input
from aanlevering.errors import ConfigError
from aanlevering.obligation.decisions import (
    DECISION_KINDS,
    DecisionKind,
    InvalidDecision,
    RegisterDecision,
    to_event,
)
from aanlevering.tls import redirect_refusal

log = logging.getLogger(__name__)

FeedFormat = Literal["yaml", "json", "csv"]
FEED_FIELDS: tuple[str, ...] = (
    "registration",
    "decision",
    "decided_on",
    "effective_from",
    "term_years",
    "until",
    "note",
)
_REQUIRED = ("registration", "decision", "decided_on")
_SUFFIXES: Mapping[str, FeedFormat] = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".csv": "csv",
}
_DUTCH_DATE = re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})")
_MAX_LISTED = 50
HTTP_TIMEOUT = (5.0, 60.0)


class FeedInvalid(ConfigError):
    """The feed has problems; ``problems`` lists every one (source, row, field, what is wrong)."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        listed = "\n".join(f"  - {p}" for p in problems[:_MAX_LISTED])
        more = (
            f"\n  ... and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""
        )
        super().__init__(
            f"{len(problems)} problem(s) in the decision feed {source}:\n{listed}{more}"
        )


#: Why a row's registration is refused (decision 0962); the value is never quoted.
UNKNOWN_REGISTRATION = (
    "not a registration of this hospital's catalogue, nor one confirmed with "
    "--other-registration ID or AANLEVERING_REGISTER_OTHER_REGISTRATIONS (a name or other "
    "text typed in this column would stay in the event log for good); check the row, or "
    "confirm the registration id; nothing of the feed recorded"
)


def read_feed(source: str, *, known: Collection[str] | None = None) -> list[RegisterDecision]:
    """The decisions in ``source``: a local path or an ``http(s)://`` URL.

    ``known``: the registrations a row may name (the ingest passes the
    catalogue's and the confirmed ones; None checks only the id's shape).
    Raises :class:`ConfigError` when the source can not be read and
    :class:`FeedInvalid` listing every bad row.
    """
    if source.lower().startswith(("http://", "https://")):
        text, fmt = _download(source)
    else:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as error:
            raise ConfigError(f"decision feed {source}: cannot read: {error.strerror}") from error
        except UnicodeDecodeError as error:
            raise ConfigError(f"decision feed {source}: not UTF-8 text") from error
        fmt = _SUFFIXES.get(path.suffix.lower()) or _sniff(text)
    decisions = parse_feed(text, fmt, source, known=known)
    log.info("read %d decision(s) from the %s feed %s", len(decisions), fmt, source)
    return decisions


def _download(url: str) -> tuple[str, FeedFormat]:
    try:
        # No redirect is followed (decision 0402): the feed comes from the URL configured.
        response = requests.get(url, timeout=HTTP_TIMEOUT, allow_redirects=False)
    except requests.RequestException as error:
        raise ConfigError(f"decision feed {url}: cannot fetch ({type(error).__name__})") from error
    if 300 <= response.status_code < 400:
        raise ConfigError(
            f"decision feed {url}: " + redirect_refusal("its server", "the request", response)
        )
    if response.status_code != 200:
        raise ConfigError(f"decision feed {url}: HTTP {response.status_code}, expected 200")
    try:
        text = response.content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(f"decision feed {url}: the response is not UTF-8 text") from error
    suffix = Path(urlsplit(url).path).suffix.lower()
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    fmt = _SUFFIXES.get(suffix) or _from_content_type(content_type) or _sniff(text)
    return text, fmt


def _from_content_type(content_type: str) -> FeedFormat | None:
    if content_type.endswith("json"):
        return "json"
    if content_type.endswith("csv"):
        return "csv"
    if "yaml" in content_type:
        return "yaml"
    return None


def _sniff(text: str) -> FeedFormat:
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        return "json"
    first = stripped.splitlines()[0] if stripped else ""
    if "registration" in first and ("," in first or ";" in first) and ":" not in first:
        return "csv"
    return "yaml"


def parse_feed(
    text: str, fmt: FeedFormat, source: str, *, known: Collection[str] | None = None
) -> list[RegisterDecision]:
    """Parse feed ``text`` of format ``fmt``; ``source`` names it in errors.

    A row naming a registration outside ``known`` (when given) is a problem of
    the feed, which is then refused whole (decision 0962).
    """
    rows = _csv_rows(text, source) if fmt == "csv" else _document_rows(text, fmt, source)
    decisions: list[RegisterDecision] = []
    problems: list[str] = []
    for where, row in rows:
        try:
            decision = _decision(row)
            to_event(decision)  # full check (terms, until) now, not at append time
            if known is not None and decision.registration not in known:
                raise InvalidDecision("registration", UNKNOWN_REGISTRATION)
            decisions.append(decision)
        except InvalidDecision as error:
            problems.append(f"{where}, field {error.field}: {error.problem}")
    if problems:
        raise FeedInvalid(source, problems)
    return decisions


def _csv_rows(text: str, source: str) -> list[tuple[str, Mapping[str, Any]]]:
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise FeedInvalid(source, ["line 1: expected a header row with " + ", ".join(FEED_FIELDS)])
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [name.strip().lower() for name in next(reader)]
    unknown = [name for name in header if name not in FEED_FIELDS]
    missing = [name for name in _REQUIRED if name not in header]
    if unknown or missing:
        problems = [
            f"line 1, column {index}: unknown column name, expected one of "
            + ", ".join(FEED_FIELDS)
            for index, name in enumerate(header, start=1)
            if name not in FEED_FIELDS
        ]
        problems += [f"line 1: missing column {name!r}" for name in missing]
        raise FeedInvalid(source, problems)
    rows: list[tuple[str, Mapping[str, Any]]] = []
    for values in reader:
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(header):
            raise FeedInvalid(
                source,
                [f"line {line}: expected {len(header)} fields separated by {delimiter!r}, "
                 f"found {len(values)}"],
            )  # fmt: skip
        rows.append((f"line {line}", dict(zip(header, values, strict=True))))
    return rows


def _document_rows(text: str, fmt: FeedFormat, source: str) -> list[tuple[str, Mapping[str, Any]]]:
    try:
        data = json.loads(text) if fmt == "json" else yaml_input.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise FeedInvalid(source, [f"not valid {fmt.upper()}{_position(error)}"]) from None
    if isinstance(data, Mapping):
        data = data.get("decisions")
    if not isinstance(data, list):
        raise FeedInvalid(
            source, ["expected a list of decisions (or a mapping with a 'decisions' list)"]
        )
    rows: list[tuple[str, Mapping[str, Any]]] = []
    problems: list[str] = []
    for index, item in enumerate(data, start=1):
        if not isinstance(item, Mapping):
            problems.append(f"entry {index}: expected a mapping of fields")
            continue
        unknown = [k for k in item if k not in FEED_FIELDS]
        if unknown:
            problems.append(
                f"entry {index}: {len(unknown)} unknown field name(s), expected only "
                + ", ".join(FEED_FIELDS)
            )
            continue
        rows.append((f"entry {index}", item))
    if problems:
        raise FeedInvalid(source, problems)
    return rows


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(row: Mapping[str, Any], name: str) -> str | None:
    value = row.get(name)
    if _blank(value):
        return None
    if not isinstance(value, str):
        raise InvalidDecision(name, "expected text")
    return value.strip()


def _position(error: Exception) -> str:
    """Where a JSON or YAML document broke (line, column), never its text."""
    if isinstance(error, json.JSONDecodeError):
        return f" at line {error.lineno}, column {error.colno}"
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    if mark is not None:
        return f" at line {mark.line + 1}, column {mark.column + 1}"
    return ""


def parse_date(value: Any, name: str) -> date | None:
    """A date from ISO ``2026-03-01`` or Dutch ``01-03-2026`` text (or a YAML date)."""
    if _blank(value):
        return None
    if isinstance(value, datetime):
        raise InvalidDecision(name, "expected a date without a time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if match := _DUTCH_DATE.fullmatch(text):
                return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
            return date.fromisoformat(text) if len(text) == 10 else _fail(name, value)
        except ValueError:
            pass
    return _fail(name, value)


def _fail(name: str, value: Any) -> date:
    raise InvalidDecision(name, "expected a date like 2026-03-01 or 01-03-2026")


def _int(value: Any, name: str) -> int | None:
    if _blank(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise InvalidDecision(name, "expected a whole number of years")


def _decision(row: Mapping[str, Any]) -> RegisterDecision:
    for name in _REQUIRED:
        if _blank(row.get(name)):
            raise InvalidDecision(name, "required")
    registration = cast(str, _text(row, "registration"))
    kind = cast(str, _text(row, "decision")).lower()
    if kind not in DECISION_KINDS:
        raise InvalidDecision("decision", f"expected one of {', '.join(DECISION_KINDS)}")
    decided_on = parse_date(row.get("decided_on"), "decided_on")
    assert decided_on is not None
    return RegisterDecision(
        registration=registration,
        kind=cast(DecisionKind, kind),
        decided_on=decided_on,
        effective_from=parse_date(row.get("effective_from"), "effective_from"),
        term_years=_int(row.get("term_years"), "term_years"),
        until=parse_date(row.get("until"), "until"),
        note=_text(row, "note") or "",
    )
