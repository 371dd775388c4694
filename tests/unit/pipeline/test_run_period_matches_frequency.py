"""A delivery run covers one period of the registration's own frequency (decision 0391).

Periods of one frequency tile the calendar, so every record is in exactly one
of them. A run for a period of another length (the year 2026 of a quarterly
registration, or March of it) overlaps periods delivered or still to deliver:
its records would go to the registry holder twice, under two ledger keys that
nothing connects. Such a run is refused before anything is read, locked or
recorded. Real SQLite event log, the real run entry point.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.deliver.channels.outbox import OutboxChannel
from aanlevering.errors import ConfigError
from aanlevering.events import open_event_store
from aanlevering.periods import Period, require_frequency
from aanlevering.pipeline.run import Ports, RunRequest, run_delivery
from aanlevering.settings import load_settings

REPO = Path(__file__).resolve().parents[3]
NL = REPO / "tests" / "fixtures" / "extract" / "fhir-nl"


@pytest.mark.parametrize(
    ("registration", "label", "own"),
    [
        ("dica-dsaa", "2026", "quarter"),
        ("dica-dsaa", "2026-03", "quarter"),
        ("ldtr", "2026-Q1", "month"),
        ("ldtr", "2026", "month"),
    ],
)
def test_a_run_for_a_period_of_another_length_is_refused_before_anything_is_recorded(
    tmp_path: Path, registration: str, label: str, own: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    catalogue = str(REPO / "schemas" / "catalogue")
    settings = load_settings(
        {
            "AANLEVERING_DEMO_MODE": "yes",
            "AANLEVERING_HOME": str(home),
            "AANLEVERING_CATALOGUE": catalogue,
        }
    )
    config = load_catalogue(settings.catalogue_dir).get(registration)
    outbox = tmp_path / "outbox"
    with open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as store:
        ports = Ports(store, None, lambda config, folder: OutboxChannel(outbox))  # type: ignore[arg-type]
        request = RunRequest(registration, NL, Period.parse(label), today=date(2027, 2, 1))
        with pytest.raises(ConfigError, match=f"delivers per {own}") as error:
            run_delivery(config, settings, request, ports)
        assert not list(store.read_all())  # no lock taken, nothing extracted or staged
    assert label in str(error.value)
    assert not outbox.exists() or not any(outbox.iterdir())


def test_the_message_names_the_periods_to_run_instead() -> None:
    with pytest.raises(ConfigError) as error:
        require_frequency(Period.parse("2026"), "quarter", "dica-dsaa")
    assert "2026-Q1" in str(error.value) and "2026-Q4" in str(error.value)


@pytest.mark.parametrize(
    ("label", "frequency"), [("2026", "year"), ("2026-Q2", "quarter"), ("2026-02", "month")]
)
def test_a_period_of_the_registrations_frequency_passes(label: str, frequency: str) -> None:
    require_frequency(Period.parse(label), frequency, "any")  # type: ignore[arg-type]
