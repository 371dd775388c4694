"""``optout ingest`` records when the export was taken, and refuses an empty or truncated one.

Decisions 0475 (a run needs a recent export) and 0476 (a shrunken export is
refused unless confirmed). Real SQLite event log through the CLI.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from optout_support import MRNS, optouts_csv

from aanlevering.cli.main import main
from aanlevering.events import open_event_store
from aanlevering.optout.events import INGESTS_STREAM, OptOutsIngested
from aanlevering.optout.ingests import newest_snapshot
from aanlevering.optout.register import OptOutRegister
from aanlevering.settings import load_settings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    for name in ("AANLEVERING_EVENT_STORE", "AANLEVERING_OPTOUT_RULES"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


def _ingests() -> list[OptOutsIngested]:
    with open_event_store(load_settings().event_store_url) as store:
        facts = [r.to_event() for r in store.read_stream(INGESTS_STREAM)]
    return [f for f in facts if isinstance(f, OptOutsIngested)]


def _full_export(tmp_path: Path) -> Path:
    return optouts_csv(
        tmp_path / "optouts.csv",
        [f"{mrn};15-01-2027;all;" for mrn in MRNS],
    )


def test_an_ingest_records_the_exports_time_and_counts_never_who(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = _full_export(tmp_path)
    taken = datetime(2026, 12, 4, 5, 30, tzinfo=UTC)
    os.utime(export, (taken.timestamp(), taken.timestamp()))

    assert main(["optout", "ingest", str(export)]) == 0

    assert "export taken 2026-12-04 05:30 UTC" in capsys.readouterr().out
    [fact] = _ingests()
    assert (fact.source, fact.entries, fact.patients) == ("ehr-csv", 4, 4)
    assert datetime.fromisoformat(fact.snapshot_taken_at) == taken
    with open_event_store(load_settings().event_store_url) as store:
        stored = str([r.payload for r in store.read_stream(INGESTS_STREAM)])
    assert not any(mrn in stored for mrn in MRNS)
    assert main(["optout", "list"]) == 0
    assert "newest export ingested: taken 2026-12-04 05:30 UTC" in capsys.readouterr().out


def test_the_data_engineer_may_state_when_the_export_was_taken(home: Path, tmp_path: Path) -> None:
    export = _full_export(tmp_path)

    code = main(["optout", "ingest", str(export), "--snapshot-taken-at", "2026-12-05T06:00+01:00"])

    assert code == 0
    [fact] = _ingests()
    assert datetime.fromisoformat(fact.snapshot_taken_at) == datetime(2026, 12, 5, 5, 0, tzinfo=UTC)


def test_a_snapshot_time_in_the_future_is_refused(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = _full_export(tmp_path)
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()

    assert main(["optout", "ingest", str(export), "--snapshot-taken-at", later]) == 2

    assert "lies in the future" in capsys.readouterr().err
    assert _ingests() == []


@pytest.mark.parametrize("rows", [0, 1], ids=["empty", "truncated"])
def test_a_shrunken_export_is_refused_unless_confirmed_and_never_withdraws_anyone(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: int
) -> None:
    assert main(["optout", "ingest", str(_full_export(tmp_path))]) == 0
    capsys.readouterr()
    small = optouts_csv(
        tmp_path / "optouts-today.csv", [f"{mrn};15-01-2027;all;" for mrn in MRNS[:rows]]
    )
    before = _ingests()

    assert main(["optout", "ingest", str(small)]) == 2

    err = capsys.readouterr().err
    assert f"{rows} opt-out(s), but the last ehr-csv export" in err
    assert "held 4" in err and "--confirm-shrunk-export" in err
    assert not any(mrn in err for mrn in MRNS)
    assert _ingests() == before  # nothing recorded: the register does not look current

    assert main(["optout", "ingest", str(small), "--confirm-shrunk-export"]) == 0
    last = _ingests()[-1]
    assert (last.entries, last.shrink_confirmed) == (rows, True)
    with open_event_store(load_settings().event_store_url) as store:
        register = OptOutRegister.load(store)
        newest = newest_snapshot(store)
    # Absent rows are not withdrawals: every objection still stands.
    assert register.summary(date(2027, 2, 1)).in_force == 4
    assert newest is not None and newest.fact.entries == rows


def test_an_empty_first_export_of_another_kind_is_refused_unless_confirmed(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Decision 0490: an empty Consent export (a stray or misconfigured path) made
    # the register of a CSV hospital look current; as the first of its kind it was
    # compared with nothing. A first export of a kind holding opt-outs is accepted
    # (test_cli_optout: two sources side by side differ in size).
    assert main(["optout", "ingest", str(_full_export(tmp_path))]) == 0
    capsys.readouterr()
    consents = tmp_path / "consents.ndjson"
    consents.write_text("", encoding="utf-8")

    assert main(["optout", "ingest", str(consents)]) == 2
    err = capsys.readouterr().err
    assert "0 opt-out(s), but the last ehr-csv export" in err and "held 4" in err
    assert [(f.source, f.entries) for f in _ingests()] == [("ehr-csv", 4)]

    # A hospital that really adds a second source confirms its first export once.
    assert main(["optout", "ingest", str(consents), "--confirm-shrunk-export"]) == 0
    assert [(f.source, f.entries) for f in _ingests()] == [("ehr-csv", 4), ("fhir-consent", 0)]
    # From then on each kind is compared with its own last export.
    assert main(["optout", "ingest", str(_full_export(tmp_path))]) == 0


def test_a_folders_time_is_that_of_the_export_files_read_not_a_log_beside_them(
    home: Path, tmp_path: Path
) -> None:
    # A failing EHR export job leaves last week's export and writes its log (or a
    # half-copied part file) into the folder: the register must not look current.
    folder = tmp_path / "consent-export"
    folder.mkdir()
    export = folder / "Consent.ndjson"
    export.write_text("", encoding="utf-8")
    taken = datetime.now(UTC) - timedelta(days=7)
    os.utime(export, (taken.timestamp(), taken.timestamp()))
    (folder / "export.log").write_text("export failed\n", encoding="utf-8")
    (folder / ".Consent.ndjson.part").write_text("{", encoding="utf-8")

    assert main(["optout", "ingest", str(folder)]) == 0

    [fact] = _ingests()
    assert abs(datetime.fromisoformat(fact.snapshot_taken_at) - taken) < timedelta(seconds=1)


def test_a_stated_snapshot_time_after_the_files_own_is_refused(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Decision 0493: re-reading last week's export with --snapshot-taken-at now made
    # the register look current; an export cannot be taken after its file was written.
    export = _full_export(tmp_path)
    written = datetime.now(UTC) - timedelta(days=7)
    os.utime(export, (written.timestamp(), written.timestamp()))
    now = datetime.now(UTC).isoformat()

    assert main(["optout", "ingest", str(export), "--snapshot-taken-at", now]) == 2

    err = capsys.readouterr().err
    assert "after its file was last written" in err and not any(mrn in err for mrn in MRNS)
    assert _ingests() == []
    earlier = (written - timedelta(hours=2)).isoformat()  # a copy's time is later: allowed
    assert main(["optout", "ingest", str(export), "--snapshot-taken-at", earlier]) == 0
    assert len(_ingests()) == 1
