"""``aanlevering register``: decide, ingest, status and calendar on a SQLite log in a tmp home."""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.cli.main import main


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AANLEVERING_EVENT_STORE", raising=False)
    monkeypatch.delenv("AANLEVERING_CATALOGUE", raising=False)
    monkeypatch.delenv("AANLEVERING_OBLIGATION_RULES", raising=False)
    return tmp_path / "home"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def line_of(out: str, registration: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(registration + "\t"))


def test_status_before_any_decision_follows_current_practice(home: Path, capsys) -> None:
    code, out, _ = run(capsys, "register", "status", "--on", "2026-06-01")
    assert code == 0
    assert line_of(out, "dica-dsaa").split("\t")[1:3] == ["pending", "no decision yet"]
    assert "may deliver on 2026-06-01: yes" in line_of(out, "dica-dsaa")
    assert "may deliver on 2026-06-01: no" in line_of(out, "nkr-borst")


def test_decide_marks_a_registration_included(home: Path, capsys) -> None:
    code, out, _ = run(
        capsys, "register", "decide", "--registration", "nkr-borst", "--decision", "included",
        "--decided-on", "2026-03-01", "--effective-from", "2026-03-01", "--term-years", "5",
    )  # fmt: skip
    assert code == 0
    assert "nkr-borst: included of 2026-03-01 recorded" in out
    assert "included since 2026-03-01" in out and "term until 2031-03-01" in out

    code, out, _ = run(
        capsys, "register", "decide", "--registration", "nkr-borst", "--decision", "included",
        "--decided-on", "2026-03-01", "--effective-from", "2026-03-01", "--term-years", "5",
    )  # fmt: skip
    assert "already in the log; nothing recorded" in out

    code, out, _ = run(
        capsys, "register", "status", "--registration", "nkr-borst", "--on", "2026-11-22",
        "--history", "--check",
    )  # fmt: skip
    assert code == 0
    fields = out.splitlines()[0].split("\t")
    assert fields[:4] == ["nkr-borst", "included", "since 2026-03-01", "until 2031-03-01"]
    assert "may deliver on 2026-11-22: yes" in fields[4]
    assert "  included since 2026-03-01" in out
    assert "  ended since 2031-03-01 (term-expired" in out


def test_later_runs_after_a_negative_decision_are_refused(home: Path, capsys) -> None:
    run(
        capsys, "register", "decide", "--registration", "dica-dsaa", "--decision", "rejected",
        "--decided-on", "2026-05-10",
    )  # fmt: skip
    code, out, err = run(
        capsys, "register", "status", "--registration", "dica-dsaa", "--on", "2026-06-01", "--check"
    )
    assert code == 3
    assert "rejected\tsince 2026-05-10" in out
    assert "may not deliver on 2026-06-01: negative register decision" in err
    code, _, _ = run(
        capsys, "register", "status", "--registration", "dica-dsaa", "--on", "2026-05-09", "--check"
    )
    assert code == 0


def test_ingest_twice_records_once(home: Path, tmp_path: Path, capsys) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text(
        "registration,decision,decided_on,term_years\n"
        "nkr-borst,included,2026-03-01,5\n"
        "ldtr,included,2026-02-01,3\n",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "register", "ingest", str(feed))
    assert code == 0
    assert "2 decision(s) read: 2 recorded, 0 already in the log" in out
    code, out, _ = run(capsys, "register", "ingest", str(feed))
    assert "2 decision(s) read: 0 recorded, 2 already in the log" in out


def test_bad_feed_exits_2_naming_line_and_field(home: Path, tmp_path: Path, capsys) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text("registration,decision,decided_on\nnkr-borst,included,2026-03-01\n")
    code, _, err = run(capsys, "register", "ingest", str(feed))
    assert code == 2
    assert "line 2, field term_years: an inclusion (included, objection-upheld) needs " in err


def test_calendar_lists_overdue_periods(home: Path, capsys) -> None:
    run(
        capsys, "register", "decide", "--registration", "nkr-borst", "--decision", "included",
        "--decided-on", "2026-03-01", "--term-years", "5",
    )  # fmt: skip
    code, out, _ = run(
        capsys, "register", "calendar", "--registration", "nkr-borst", "--on", "2027-04-02"
    )
    assert code == 0
    assert "  2026\toverdue\tdue by 2027-04-01" in out
    assert "  2027\topen" in out
    assert "yearly check: FLAGGED" in out
    code, out, _ = run(
        capsys, "register", "calendar", "--registration", "nkr-borst", "--on", "2027-04-02",
        "--delivered", "nkr-borst:2026",
    )  # fmt: skip
    assert "  2026\tdelivered" in out


def test_decide_refuses_a_registration_the_catalogue_does_not_have(home: Path, capsys) -> None:
    # A typo (dsaa-zud for dsaa-zuid) was recorded for good in the append-only log,
    # and the run of the real registration then said only: no register decision.
    code, out, err = run(
        capsys, "register", "decide", "--registration", "nkr-brost", "--decision", "included",
        "--decided-on", "2026-03-01", "--term-years", "5",
    )  # fmt: skip
    assert code == 2
    assert out == ""
    assert "registration 'nkr-brost' is not in the catalogue" in err
    assert "dica-dsaa, ldtr, nkr-borst" in err
    code, out, _ = run(capsys, "events", "tail")
    assert "nkr-brost" not in out
