"""``OptOutRegister.load_for_column`` is ``load_for`` of the run's distinct references.

The run's references stay an Arrow column (a million of them as Python strings
cost a second of apply_optouts); the register must be the one ``load_for`` gives
for the set of non-empty references, whichever way the log is read (the whole
register, or the run's streams by name).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from aanlevering.events import EventStore, open_event_store
from aanlevering.optout.events import OPTOUT_EVENT_TYPES
from aanlevering.optout.register import LOOKUP_COST_RATIO, OptOutRegister
from aanlevering.optout.rules import OptOutRules
from aanlevering.optout.service import record_optouts
from aanlevering.optout.sources import OptOutEntry
from aanlevering.periods import Period

AS_OF = date(2027, 2, 1)
RULES = OptOutRules(effective_from=date(2026, 1, 1))


def _record(store: EventStore, run: list[str]) -> None:
    """Three of the run's patients opted out, one withdrew, two others are not in the run."""
    entries = [OptOutEntry(ref, date(2027, 1, 20), True) for ref in run[:3]]
    entries.append(OptOutEntry(run[3], date(2027, 1, 20), True, withdrawn_on=date(2027, 1, 25)))
    entries += [OptOutEntry(f"pr_other{n:04d}", date(2027, 1, 20), True) for n in range(2)]
    record_optouts(store, entries)


def _starts(register: OptOutRegister) -> dict[str, date]:
    return register.exclusion_starts("dica-dsaa", Period.parse("2026"), AS_OF)


@pytest.mark.parametrize("patients", [8, 200], ids=["streams", "whole-register"])
def test_the_column_gives_the_register_of_its_distinct_references(
    tmp_path: Path, patients: int
) -> None:
    run = [f"pr_{n:08x}" for n in range(patients)]
    # Two datasets: patients repeat within and across them; empty and null references too.
    first = pa.array([*run, run[0], "", None], pa.string())
    second = pa.array([run[1], run[5], None, run[2]], pa.string())
    column = pa.chunked_array([first, second])
    with open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as store:
        _record(store, run)
        events = store.count_types(OPTOUT_EVENT_TYPES, at_most=1_000)
        assert (events <= patients // LOOKUP_COST_RATIO) is (patients == 200)  # both ways
        straightforward = OptOutRegister.load_for(
            store, {ref for ref in column.to_pylist() if ref}, RULES
        )
        register = OptOutRegister.load_for_column(store, column, RULES)
    assert _starts(register) == _starts(straightforward)
    assert sorted(ref for ref in _starts(register) if ref in run) == run[:3]
    assert register.rules == RULES


def test_a_run_without_references_has_an_empty_register(tmp_path: Path) -> None:
    with open_event_store(f"sqlite:///{tmp_path / 'events.sqlite3'}") as store:
        _record(store, [f"pr_{n:08x}" for n in range(8)])
        register = OptOutRegister.load_for_column(store, pa.chunked_array([], pa.string()), RULES)
    assert _starts(register) == {}
