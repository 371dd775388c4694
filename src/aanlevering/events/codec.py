"""JSON (de)serialisation of event payloads, driven by the dataclass type hints.

Payloads are stored as plain JSON so both backends, ``jq`` and a future
reader in another language can read them. Encoding turns dates, datetimes,
enums, UUIDs, decimals, tuples, sets and nested dataclasses into JSON values;
decoding uses the event class's type hints to rebuild them, so event classes
need no (de)serialisation code of their own. Errors name the event type and
field path but never the value (it might be an identifier that slipped in).
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections import abc
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any, Literal, TypeAlias, TypeVar, Union
from uuid import UUID

from aanlevering.errors import EventStoreError
from aanlevering.events.guard import contains_probable_bsn
from aanlevering.events.model import ENVELOPE_FIELDS, DomainEvent

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"

_T = TypeVar("_T")

#: Exactly these types (not subclasses such as a str enum) are JSON as they are.
_PLAIN = frozenset({str, int, bool})


def canonical_json(value: JsonValue | Mapping[str, Any]) -> str:
    """Compact JSON with sorted keys: the same payload always gives the same text."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def utc_timestamp(value: datetime, where: str) -> datetime:
    """Refuse naive datetimes (their zone is a guess) and normalise aware ones to UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise EventStoreError(f"{where}: naive datetime; use a timezone-aware (UTC) datetime")
    return value.astimezone(UTC)


def encode_value(value: Any, where: str) -> JsonValue:  # noqa: PLR0911, PLR0912 - one branch per kind
    """Turn one payload value into JSON; ``where`` names the field path for errors."""
    if value is None or type(value) in _PLAIN:  # most fields: no subclass, nothing to do
        return value  # type: ignore[no-any-return]
    if isinstance(value, Enum):
        return encode_value(value.value, where)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise EventStoreError(f"{where}: non-finite float can not be stored as JSON")
        return value
    if isinstance(value, datetime):
        return utc_timestamp(value, where).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: encode_value(getattr(value, f.name), f"{where}.{f.name}")
            for f in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        encoded: dict[str, JsonValue] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise EventStoreError(f"{where}: mapping keys must be strings or str enums")
            label = "<key>" if contains_probable_bsn(key) else key
            encoded[str(encode_value(key, where))] = encode_value(item, f"{where}.{label}")
        return encoded
    if isinstance(value, list | tuple):
        if all(type(item) is str for item in value):  # e.g. a million patient refs
            return list(value)
        return [encode_value(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, set | frozenset):
        items = [encode_value(item, f"{where}[]") for item in value]
        return sorted(items, key=canonical_json)
    raise EventStoreError(f"{where}: values of type {type(value).__name__} can not be stored")


_PAYLOAD_FIELDS: dict[type[Any], tuple[str, ...]] = {}


def _payload_fields(cls: type[Any]) -> tuple[str, ...]:
    """An event class's payload field names (looked up once per class, not per event)."""
    names = _PAYLOAD_FIELDS.get(cls)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(cls) if f.name not in ENVELOPE_FIELDS)
        _PAYLOAD_FIELDS[cls] = names
    return names


def encode_payload(event: DomainEvent) -> dict[str, JsonValue]:
    """The JSON payload of an event: every dataclass field except the envelope."""
    where = event.event_type
    return {
        name: encode_value(getattr(event, name), f"{where}.{name}")
        for name in _payload_fields(type(event))
    }


@cache
def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode_payload(cls: type[_T], payload: Mapping[str, Any], **envelope: Any) -> _T:
    """Rebuild a dataclass (usually an event) from its JSON payload plus envelope values."""
    where = getattr(cls, "event_type", cls.__name__)
    return _decode_dataclass(cls, payload, str(where), envelope)


def _decode_dataclass(
    cls: type[_T], raw: Any, where: str, envelope: Mapping[str, Any] | None = None
) -> _T:
    if not isinstance(raw, Mapping):
        raise EventStoreError(f"{where}: expected a JSON object")
    hints = _hints(typing.cast(Any, cls))
    init_fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    envelope = envelope or {}
    unexpected = sorted(set(raw) - set(init_fields) - set(envelope))
    if unexpected:
        raise EventStoreError(f"{where}: unexpected field(s) {', '.join(unexpected)}")
    kwargs: dict[str, Any] = {}
    for name, f in init_fields.items():
        if name in envelope:
            kwargs[name] = envelope[name]
        elif name in raw:
            kwargs[name] = _decode(hints[name], raw[name], f"{where}.{name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise EventStoreError(f"{where}: missing field {name}")
    return cls(**kwargs)


def _decode(hint: Any, raw: Any, where: str) -> Any:  # noqa: PLR0911 - one branch per kind
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any or hint is object:
        return raw
    if origin is Union or origin is types.UnionType:
        if raw is None and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return _decode(option, raw, where)
            except EventStoreError:
                continue
        raise EventStoreError(f"{where}: value fits none of {hint}")
    if origin is Literal:
        if raw not in args:
            raise EventStoreError(f"{where}: value is not one of the allowed literals")
        return raw
    if origin in (tuple, list, set, frozenset, abc.Sequence, abc.Set):
        return _decode_collection(origin, args, raw, where)
    if origin in (dict, abc.Mapping) or hint in (dict, abc.Mapping):
        if not isinstance(raw, Mapping):
            raise EventStoreError(f"{where}: expected a JSON object")
        key_hint, value_hint = args if args else (str, Any)
        return {
            _decode(key_hint, k, where): _decode(value_hint, v, f"{where}.{k}")
            for k, v in raw.items()
        }
    if isinstance(hint, type):
        return _decode_scalar(hint, raw, where)
    raise EventStoreError(f"{where}: unsupported type hint {hint}")


def _decode_collection(origin: Any, args: tuple[Any, ...], raw: Any, where: str) -> Any:
    if not isinstance(raw, list):
        raise EventStoreError(f"{where}: expected a JSON array")
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        if len(args) != len(raw):
            raise EventStoreError(f"{where}: expected {len(args)} items, found {len(raw)}")
        return tuple(
            _decode(a, item, f"{where}[{i}]")
            for i, (a, item) in enumerate(zip(args, raw, strict=True))
        )
    item_hint = args[0] if args else Any
    items = [_decode(item_hint, item, f"{where}[{i}]") for i, item in enumerate(raw)]
    if origin in (set, frozenset, abc.Set):
        return frozenset(items) if origin is not set else set(items)
    return tuple(items) if origin in (tuple, abc.Sequence) else items


def _decode_scalar(hint: type[Any], raw: Any, where: str) -> Any:  # noqa: PLR0911 - one per kind
    try:
        if issubclass(hint, Enum):
            return hint(raw)
        if hint is datetime:
            return utc_timestamp(datetime.fromisoformat(_str(raw, where)), where)
        if hint is date:
            return date.fromisoformat(_str(raw, where))
        if hint is UUID:
            return UUID(_str(raw, where))
        if hint is Decimal:
            return Decimal(_str(raw, where))
    except (ValueError, ArithmeticError) as error:
        raise EventStoreError(f"{where}: not a valid {hint.__name__}") from error
    if dataclasses.is_dataclass(hint):
        return _decode_dataclass(hint, raw, where)
    if hint is float and isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    if hint is int and isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if hint in (str, int, bool) and type(raw) is hint:
        return raw
    raise EventStoreError(f"{where}: expected {hint.__name__}, found {type(raw).__name__}")


def _str(raw: Any, where: str) -> str:
    if not isinstance(raw, str):
        raise EventStoreError(f"{where}: expected a JSON string")
    return raw
