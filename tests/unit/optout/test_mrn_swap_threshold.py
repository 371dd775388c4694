"""When opt-outs matched by the patient-number column mean a swapped mapping (decision 0610).

A dataset with both ``mrn`` and ``patient_id``: the patient numbers are also
looked up as MRNs. From 3 patients opted out by their number only, and more
than by their MRN, the run stops (ConfigError); fewer are chance collisions of
two numberings: a warning with counts. Both ways of reading the register
(the run's streams; the whole register) answer alike. Real SQLite event log.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from aanlevering.errors import ConfigError
from aanlevering.events import EventStore, open_event_store
from aanlevering.extract.model import Extract, ExtractedDataset
from aanlevering.optout.ingests import record_ingest
from aanlevering.optout.service import record_optouts
from aanlevering.optout.sources import OptOutEntry
from aanlevering.periods import Period
from aanlevering.pipeline.operations import apply_optouts_to_extract
from aanlevering.pseudonym.patient_ref import PatientRefHasher
from aanlevering.settings import Settings, load_settings

TODAY = date(2026, 12, 31)
COLUMNS = {"operatie": ("EPD_ID", "PATIENTNUMMER")}


def _settings(tmp_path: Path, effective_from: str = "2026-01-01") -> Settings:
    home = tmp_path / "home"
    home.mkdir()
    (home / "optout-rules.yaml").write_text(f"effective_from: {effective_from}\n")
    return load_settings({"AANLEVERING_DEMO_MODE": "yes", "AANLEVERING_HOME": str(home)})


def _mrn(n: int) -> str:
    return f"{10_000_000 + n}"


def _number(n: int) -> str:
    return f"{70_000_000 + n}"


def _extract(patients: int) -> Extract:
    """Patient n has MRN 1000000n and patient number 7000000n; two rows each."""
    rows = [n for n in range(patients) for _ in range(2)]
    dataset = ExtractedDataset(
        "operatie",
        clinical=pa.table({"asa_klasse": pa.array([2] * len(rows))}),
        identity=pa.table(
            {
                "mrn": pa.array([_mrn(n) for n in rows]),
                "patient_id": pa.array([_number(n) for n in rows]),
            }
        ),
        row_refs=pa.array([f"dsaa_operaties.csv:{i + 2}" for i in range(len(rows))]),
    )
    return Extract("dica-dsaa", Period.parse("2026-Q4"), "csv", {"operatie": dataset})


def _opt_out(store: EventStore, settings: Settings, values: list[str]) -> None:
    """These numbers, hashed as MRNs, opted out in January (the ingest is current)."""
    hasher = PatientRefHasher.from_settings(settings, store)
    entries = [OptOutEntry(hasher.mrn_ref(v), date(2026, 1, 15), True) for v in values]
    record_optouts(store, entries)
    record_ingest(
        store, taken_at=datetime.now(UTC), source="ehr-csv", entries=len(values), patients=9
    )


def _apply(store: EventStore, settings: Settings, extract: Extract) -> tuple[Extract, int]:
    filtered, excluded, _ = apply_optouts_to_extract(
        extract, settings, store, TODAY, "run-1", columns=COLUMNS
    )
    return filtered, excluded


@pytest.fixture(params=[16, 200], ids=["streams", "whole-register"])
def patients(request: pytest.FixtureRequest) -> int:
    return int(request.param)


def test_two_chance_matches_are_a_warning_not_a_stop(
    tmp_path: Path, patients: int, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path)
    with open_event_store(settings.event_store_url) as store:
        _opt_out(store, settings, [_mrn(0), _number(3), _number(4)])
        with caplog.at_level(logging.WARNING):
            filtered, excluded = _apply(store, settings, _extract(patients))

    assert excluded == 2  # patient 0 by its MRN; 3 and 4 are not opted out
    assert filtered.datasets["operatie"].num_rows == 2 * patients - 2
    (warning,) = [r.getMessage() for r in caplog.records if "patient number" in r.getMessage()]
    assert "2 patient(s) opted out by their patient number (PATIENTNUMMER)" in warning
    assert "not by their MRN (EPD_ID), 1 by their MRN" in warning
    assert not any(_number(n) in warning or _mrn(n) in warning for n in range(patients))


def test_three_matches_by_patient_number_only_stop_the_run(tmp_path: Path, patients: int) -> None:
    settings = _settings(tmp_path)
    with open_event_store(settings.event_store_url) as store:
        _opt_out(store, settings, [_number(1), _number(2), _number(5)])
        with pytest.raises(ConfigError) as stopped:
            _apply(store, settings, _extract(patients))

    message = str(stopped.value)
    assert "registration dica-dsaa, period 2026-Q4: dataset operatie: 3 patient(s)" in message
    assert "patient_id (PATIENTNUMMER)" in message and "mrn (EPD_ID)" in message
    assert "while 0 are opted out by their MRN" in message
    assert "are the MRN and patient-number columns swapped in source.csv.datasets?" in message
    assert not any(_number(n) in message or _mrn(n) in message for n in range(patients))


def test_as_many_matches_by_mrn_as_by_number_are_no_swap(tmp_path: Path) -> None:
    """Three by number only, three by MRN: not more, so chance (warning), not a stop."""
    settings = _settings(tmp_path)
    opted = [_number(1), _number(2), _number(5), _mrn(7), _mrn(8), _mrn(9)]
    with open_event_store(settings.event_store_url) as store:
        _opt_out(store, settings, opted)
        _, excluded = _apply(store, settings, _extract(16))
    assert excluded == 6


def test_a_period_before_the_rules_apply_is_not_checked(tmp_path: Path) -> None:
    """Nothing of a period before ``effective_from`` is filtered: nothing to miss, no stop."""
    settings = _settings(tmp_path, effective_from="2027-01-01")
    with open_event_store(settings.event_store_url) as store:
        _opt_out(store, settings, [_number(1), _number(2), _number(5)])
        _, excluded = _apply(store, settings, _extract(16))
    assert excluded == 0
