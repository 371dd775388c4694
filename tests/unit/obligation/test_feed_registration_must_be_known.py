"""A register feed row names a registration of the catalogue, or one the hospital confirmed (0962).

``register ingest`` recorded every registration of the feed, any lower-case
word: a patient's surname typed into the ``registration`` column of a
hand-kept feed ("jansen") went into the append-only event log for good. A
registration id has no shape that tells it from a surname (``ldtr`` is one),
so a row's registration must be in this hospital's catalogue or confirmed
with ``--other-registration ID`` (or ``AANLEVERING_REGISTER_OTHER_REGISTRATIONS``);
otherwise the whole feed is refused, exit 2, file, row and column named,
never the value. Both backends, through the CLI.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from aanlevering.cli.main import main
from aanlevering.events import open_event_store

HEADER = "registration;decision;decided_on;term_years"
SURNAME = "jansen"
OTHER = "dica-dhba"  # a registration this hospital does not deliver (no catalogue file)


@pytest.fixture
def home(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AANLEVERING_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AANLEVERING_EVENT_STORE", store_url)
    monkeypatch.delenv("AANLEVERING_CATALOGUE", raising=False)
    monkeypatch.delenv("AANLEVERING_REGISTER_OTHER_REGISTRATIONS", raising=False)
    return tmp_path / "home"


def _feed(tmp_path: Path, *registrations: str) -> Path:
    feed = tmp_path / "decisions.csv"
    rows = [f"{r};included;2026-03-01;5" for r in registrations]
    feed.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return feed


def _recorded(store_url: str) -> list[str]:
    with open_event_store(store_url) as store:
        return [f"{r.stream} {r.payload} {r.metadata}" for r in store.read_all()]


def test_a_surname_in_the_registration_column_is_refused_never_recorded_nor_quoted(
    home: Path,
    store_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    feed = _feed(tmp_path, "nkr-borst", SURNAME)
    assert main(["register", "ingest", str(feed)]) == 2
    out, err = capsys.readouterr()
    assert f"{feed}:\n" in err or str(feed) in err, err
    assert "line 3, field registration: not a registration of this hospital's catalogue" in err
    assert "--other-registration" in err and "nothing of the feed recorded" in err, err
    recorded = _recorded(store_url)
    assert recorded == []  # the whole feed refused, nkr-borst's row too
    assert SURNAME not in "\n".join([out, err, caplog.text, *recorded])


def test_a_registration_the_hospital_confirms_is_recorded(
    home: Path, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = _feed(tmp_path, "nkr-borst", OTHER)
    assert main(["register", "ingest", str(feed)]) == 2
    assert _recorded(store_url) == []
    code = main(["register", "ingest", "--other-registration", OTHER, str(feed)])
    assert code == 0, capsys.readouterr()
    recorded = "\n".join(_recorded(store_url))
    assert f"register-{OTHER}" in recorded and "register-nkr-borst" in recorded, recorded


def test_the_setting_confirms_registrations_for_the_scheduled_ingest(
    home: Path,
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AANLEVERING_REGISTER_OTHER_REGISTRATIONS", f"nbvp, {OTHER}")
    assert main(["register", "ingest", str(_feed(tmp_path, OTHER, "ldtr", "dica-dpca"))]) == 2
    assert "line 4, field registration" in capsys.readouterr().err  # not confirmed: refused
    assert _recorded(store_url) == []
    assert main(["register", "ingest", str(_feed(tmp_path, OTHER, "ldtr"))]) == 0
    assert any(f"register-{OTHER}" in r for r in _recorded(store_url))


def test_a_confirmed_id_must_look_like_a_registration_id(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = _feed(tmp_path, "nkr-borst")
    with pytest.raises(SystemExit):
        main(["register", "ingest", "--other-registration", "Jansen P.", str(feed)])
    err = capsys.readouterr().err
    assert "--other-registration: expected a registration id" in err, err
    assert "Jansen" not in err
