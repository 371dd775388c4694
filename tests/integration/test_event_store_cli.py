"""``aanlevering events tail`` shows the log readably, for known and unknown event types."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from aanlevering.cli.main import main
from aanlevering.events import open_event_store
from aanlevering.pseudonym.patient_ref import PatientRefHasher
from support.event_examples import ExampleDeliveryReceipted, ExampleOptOutRegistered

BSN = "123456782"


def receipt(n: int) -> ExampleDeliveryReceipted:
    return ExampleDeliveryReceipted(
        registration="nkr-borst",
        period="2026",
        receipt_id=f"rcpt-{n}",
        record_count=n,
        occurred_at=datetime(2026, 3, 1, 10, n, tzinfo=UTC),
    )


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    monkeypatch.setenv("AANLEVERING_EVENT_STORE", url)
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    return url


@pytest.fixture
def filled(store_url: str, tmp_path: Path) -> str:
    hasher = PatientRefHasher(b"cli-test-key-0123456789abcdef!!")
    with open_event_store(store_url) as store:
        store.append("delivery-nkr-borst-2026", [receipt(1), receipt(2), receipt(3)], 0)
        opt_out = ExampleOptOutRegistered(
            patient_ref=hasher.ref(BSN, scheme="bsn"), registered_on=date(2027, 1, 4)
        )
        store.append("optout-register", [opt_out], 0)
    # A fact written by a newer release, of a type this code does not know.
    connection = sqlite3.connect(store_url.removeprefix("sqlite:///"))
    with connection:
        connection.execute(
            "INSERT INTO event_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                5,
                "f1b1c7de-4c1e-4bb1-9d64-7b5dbd1e0001",
                "future-stream",
                1,
                "future.SomethingHappened",
                3,
                "2026-04-01T00:00:00+00:00",
                "2026-04-01T00:00:00+00:00",
                '{"colour":"green"}',
                "{}",
            ),
        )
    connection.close()
    return store_url


def test_tail_prints_the_latest_events_oldest_first(
    filled: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["events", "tail"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5
    assert lines[0] == (
        "      1  2026-03-01T10:01:00Z  delivery-nkr-borst-2026@1  examples.DeliveryReceipted v2  "
        '{"period":"2026","pseudonym_types":[],"receipt_id":"rcpt-1","received_on":null,'
        '"record_count":1,"registration":"nkr-borst"}'
    )
    assert [line.split()[0] for line in lines] == ["1", "2", "3", "4", "5"]
    assert lines[3].split()[2:4] == ["optout-register@1", "examples.OptOutRegistered"]
    assert lines[4].split()[2:5] == ["future-stream@1", "future.SomethingHappened", "v3"]
    assert lines[4].endswith('{"colour":"green"}')


def test_tail_limits_and_filters_by_stream(filled: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "tail", "--limit", "2"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["4", "5"]
    assert main(["events", "tail", "--stream", "delivery-nkr-borst-2026", "--limit", "2"]) == 0
    assert [line.split()[2] for line in capsys.readouterr().out.splitlines()] == [
        "delivery-nkr-borst-2026@2",
        "delivery-nkr-borst-2026@3",
    ]


def test_tail_json_gives_one_full_record_per_line(
    filled: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["events", "tail", "--json", "--stream", "optout-register"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    assert record["event_type"] == "examples.OptOutRegistered"
    assert record["position"] == 4 and record["version"] == 1
    assert record["payload"]["patient_ref"].startswith("pr_")
    assert record["occurred_at"].endswith("+00:00")


def test_tail_output_holds_patient_refs_never_identifiers(
    filled: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["events", "tail", "--json"]) == 0
    main(["events", "tail"])
    output = capsys.readouterr().out
    assert "pr_" in output
    assert BSN not in output


def test_tail_of_an_empty_log_says_so(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "tail"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "(no events)" in captured.err


def test_a_limit_below_one_is_a_usage_error(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["events", "tail", "--limit", "0"])
    assert exited.value.code == 2
    assert "at least 1" in capsys.readouterr().err


def test_an_unusable_store_url_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AANLEVERING_EVENT_STORE", "mysql://db/events")
    assert main(["events", "tail"]) == 2
    assert "unsupported scheme 'mysql'" in capsys.readouterr().err


@pytest.mark.postgres
def test_the_installed_command_tails_a_postgresql_log(
    postgres_schema_url: str, tmp_path: Path
) -> None:
    with open_event_store(postgres_schema_url) as store:
        store.append("delivery-nkr-borst-2026", [receipt(1), receipt(2)], 0)
    done = subprocess.run(
        [sys.executable, "-m", "aanlevering.cli.main", "events", "tail", "--limit", "1"],
        env={
            "AANLEVERING_EVENT_STORE": postgres_schema_url,
            "AANLEVERING_HOME": str(tmp_path),
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[:4] == [
        "2",
        "2026-03-01T10:02:00Z",
        "delivery-nkr-borst-2026@2",
        "examples.DeliveryReceipted",
    ]
