"""Event classes register themselves by type name; mistakes show up at import time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from aanlevering.events.model import DomainEvent, UnknownEvent, registered_class, registered_types


@dataclass(frozen=True)
class ModelChecked(DomainEvent):
    event_type: ClassVar[str] = "testmodel.ModelChecked"

    registration: str


def test_a_subclass_is_registered_under_its_event_type() -> None:
    assert registered_class("testmodel.ModelChecked") is ModelChecked
    assert "testmodel.ModelChecked" in set(registered_types())
    event = ModelChecked(registration="ltr")
    assert event.event_id != ModelChecked(registration="ltr").event_id  # a fresh id per fact
    assert event.occurred_at.utcoffset() is not None


def test_positional_fields_are_allowed_after_the_keyword_only_envelope() -> None:
    assert ModelChecked("ltr").registration == "ltr"


def test_unknown_event_is_not_a_registered_type() -> None:
    assert registered_class(UnknownEvent.event_type) is None


def test_an_event_class_without_its_own_type_name_is_refused() -> None:
    with pytest.raises(TypeError, match="must set event_type"):

        @dataclass(frozen=True)
        class Nameless(ModelChecked):
            pass


@pytest.mark.parametrize(
    "name", ["ModelChecked", "testmodel.model_checked", "Testmodel.ModelChecked", ""]
)
def test_type_names_must_read_package_dot_fact(name: str) -> None:
    with pytest.raises(TypeError, match=r"<package>\.<FactInPastTense>"):
        type("Badly", (DomainEvent,), {"event_type": name})


def test_two_classes_can_not_share_a_type_name() -> None:
    with pytest.raises(TypeError, match=r"already used by .*ModelChecked"):

        @dataclass(frozen=True)
        class Impostor(DomainEvent):
            event_type: ClassVar[str] = "testmodel.ModelChecked"


def test_schema_version_must_be_a_positive_int() -> None:
    with pytest.raises(TypeError, match="schema_version"):
        type(
            "Versionless",
            (DomainEvent,),
            {"event_type": "testmodel.Versionless", "schema_version": 0},
        )


def test_an_abstract_intermediate_base_is_not_registered() -> None:
    @dataclass(frozen=True)
    class StageEvent(DomainEvent):
        _abstract_event: ClassVar[bool] = True
        registration: str

    @dataclass(frozen=True)
    class StageFinished(StageEvent):
        event_type: ClassVar[str] = "testmodel.StageFinished"

    assert registered_class("testmodel.StageFinished") is StageFinished
    assert StageEvent not in {registered_class(name) for name in registered_types()}
