"""A register feed's errors name file, row and column and what was expected, never a value.

Decision 0932: the feed's module said it holds no patient data, so its errors
quoted values (``got '31-02-2026'``, an unknown column's name, ``until 1950-03-14
does not match ...``, a YAML error's copy of the line). A hospital-kept feed is
typed by hand and can hold anything in any column: a BSN, a date of birth or a
name typed in the wrong one went to the terminal and the Airflow task log. Each
case puts one such value in each column (and in a header, a key and a broken
line) and searches stdout, stderr, the log records, every file of the home and
the event log for it. Both backends, through ``aanlevering register ingest``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from aanlevering.cli.main import main
from aanlevering.events import open_event_store
from aanlevering.obligation.feed import FEED_FIELDS

BSN, BIRTH, BIRTH_ISO, NAME = "123456782", "14-03-1950", "1950-03-14", "Pieter Jansen"
#: A value and every form it could be quoted in.
VALUES = {"bsn": (BSN,), "birth date": (BIRTH, BIRTH_ISO, "1950, 3, 14"), "name": (NAME,)}
GOOD = {
    "registration": "nkr-borst",
    "decision": "included",
    "decided_on": "2026-03-01",
    "effective_from": "2026-03-01",
    "term_years": "5",
    "until": "",
    "note": "ZIN-2026-014",
}


@pytest.fixture
def home(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AANLEVERING_EVENT_STORE", store_url)
    monkeypatch.delenv("AANLEVERING_CATALOGUE", raising=False)
    return tmp_path / "home"


def _rows(value: str) -> list[dict[str, str]]:
    """A good row, then one row per column with ``value`` in that column."""
    return [dict(GOOD)] + [{**GOOD, column: value} for column in FEED_FIELDS]


def _write(feed: Path, rows: list[dict[str, str]]) -> None:
    if feed.suffix == ".csv":
        lines = [";".join(FEED_FIELDS)] + [";".join(r[c] for c in FEED_FIELDS) for r in rows]
        feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        feed.write_text(json.dumps({"decisions": rows}), encoding="utf-8")


def _ingest(
    feed: Path, home: Path, store_url: str, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> tuple[int, str]:  # fmt: skip
    """Exit code, and every text the ingest left: output, log records, files, event log."""
    caplog.set_level(logging.DEBUG)
    code = main(["register", "ingest", str(feed)])
    out, err = capsys.readouterr()
    files = [p.read_text("utf-8", "replace") for p in home.rglob("*") if p.is_file()]
    with open_event_store(store_url) as store:
        events = [f"{r.payload} {r.metadata}" for r in store.read_all()]
    return code, "\n".join([out, err, caplog.text, *files, *events])


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize("kind", list(VALUES))
def test_a_value_in_any_column_is_named_by_place_never_quoted(
    home: Path,
    store_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    fmt: str,
    kind: str,
) -> None:
    feed = tmp_path / f"besluiten.{fmt}"
    _write(feed, _rows(VALUES[kind][0]))
    code, left = _ingest(feed, home, store_url, capsys, caplog)
    assert code == 2, left[-3000:]
    assert str(feed) in left and "problem(s) in the decision feed" in left, left[-3000:]
    assert ", field registration:" in left  # named by file, row and column
    leaked = [form for form in VALUES[kind] if form.lower() in left.lower()]
    assert not leaked, (leaked, left[-3000:])


@pytest.mark.parametrize("place", ["csv header", "json key", "yaml line"])
def test_a_value_outside_the_columns_is_not_quoted_either(
    home: Path,
    store_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    place: str,
) -> None:
    if place == "csv header":
        feed = tmp_path / "besluiten.csv"
        feed.write_text(
            f"registration;decision;decided_on;{NAME}\nnkr-borst;rejected;2026-03-01;x\n"
        )
    elif place == "json key":
        feed = tmp_path / "besluiten.json"
        feed.write_text(json.dumps([{**GOOD, BSN: "x"}]))
    else:
        feed = tmp_path / "besluiten.yaml"
        feed.write_text(f"- registration: nkr-borst\n  decision: [{NAME} {BSN}\n  note: *{BSN}\n")
    code, left = _ingest(feed, home, store_url, capsys, caplog)
    assert code == 2, left[-3000:]
    assert str(feed) in left, left[-3000:]
    assert NAME.lower() not in left.lower() and BSN not in left, left[-3000:]
