"""Checking delivered resources against the FHIR R4B models of ``fhir.resources``.

A full model validation costs about half a millisecond per resource, which
is more than the whole budget per record of a million-record delivery. The
writers therefore validate every resource of the first ``head`` of each
resource type and then every ``every``-th one (deterministic, so a rerun checks
the same records), while the builders check the variable parts of every
resource cheaply (identifier values, number ranges, date formats). Tests
validate everything with ``mode="all"``.

Errors name the resource, the element path and the kind of problem; the
offending value is never repeated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from aanlevering.errors import OutputError

ValidationMode = Literal["all", "sample"]


@dataclass(frozen=True)
class SamplePolicy:
    """Which resources of each type get a full model validation."""

    mode: ValidationMode = "sample"
    head: int = 100
    every: int = 1000

    def selects(self, index: int) -> bool:
        """Whether the ``index``-th resource of its type (0-based) is validated."""
        return self.mode == "all" or index < self.head or index % self.every == 0

    def positions(self, start: int, count: int) -> list[int]:
        """Offsets ``k`` in ``0..count-1`` with :meth:`selects` ``(start + k)``, in order."""
        if self.mode == "all":
            return list(range(count))
        chosen = set(range(min(count, max(0, self.head - start))))
        first_multiple = -(-start // self.every) * self.every
        chosen.update(range(first_multiple - start, count, self.every))
        return sorted(chosen)


VALIDATE_ALL = SamplePolicy(mode="all")


@cache
def model_class(resource_type: str) -> type[BaseModel]:
    """The R4B model of a resource type; OutputError for an unknown type."""
    from fhir.resources.R4B import get_fhir_model_class

    try:
        model: type[BaseModel] = get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        raise OutputError(f"{resource_type!r} is not an R4B resource type") from None
    return model


def validate_resource(resource: Mapping[str, Any] | str, where: str) -> None:
    """Validate one resource (a dict, or its JSON text); OutputError names what is wrong.

    ``where``: how to find the resource in the delivery, e.g.
    ``QuestionnaireResponse.ndjson line 17``.
    """
    if isinstance(resource, str):
        resource_type = _type_of_text(resource, where)
    else:
        resource_type = str(resource.get("resourceType", ""))
    model = model_class(resource_type)
    try:
        if isinstance(resource, str):
            model.model_validate_json(resource)
        else:
            model.model_validate(dict(resource))
    except ValidationError as error:
        raise OutputError(
            f"{where}: invalid FHIR R4B {resource_type}: {_describe(error)}"
        ) from None


def _type_of_text(text: str, where: str) -> str:
    marker = '"resourceType":"'
    start = text.find(marker)
    if start < 0:
        raise OutputError(f"{where}: not a FHIR resource (no resourceType)")
    start += len(marker)
    return text[start : text.index('"', start)]


def _describe(error: ValidationError, limit: int = 3) -> str:
    problems = []
    for item in error.errors(include_input=False, include_url=False)[:limit]:
        location = ".".join(str(part) for part in item["loc"]) or "(resource)"
        kind = item["type"]
        message = item["msg"] if kind != "value_error" else "value does not match its FHIR type"
        problems.append(f"{location}: {message} ({kind})")
    more = error.error_count() - limit
    if more > 0:
        problems.append(f"and {more} more")
    return "; ".join(problems)
