"""Write values into FHIR resources at the paths a registration's mapping reads.

The inverse of the small FHIRPath subset the catalogue uses: dotted element
paths, ``where(system='...')`` on codings, ``extension('url')`` and
``resolve()`` (which creates or reuses the referenced resource). Paths are
compiled once per registration into a list of operations, checked against
the fhir.resources R4B models (list or single element, complex or primitive
type), and then replayed per record. So a registration whose mapping is new
still gets FHIR data its extract can read, without code changes here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, Literal

from aanlevering.errors import ConfigError

Json = dict[str, Any]
Converter = Callable[[Any], Any]

UCUM = "http://unitsofmeasure.org"

#: What a reference element resolves to when the mapping does not say.
RESOLVE_TARGETS: Mapping[str, str] = {
    "subject": "Patient",
    "patient": "Patient",
    "encounter": "Encounter",
    "reasonReference": "Condition",
    "partOf": "Procedure",
    "basedOn": "ServiceRequest",
    "focus": "Condition",
}

#: Short id suffix of a satellite resource made by resolve(), per element.
SATELLITE_SUFFIX: Mapping[str, str] = {
    "encounter": "enc",
    "reasonReference": "dx",
    "partOf": "part",
    "basedOn": "order",
}

PrimitiveKind = Literal["dateTime", "date", "integer", "decimal", "boolean", "string"]


@dataclass(frozen=True)
class FieldInfo:
    """Shape of one element of a FHIR type, from the R4B model."""

    json_name: str
    is_list: bool
    complex_type: str | None
    primitive: PrimitiveKind | None


@cache
def field_info(type_name: str, element: str) -> FieldInfo:
    """List or single, complex type or primitive kind of ``type_name.element``."""
    from fhir.resources.R4B import get_fhir_model_class

    try:
        model = get_fhir_model_class(type_name)
    except Exception as error:  # fhir.resources raises a plain error for unknown names
        raise ConfigError(f"unknown FHIR type {type_name!r}") from error
    fields = model.model_fields
    key = element if element in fields else f"{element}_fhir"
    if key not in fields:
        raise ConfigError(f"FHIR {type_name} has no element {element!r}")
    annotation = str(fields[key].annotation)
    is_list = "List[" in annotation
    match = re.search(r"abc\.(\w+)Type", annotation)
    if match:
        return FieldInfo(element, is_list, match.group(1), None)
    primitive: PrimitiveKind
    if "DateTime()" in annotation or "Instant()" in annotation:
        primitive = "dateTime"
    elif "Date()" in annotation:
        primitive = "date"
    elif "Integer" in annotation or "PositiveInt" in annotation or "UnsignedInt" in annotation:
        primitive = "integer"
    elif "Decimal" in annotation:
        primitive = "decimal"
    elif "bool" in annotation:
        primitive = "boolean"
    else:
        primitive = "string"
    return FieldInfo(element, is_list, None, primitive)


def has_element(type_name: str, element: str) -> bool:
    """Whether the FHIR type has this element."""
    try:
        field_info(type_name, element)
    except ConfigError:
        return False
    return True


def split_path(path: str) -> list[str]:
    """Split on dots outside quotes and parentheses."""
    parts: list[str] = []
    depth = 0
    quoted = False
    current = ""
    for char in path:
        if char == "'" and depth:
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        if char == "." and depth == 0 and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


_CALL = re.compile(r"^(\w+)\((.*)\)$")
_ARG = re.compile(r"^\s*'([^']*)'\s*$")
_WHERE = re.compile(r"^\s*system\s*=\s*'([^']*)'\s*$")


def _amsterdam_offset(moment: datetime) -> str:
    """UTC offset of Dutch local time: CEST between the last Sundays of March and October."""
    return _offset_on(moment.date())


@cache
def _offset_on(day: date) -> str:
    year = day.year
    march_end = date(year, 3, 31)
    october_end = date(year, 10, 31)
    dst_start = march_end - timedelta(days=(march_end.weekday() + 1) % 7)
    dst_end = october_end - timedelta(days=(october_end.weekday() + 1) % 7)
    return "+02:00" if dst_start <= day < dst_end else "+01:00"


def fhir_datetime(value: object) -> str:
    """A date stays a date; a local clock time gets its Dutch UTC offset."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds") + _amsterdam_offset(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def converter(kind: PrimitiveKind) -> Converter:
    """How a Python value becomes the JSON value of a FHIR primitive."""
    if kind == "dateTime":
        return fhir_datetime
    if kind == "date":
        return lambda v: (v.date() if isinstance(v, datetime) else v).isoformat()
    if kind == "integer":
        return lambda v: int(v) if not isinstance(v, str) or v.lstrip("-").isdigit() else v
    if kind == "decimal":
        return lambda v: v if isinstance(v, int | float) else float(v)
    if kind == "boolean":
        return bool
    return str


# Operations: (opcode, *arguments); linked into a chain of closures for speed.
Op = tuple[Any, ...]
Step = Callable[[Json, Any, "Resolver"], None]


@dataclass(frozen=True)
class CompiledPath:
    """A path compiled into operations on a resource of ``root_type``.

    ``apply(resource, value, resolver)`` replays the operations; ``ops``
    stays for inspection.
    """

    text: str
    root_type: str
    ops: tuple[Op, ...]
    apply: Step


class Resolver:
    """Creates or finds resources that ``resolve()`` steps point at, per record."""

    def resolve(self, key: str, target_type: str) -> Json:
        """The resource for satellite ``key`` (created on first use)."""
        raise NotImplementedError


def compile_path(  # noqa: PLR0912, PLR0915 - one branch per path construct
    text: str,
    root_type: str,
    *,
    inverse_map: Mapping[str, str] | None = None,
    displays: Mapping[str, str] | None = None,
    unit: str | None = None,
    reference_targets: Mapping[str, str] | None = None,
) -> CompiledPath:
    """Compile a mapping path into write operations; ConfigError names the bad step.

    ``reference_targets`` says which type an ``<element>.resolve().id``
    points at (from the dictionary's relations); ``displays`` adds labels to
    codes written into codings; ``unit`` completes Quantities with UCUM.
    """
    steps = split_path(text)
    ops: list[Op] = []
    current = root_type
    prefix: list[str] = []
    last_element = ""
    i = 0
    while i < len(steps):
        step = steps[i].strip()
        is_last = i == len(steps) - 1
        call = _CALL.match(step)
        if call and call.group(1) == "resolve":
            if last_element == "" or current != "Reference":
                raise ConfigError(f"path {text!r}: resolve() must follow a reference element")
            target = (reference_targets or {}).get(last_element) or RESOLVE_TARGETS.get(
                last_element
            )
            if target is None:
                raise ConfigError(
                    f"path {text!r}: cannot tell which resource {last_element} points at"
                )
            rest = [s.strip() for s in steps[i + 1 :]]
            if rest == ["id"]:
                ops.append(("refid", target))
                return CompiledPath(text, root_type, tuple(ops), _link(ops))
            ops.append(("resolve", ".".join(prefix), target, last_element))
            current = target
            i += 1
            continue
        if call and call.group(1) == "extension":
            arg = _ARG.match(call.group(2))
            if not arg:
                raise ConfigError(f"path {text!r}: extension() needs a quoted url")
            ops.append(("ext", arg.group(1)))
            current = "Extension"
            prefix.append(step)
            last_element = "extension"
            i += 1
            continue
        if call:
            raise ConfigError(f"path {text!r}: unsupported function {call.group(1)}()")
        info = field_info(current, step)
        nxt = steps[i + 1].strip() if i + 1 < len(steps) else ""
        where = _CALL.match(nxt)
        if where and where.group(1) == "where":
            cond = _WHERE.match(where.group(2))
            if not cond or not info.is_list or info.complex_type is None:
                raise ConfigError(f"path {text!r}: only where(system='...') on a list is supported")
            ops.append(("select", info.json_name, cond.group(1)))
            current = info.complex_type
            prefix.extend([step, nxt])
            last_element = step
            i += 2
            continue
        if is_last:
            if info.primitive is None:
                raise ConfigError(f"path {text!r}: the last element {step} is not a primitive")
            extras: dict[str, Any] = {}
            if displays and current == "Coding" and step == "code":
                extras["displays"] = displays
            if unit and current == "Quantity" and step == "value":
                extras["unit"] = unit
            ops.append(
                (
                    "set",
                    info.json_name,
                    converter(info.primitive),
                    dict(inverse_map or {}),
                    info.is_list,
                    extras,
                )
            )
            return CompiledPath(text, root_type, tuple(ops), _link(ops))
        if info.complex_type is None:
            raise ConfigError(f"path {text!r}: {step} is a primitive and has no children")
        ops.append(("child", info.json_name, info.is_list))
        current = info.complex_type
        prefix.append(step)
        last_element = step
        i += 1
    raise ConfigError(f"path {text!r} ends without an element to write")


def write(path: CompiledPath, resource: Json, value: object, resolver: Resolver) -> None:
    """Set ``value`` at ``path`` in ``resource``, creating what is missing on the way."""
    path.apply(resource, value, resolver)


def _link(ops: list[Op]) -> Step:
    """Turn operations into nested closures, last operation innermost."""
    step: Step | None = None
    for op in reversed(ops):
        step = _closure(op, step)
    assert step is not None
    return step


def _closure(op: Op, nxt: Step | None) -> Step:
    code = op[0]
    if code == "refid":
        target_type = op[1]

        def refid(node: Json, value: Any, resolver: Resolver) -> None:
            node["reference"] = f"{target_type}/{value}"

        return refid
    if code == "set":
        return _setter(op)
    assert nxt is not None
    follow = nxt
    if code == "child" and op[2]:
        name = op[1]

        def child_list(node: Json, value: Any, resolver: Resolver) -> None:
            items = node.get(name)
            if items is None:
                items = node[name] = [{}]
            elif not items:
                items.append({})
            follow(items[0], value, resolver)

        return child_list
    if code == "child":
        name = op[1]

        def child(node: Json, value: Any, resolver: Resolver) -> None:
            found = node.get(name)
            if found is None:
                found = node[name] = {}
            follow(found, value, resolver)

        return child
    if code in ("select", "ext"):
        list_name, key, wanted = (
            (op[1], "system", op[2])
            if code == "select"
            else (
                "extension",
                "url",
                op[1],
            )
        )

        def select(node: Json, value: Any, resolver: Resolver) -> None:
            items = node.get(list_name)
            if items is None:
                items = node[list_name] = []
            for item in items:
                if item.get(key) == wanted:
                    follow(item, value, resolver)
                    return
            item = {key: wanted}
            items.append(item)
            follow(item, value, resolver)

        return select
    _, satellite, target, _element = op

    def resolve(node: Json, value: Any, resolver: Resolver) -> None:
        target_resource = resolver.resolve(satellite, target)
        node["reference"] = f"{target}/{target_resource['id']}"
        follow(target_resource, value, resolver)

    return resolve


def _setter(op: Op) -> Step:
    _, name, convert, inverse, is_list, extras = op
    displays = extras.get("displays") or {}
    unit = extras.get("unit")

    def setter(node: Json, value: Any, resolver: Resolver) -> None:
        if inverse and isinstance(value, str):
            value = inverse.get(value, value)
        converted = convert(value)
        node[name] = [converted] if is_list else converted
        if displays:
            label = displays.get(converted)
            if label is not None:
                node["display"] = label
        if unit:
            node["unit"] = unit
            node["system"] = UCUM
            node["code"] = unit

    return setter
