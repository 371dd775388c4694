"""Stored types resolve to classes lazily, and old payloads are upcast one version at a time."""

from __future__ import annotations

import importlib
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import uuid4

import pytest

from aanlevering.errors import EventStoreError
from aanlevering.events import registry
from aanlevering.events.model import DomainEvent, RecordedEvent, UnknownEvent


@dataclass(frozen=True)
class ThresholdChanged(DomainEvent):
    """v1: {"limit": "5"}; v2: limit became an int; v3: "limit" renamed to "max_missing"."""

    event_type: ClassVar[str] = "testregistry.ThresholdChanged"
    schema_version: ClassVar[int] = 3

    registration: str
    max_missing: int
    unit: str = "percent"


@registry.upcaster("testregistry.ThresholdChanged", from_version=1)
def _v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    payload["limit"] = int(payload["limit"])
    return payload


@registry.upcaster("testregistry.ThresholdChanged", from_version=2)
def _v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
    payload["max_missing"] = payload.pop("limit")
    return payload


def stored(event_type: str, schema_version: int, payload: dict[str, Any]) -> RecordedEvent:
    return RecordedEvent(
        position=7,
        event_id=uuid4(),
        stream="settings",
        version=1,
        event_type=event_type,
        schema_version=schema_version,
        occurred_at=datetime(2026, 1, 5, 8, 0, tzinfo=UTC),
        recorded_at=datetime(2026, 1, 5, 8, 0, 1, tzinfo=UTC),
        payload=payload,
        metadata={},
    )


def test_a_version_1_payload_is_upcast_through_every_step() -> None:
    record = stored("testregistry.ThresholdChanged", 1, {"registration": "ltr", "limit": "5"})
    event = registry.decode(record)
    assert event == ThresholdChanged(
        registration="ltr", max_missing=5, event_id=record.event_id, occurred_at=record.occurred_at
    )
    assert record.payload == {"registration": "ltr", "limit": "5"}  # the stored record is untouched


def test_a_current_payload_needs_no_upcaster() -> None:
    record = stored(
        "testregistry.ThresholdChanged",
        3,
        {"registration": "ltr", "max_missing": 2, "unit": "rows"},
    )
    assert registry.decode(record) == ThresholdChanged(
        registration="ltr",
        max_missing=2,
        unit="rows",
        event_id=record.event_id,
        occurred_at=record.occurred_at,
    )


def test_a_missing_upcaster_is_named() -> None:
    @dataclass(frozen=True)
    class GapInHistory(DomainEvent):
        event_type: ClassVar[str] = "testregistry.GapInHistory"
        schema_version: ClassVar[int] = 2

    with pytest.raises(EventStoreError, match="no upcaster from schema version 1 to 2"):
        registry.decode(stored("testregistry.GapInHistory", 1, {}))


def test_a_second_upcaster_for_the_same_step_is_refused() -> None:
    with pytest.raises(TypeError, match="already registered"):

        @registry.upcaster("testregistry.ThresholdChanged", from_version=1)
        def _another(payload: dict[str, Any]) -> dict[str, Any]:
            return payload


def test_a_payload_that_does_not_fit_after_upcasting_names_the_position() -> None:
    record = stored("testregistry.ThresholdChanged", 3, {"registration": "ltr"})
    with pytest.raises(
        EventStoreError,
        match=r"event at position 7 \(stream .*, version .*\): .*missing field max_missing",
    ):
        registry.decode(record)


def test_an_unknown_type_keeps_its_raw_payload() -> None:
    record = stored("later.FeatureAdded", 4, {"x": [1, 2]})
    event = registry.decode(record)
    assert isinstance(event, UnknownEvent)
    assert (event.stored_type, event.stored_schema_version, event.payload) == (
        "later.FeatureAdded",
        4,
        {"x": [1, 2]},
    )
    assert event.event_id == record.event_id


def test_a_fresh_process_finds_event_classes_it_never_imported() -> None:
    script = (
        "import sys\n"
        "from aanlevering.events.registry import EVENT_MODULES, resolve\n"
        "assert not any(m in sys.modules for m in EVENT_MODULES)\n"
        "cls = resolve('deliver.DeliveryReceipted')\n"
        "print(cls.__module__, cls.__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "aanlevering.deliver.events DeliveryReceipted"


def test_every_listed_event_module_imports_and_registers_classes() -> None:
    for module_name in registry.EVENT_MODULES:
        module = importlib.import_module(module_name)  # a listed module must exist and import
        classes = [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, DomainEvent)
            and value.__module__ == module_name
        ]
        assert classes, f"{module_name} defines no event classes"
        for cls in classes:
            assert registry.resolve(cls.event_type) is cls
