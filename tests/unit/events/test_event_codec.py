"""Payloads survive the trip to JSON and back, and bad values fail with a place, not a value."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import ClassVar, Literal
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aanlevering.errors import EventStoreError
from aanlevering.events.codec import canonical_json, decode_payload, encode_payload
from aanlevering.events.model import DomainEvent
from aanlevering.pseudonym_types import PseudonymType


class Outcome(Enum):
    SENT = 1
    HELD = 2


@dataclass(frozen=True)
class FileSummary:
    name: str
    sha256: str
    rows: int


@dataclass(frozen=True)
class CodecExercised(DomainEvent):
    event_type: ClassVar[str] = "testcodec.CodecExercised"

    registration: str
    period_start: date
    decided_at: datetime
    outcome: Outcome
    types: tuple[PseudonymType, ...]
    registrations: frozenset[str]
    counts: Mapping[str, int]
    files: tuple[FileSummary, ...]
    reference: UUID
    amount: Decimal
    share: float
    note: str | None = None
    kind: Literal["delivery", "correction"] = "delivery"
    pair: tuple[str, int] = ("a", 1)
    tags: list[str] | None = None


def exercised(**overrides: object) -> CodecExercised:
    values: dict[str, object] = {
        "registration": "nkr-borst",
        "period_start": date(2026, 1, 1),
        "decided_at": datetime(2026, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=1))),
        "outcome": Outcome.SENT,
        "types": (PseudonymType.NGG, PseudonymType.SNGG),
        "registrations": frozenset({"ltr", "dsaa"}),
        "counts": {"patients": 10, "tumours": 12},
        "files": (FileSummary("patients.ndjson", "ab" * 32, 10),),
        "reference": uuid4(),
        "amount": Decimal("12.50"),
        "share": 0.25,
        "tags": ["a", "b"],
    }
    values.update(overrides)
    return CodecExercised(**values)  # type: ignore[arg-type]


def roundtrip(event: CodecExercised) -> CodecExercised:
    payload = json.loads(canonical_json(encode_payload(event)))
    return decode_payload(
        type(event), payload, event_id=event.event_id, occurred_at=event.occurred_at
    )


def test_every_supported_kind_of_value_survives_json() -> None:
    event = exercised()
    payload = encode_payload(event)
    assert payload["decided_at"] == "2026-03-01T09:00:00+00:00"  # stored in UTC
    assert payload["types"] == ["NGG", "sNGG"]
    assert payload["registrations"] == ["dsaa", "ltr"]  # sets sorted: same fact, same JSON
    assert payload["outcome"] == 1
    assert "event_id" not in payload and "occurred_at" not in payload
    assert roundtrip(event) == event


def test_optional_and_defaulted_fields_may_be_absent_from_old_payloads() -> None:
    event = exercised(note="zie dossier", tags=None)
    payload = json.loads(canonical_json(encode_payload(event)))
    del payload["kind"], payload["pair"]
    decoded = decode_payload(
        CodecExercised, payload, event_id=event.event_id, occurred_at=event.occurred_at
    )
    assert decoded.kind == "delivery" and decoded.pair == ("a", 1) and decoded.note == "zie dossier"
    assert decoded.tags is None


def test_canonical_json_is_stable_whatever_the_key_order() -> None:
    assert (
        canonical_json({"b": 1, "a": [1, 2]})
        == canonical_json({"a": [1, 2], "b": 1})
        == '{"a":[1,2],"b":1}'
    )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            {"decided_at": datetime(2026, 3, 1, 10, 0)},
            "testcodec.CodecExercised.decided_at: naive datetime",
        ),
        ({"share": math.nan}, "share: non-finite float"),
        ({"note": object()}, "note: values of type object can not be stored"),
    ],
)
def test_unstorable_values_are_refused_with_their_field(
    override: dict[str, object], message: str
) -> None:
    with pytest.raises(EventStoreError, match=message):
        encode_payload(exercised(**override))


def test_decoding_errors_name_the_field_but_not_the_value() -> None:
    event = exercised()
    payload = json.loads(canonical_json(encode_payload(event)))
    envelope = {"event_id": event.event_id, "occurred_at": event.occurred_at}

    wrong_type = {**payload, "registration": 123456782}
    with pytest.raises(EventStoreError) as failed:
        decode_payload(CodecExercised, wrong_type, **envelope)
    assert "CodecExercised.registration: expected str, found int" in str(failed.value)
    assert "123456782" not in str(failed.value)

    with pytest.raises(EventStoreError, match="missing field registration"):
        decode_payload(
            CodecExercised, {k: v for k, v in payload.items() if k != "registration"}, **envelope
        )
    with pytest.raises(EventStoreError, match="unexpected field"):
        decode_payload(CodecExercised, {**payload, "surprise": 1}, **envelope)
    with pytest.raises(EventStoreError, match=r"period_start: not a valid date"):
        decode_payload(CodecExercised, {**payload, "period_start": "01-01-2026"}, **envelope)
    with pytest.raises(EventStoreError, match=r"pair: expected 2 items, found 3"):
        decode_payload(CodecExercised, {**payload, "pair": ["a", 1, 2]}, **envelope)
    with pytest.raises(EventStoreError, match="kind: value is not one of the allowed literals"):
        decode_payload(CodecExercised, {**payload, "kind": "other"}, **envelope)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a loaded CI machine
@given(
    registration=st.text(min_size=1, max_size=30),
    rows=st.integers(min_value=0, max_value=10**12),
    share=st.floats(allow_nan=False, allow_infinity=False),
    decided_at=st.datetimes(timezones=st.just(UTC)),
    registrations=st.frozensets(st.text(max_size=8), max_size=5),
    counts=st.dictionaries(st.text(max_size=8), st.integers(), max_size=5),
)
def test_any_payload_of_supported_values_roundtrips(
    registration: str,
    rows: int,
    share: float,
    decided_at: datetime,
    registrations: frozenset[str],
    counts: dict[str, int],
) -> None:
    event = exercised(
        registration=registration,
        share=share,
        decided_at=decided_at,
        registrations=registrations,
        counts=counts,
        files=(FileSummary("x", "y", rows),),
    )
    assert roundtrip(event) == event
