"""The small FHIRPath subset that registration mappings use, and nothing more.

A full FHIRPath engine is a large dependency for what the catalogue needs:
reading one value per variable from a resource. Supported, in any order::

    performedDateTime                      element names, dotted
    code.coding.where(system='http://…').code
                                           where(<element> = '<text>')
    extension('https://…/urgentie').valueCode
                                           extensions by url
    subject.resolve().gender               follow a Reference to its resource
    value                                  a choice element: valueQuantity, valueCode, …
    Patient.birthDate                      a leading type: the focus resource if it
                                           has that type, else its subject (Patient)
                                           or encounter (Encounter)
    first()                                the first item

Arrays are flattened at every step (``code.coding`` is every coding of the
code) and the caller takes the first value ("first value wins"). Not
supported: operators, other functions, indexers, extensions on primitive
elements (``_family``), contained resources (``#id``). Unsupported syntax is
rejected when the mapping is compiled, never silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

#: Looks up the resource a reference string points at (None: not in the input).
Resolver = Callable[[str], Mapping[str, Any] | None]

StepKind = Literal["name", "where", "extension", "resolve", "first"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WHERE = re.compile(r"^where\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*'([^']*)'\s*\)$")
_EXTENSION = re.compile(r"^extension\(\s*'([^']*)'\s*\)$")
_NO_ARGS = re.compile(r"^(resolve|first)\(\s*\)$")

#: Leading types other than the focus's own, and the element that leads to them.
ROOT_LINKS: Mapping[str, tuple[str, ...]] = {
    "Patient": ("subject", "patient"),
    "Encounter": ("encounter", "context"),
}


class PathSyntaxError(ValueError):
    """The expression is outside the supported subset (the message says where)."""


@dataclass(frozen=True)
class Step:
    """One step of a path."""

    kind: StepKind
    name: str = ""
    value: str = ""


@dataclass(frozen=True)
class FhirPath:
    """A compiled expression: optional leading type, then steps."""

    text: str
    root_type: str | None
    steps: tuple[Step, ...]

    @property
    def reads_patient(self) -> bool:
        """Whether the value comes from the Patient (so it may identify the person)."""
        first = self.steps[0].name if self.steps else ""
        return self.root_type == "Patient" or first in {"subject", "patient"}


def _split(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    quoted = False
    current: list[str] = []
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        if char == "." and depth == 0 and not quoted:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if quoted or depth:
        raise PathSyntaxError(f"unbalanced quote or parenthesis in {text!r}")
    parts.append("".join(current).strip())
    return parts


def _step(segment: str, text: str) -> Step:
    if _NAME.match(segment):
        return Step("name", segment)
    if match := _WHERE.match(segment):
        return Step("where", match.group(1), match.group(2))
    if match := _EXTENSION.match(segment):
        return Step("extension", value=match.group(1))
    if match := _NO_ARGS.match(segment):
        kind: StepKind = "resolve" if match.group(1) == "resolve" else "first"
        return Step(kind)
    raise PathSyntaxError(
        f"{segment!r} in {text!r} is not supported (use element names, where(x='…'), "
        "extension('url'), resolve(), first())"
    )


@cache
def compile_path(text: str) -> FhirPath:
    """Parse ``text``; :class:`PathSyntaxError` when it leaves the subset."""
    if not text or not text.strip():
        raise PathSyntaxError("empty path")
    segments = _split(text.strip())
    if any(not segment for segment in segments):
        raise PathSyntaxError(f"empty step in {text!r}")
    root: str | None = None
    if _NAME.match(segments[0]) and segments[0][0].isupper():
        root = segments[0]
        segments = segments[1:]
    return FhirPath(text=text, root_type=root, steps=tuple(_step(s, text) for s in segments))


def _children(item: Any, name: str) -> list[Any]:
    if not isinstance(item, Mapping):
        return []
    if name in item:
        value = item[name]
    else:
        # A choice element (value[x], performed[x], onset[x]): first one present.
        value = next(
            (
                item[key]
                for key in item
                if key.startswith(name) and len(key) > len(name) and key[len(name)].isupper()
            ),
            None,
        )
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _apply(step: Step, items: Sequence[Any], resolve: Resolver) -> list[Any]:
    if step.kind == "name":
        return [child for item in items for child in _children(item, step.name)]
    if step.kind == "where":
        return [
            item
            for item in items
            if isinstance(item, Mapping)
            and item.get(step.name) is not None
            and str(item.get(step.name)) == step.value
        ]
    if step.kind == "extension":
        return [
            extension
            for item in items
            for extension in _children(item, "extension")
            if isinstance(extension, Mapping) and extension.get("url") == step.value
        ]
    if step.kind == "resolve":
        found = []
        for item in items:
            reference = item.get("reference") if isinstance(item, Mapping) else item
            if isinstance(reference, str) and (resource := resolve(reference)) is not None:
                found.append(resource)
        return found
    return list(items[:1])


def start_items(path: FhirPath, resource: Mapping[str, Any], resolve: Resolver) -> list[Any]:
    """Where evaluation starts: the resource, or what its leading type points at."""
    if path.root_type is None or path.root_type == resource.get("resourceType"):
        return [resource]
    for link in ROOT_LINKS.get(path.root_type, ()):
        targets = _apply(Step("resolve"), _children(resource, link), resolve)
        typed = [t for t in targets if t.get("resourceType") == path.root_type]
        if typed:
            return typed
    return []


def evaluate(path: FhirPath, resource: Mapping[str, Any], resolve: Resolver) -> list[Any]:
    """Every item the path selects on ``resource``, in document order."""
    items = start_items(path, resource, resolve)
    for step in path.steps:
        if not items:
            break
        items = _apply(step, items, resolve)
    return items


def first_value(path: FhirPath, resource: Mapping[str, Any], resolve: Resolver) -> Any:
    """The first selected item, or None: one value per variable."""
    items = evaluate(path, resource, resolve)
    return items[0] if items else None
