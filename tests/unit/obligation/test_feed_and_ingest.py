"""Decision feeds in YAML, JSON and CSV; clear errors; idempotent recording in the event log."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import pytest

from aanlevering.errors import ConfigError
from aanlevering.obligation.feed import FeedInvalid, read_feed
from aanlevering.obligation.service import record_decisions
from aanlevering.obligation.status import RegisterState, load_status, load_statuses

DECISIONS = [
    {
        "registration": "nkr-borst",
        "decision": "included",
        "decided_on": "2026-03-01",
        "effective_from": "2026-03-01",
        "term_years": 5,
        "note": "ZIN-2026-014",
    },
    {"registration": "dica-dsaa", "decision": "rejected", "decided_on": "2026-04-15"},
    {"registration": "dica-dsaa", "decision": "objection-filed", "decided_on": "2026-05-01"},
    {
        "registration": "ldtr",
        "decision": "included",
        "decided_on": "2026-02-01",
        "until": "2029-02-01",
    },
]

CSV_FEED = (
    "registration;decision;decided_on;effective_from;term_years;until;note\n"
    "nkr-borst;included;01-03-2026;2026-03-01;5;;ZIN-2026-014\n"
    "dica-dsaa;rejected;2026-04-15;;;;\n"
    "dica-dsaa;objection-filed;2026-05-01;;;;\n"
    "ldtr;included;2026-02-01;;;2029-02-01;\n"
)


def write_feeds(folder: Path) -> dict[str, Path]:
    yaml_text = "decisions:\n" + "".join("  - " + json.dumps(item) + "\n" for item in DECISIONS)
    paths = {
        "yaml": folder / "decisions.yaml",
        "json": folder / "decisions.json",
        "csv": folder / "decisions.csv",
    }
    paths["yaml"].write_text(yaml_text, encoding="utf-8")
    paths["json"].write_text(json.dumps(DECISIONS), encoding="utf-8")
    paths["csv"].write_text(CSV_FEED, encoding="utf-8")
    return paths


@pytest.mark.parametrize("fmt", ["yaml", "json", "csv"])
def test_every_format_reads_the_same_decisions(tmp_path: Path, fmt: str) -> None:
    decisions = read_feed(str(write_feeds(tmp_path)[fmt]))
    assert [(d.registration, d.kind, d.decided_on) for d in decisions] == [
        ("nkr-borst", "included", date(2026, 3, 1)),
        ("dica-dsaa", "rejected", date(2026, 4, 15)),
        ("dica-dsaa", "objection-filed", date(2026, 5, 1)),
        ("ldtr", "included", date(2026, 2, 1)),
    ]
    assert decisions[0].term_years == 5 and decisions[0].note == "ZIN-2026-014"
    assert decisions[3].until == date(2029, 2, 1)


def test_comma_separated_csv_and_unsuffixed_files_are_recognised(tmp_path: Path) -> None:
    path = tmp_path / "feed.txt"
    path.write_text(CSV_FEED.replace(";", ","), encoding="utf-8")
    assert len(read_feed(str(path))) == 4
    path.write_text(json.dumps({"decisions": DECISIONS}), encoding="utf-8")
    assert len(read_feed(str(path))) == 4


def test_bad_csv_rows_are_all_reported_with_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "registration;decision;decided_on;term_years\n"
        "nkr-borst;included;2026-03-01;5\n"
        "nkr-borst;approved;2026-03-01;5\n"
        "ldtr;included;31-02-2026;5\n"
        "dica-dsaa;included;2026-03-01;\n"
        ";rejected;2026-03-01;\n",
        encoding="utf-8",
    )
    with pytest.raises(FeedInvalid) as error:
        read_feed(str(path))
    problems = error.value.problems
    assert problems == [
        "line 3, field decision: expected one of included, rejected, objection-filed, "
        "objection-upheld, objection-dismissed, withdrawn, term-expired",  # no value (0932)
        "line 4, field decided_on: expected a date like 2026-03-01 or 01-03-2026",
        "line 5, field term_years: an inclusion (included, objection-upheld) needs "
        "term_years or until",
        "line 6, field registration: required",
    ]
    assert str(path) in str(error.value)
    assert error.value.exit_code == 2


def test_yaml_entries_and_unknown_columns_are_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "- {registration: nkr-borst, decision: included, decided_on: 2026-03-01, term: 5}\n"
        "- just text\n",
        encoding="utf-8",
    )
    with pytest.raises(FeedInvalid) as error:
        read_feed(str(path))
    assert error.value.problems == [
        "entry 1: 1 unknown field name(s), expected only registration, decision, decided_on, "
        "effective_from, term_years, until, note",
        "entry 2: expected a mapping of fields",
    ]
    csv_path = tmp_path / "bad.csv"
    csv_path.write_text("registration,besluit,decided_on\n", encoding="utf-8")
    with pytest.raises(FeedInvalid, match="line 1, column 2: unknown column name, expected"):
        read_feed(str(csv_path))


def test_missing_feed_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        read_feed(str(tmp_path / "nope.yaml"))


def test_ingest_is_idempotent(tmp_path: Path, store) -> None:
    feeds = write_feeds(tmp_path)
    first = record_decisions(store, read_feed(str(feeds["yaml"])))
    position = store.last_position()

    again = record_decisions(store, read_feed(str(feeds["yaml"])))
    other_format = record_decisions(store, read_feed(str(feeds["csv"])))

    assert (first.appended, first.already_recorded) == (4, 0)
    assert (again.appended, again.already_recorded) == (0, 4)
    assert (other_format.appended, other_format.already_recorded) == (0, 4)
    assert store.last_position() == position == 4
    assert first.registrations == ("dica-dsaa", "ldtr", "nkr-borst")


def test_a_longer_feed_appends_only_the_new_decisions(tmp_path: Path, store) -> None:
    feeds = write_feeds(tmp_path)
    record_decisions(store, read_feed(str(feeds["json"])))
    longer = tmp_path / "longer.json"
    longer.write_text(
        json.dumps(
            [
                *DECISIONS,
                {
                    "registration": "dica-dsaa",
                    "decision": "objection-upheld",
                    "decided_on": "2026-06-20",
                    "term_years": 3,
                },
            ]
        ),
        encoding="utf-8",
    )
    result = record_decisions(store, read_feed(str(longer)))
    assert (result.appended, result.already_recorded) == (1, 4)
    status = load_status(store, "dica-dsaa")
    assert status.state_on(date(2026, 6, 1)) is RegisterState.IN_OBJECTION
    assert status.state_on(date(2026, 6, 20)) is RegisterState.INCLUDED


def test_a_changed_note_keeps_the_recorded_decision(tmp_path: Path, store, caplog) -> None:
    feeds = write_feeds(tmp_path)
    record_decisions(store, read_feed(str(feeds["json"])))
    changed = [dict(DECISIONS[0], note="ZIN-2026-014 (corrected)")]
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(changed), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        result = record_decisions(store, read_feed(str(path)))
    assert result.appended == 0
    assert "already recorded with other details" in caplog.text
    assert load_status(store, "nkr-borst").history[0].note == "ZIN-2026-014"


def test_statuses_are_projected_from_the_log(tmp_path: Path, store) -> None:
    record_decisions(store, read_feed(str(write_feeds(tmp_path)["csv"])))
    statuses = load_statuses(store)
    assert sorted(statuses) == ["dica-dsaa", "ldtr", "nkr-borst"]
    assert statuses["nkr-borst"].state_on(date(2026, 11, 1)) is RegisterState.INCLUDED
    assert statuses["dica-dsaa"].state_on(date(2026, 11, 1)) is RegisterState.IN_OBJECTION
    assert statuses["ldtr"].change_on(date(2026, 11, 1)).until == date(2029, 2, 1)  # type: ignore[union-attr]
    streams = {record.stream for record in store.read_all()}
    assert streams == {"register-nkr-borst", "register-dica-dsaa", "register-ldtr"}
