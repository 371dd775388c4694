"""The FHIR element model, as far as mapping checks need it, read from fhir.resources.

A mapping path is checked against the element definitions of the resource it
starts from, so a typo (``performedDatetime``), a whole Quantity where a number
is needed or a path into a primitive is reported by ``registrations check``
instead of as an empty column at run time. fhir.resources ships the R4B
models; for the elements mappings use (R4 resources and data types) R4B
defines the same names and types, so they serve as the R4 model here.

A type is named as FHIR names it: ``Procedure``, ``CodeableConcept``,
``EncounterHospitalization`` (a backbone element) or a primitive such as
``dateTime``.
"""

from __future__ import annotations

import difflib
import typing
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import UnionType
from typing import Any

import fhir.resources.R4B
from fhir.resources.R4B import get_fhir_model_class

#: Primitive types by the Python type fhir.resources uses when it has no marker class.
_PLAIN_PRIMITIVES = {bool: "boolean", str: "string", int: "integer", float: "decimal"}


@dataclass(frozen=True)
class ElementType:
    """What one element of a type holds."""

    name: str
    type: str
    primitive: bool
    many: bool
    #: For a Reference: the resource types it may point at (empty: any).
    targets: tuple[str, ...] = ()


def _first_lower(name: str) -> str:
    return name[:1].lower() + name[1:]


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The element's item annotation and whether it repeats (Optional/List removed)."""
    many = False
    while True:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            lists = [a for a in args if typing.get_origin(a) in (list, typing.List)]  # noqa: UP006
            annotation = lists[0] if lists else args[0]
        elif origin in (list, typing.List):  # noqa: UP006
            many = True
            annotation = typing.get_args(annotation)[0]
        else:
            return annotation, many


def _type_name(annotation: Any) -> tuple[str, bool]:
    """``(FHIR type name, primitive)`` of an unwrapped annotation."""
    metadata = getattr(annotation, "__metadata__", None)
    if metadata:
        return _first_lower(type(metadata[0]).__name__), True
    if annotation in _PLAIN_PRIMITIVES:
        return _PLAIN_PRIMITIVES[annotation], True
    name = getattr(annotation, "__name__", str(annotation))
    return (name[: -len("Type")] if name.endswith("Type") else name), False


@cache
def model_class(type_name: str) -> Any | None:
    """The fhir.resources class of a complex type or resource, None when FHIR has none."""
    try:
        return get_fhir_model_class(type_name)
    except (ValueError, KeyError, AttributeError, ImportError):
        return None


@cache
def resource_types() -> tuple[str, ...]:
    """Every resource type of the model, sorted."""
    resource = model_class("Resource")
    found = []
    for module in Path(fhir.resources.R4B.__file__).parent.glob("*.py"):
        if module.stem.startswith("_") or module.stem in {"fhirtypes", "fhirtypesvalidators"}:
            continue
        for candidate in (module.stem,):
            cls = _class_in_module(candidate)
            if cls is not None and resource is not None and issubclass(cls, resource):
                found.append(cls.__name__)
    return tuple(sorted(set(found)))


def _class_in_module(stem: str) -> Any | None:
    import importlib

    try:
        module = importlib.import_module(f"fhir.resources.R4B.{stem}")
    except ImportError:
        return None
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and value.__name__.lower() == stem
            and value.__module__.endswith(stem)
        ):
            return value
    return None


def is_resource_type(type_name: str) -> bool:
    """Whether ``type_name`` is a FHIR resource (``Procedure``), not a data type."""
    cls = model_class(type_name)
    resource = model_class("Resource")
    return cls is not None and resource is not None and issubclass(cls, resource)


@cache
def elements(type_name: str) -> dict[str, ElementType]:
    """Every element of a complex type or resource by name (choice types by full name)."""
    cls = model_class(type_name)
    if cls is None:
        return {}
    found: dict[str, ElementType] = {}
    for name, info in cls.model_fields.items():
        if name.endswith("__ext") or name == "fhir_comments":
            continue
        annotation, many = _unwrap(info.annotation)
        element_type, primitive = _type_name(annotation)
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        targets = tuple(str(t) for t in extra.get("enum_reference_types") or ())
        found[name] = ElementType(name, element_type, primitive, many, targets)
    return found


@cache
def choices(type_name: str) -> dict[str, tuple[ElementType, ...]]:
    """Choice elements (``value[x]``) by their base name: ``value`` -> valueQuantity, ..."""
    cls = model_class(type_name)
    if cls is None:
        return {}
    grouped: dict[str, list[ElementType]] = {}
    known = elements(type_name)
    for name, info in cls.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        base = extra.get("one_of_many")
        if isinstance(base, str) and name in known:
            grouped.setdefault(base, []).append(known[name])
    return {base: tuple(options) for base, options in grouped.items()}


def element(type_name: str, name: str) -> tuple[ElementType, ...]:
    """The element(s) ``name`` selects on ``type_name``: one, every option of a choice, or none."""
    found = elements(type_name).get(name)
    if found is not None:
        return (found,)
    return choices(type_name).get(name, ())


def close_names(name: str, candidates: typing.Iterable[str], limit: int = 3) -> list[str]:
    """Names of ``candidates`` that look like a typo of ``name`` (case ignored)."""
    pool = list(candidates)
    lowered = {c.lower(): c for c in pool}
    if name.lower() in lowered:
        return [lowered[name.lower()]]
    matched = difflib.get_close_matches(name.lower(), list(lowered), n=limit, cutoff=0.6)
    return [lowered[m] for m in matched]
