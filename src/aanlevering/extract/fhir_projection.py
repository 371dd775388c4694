"""Which top-level elements of a FHIR resource the extract can ever read; the rest is dropped.

The store used to keep every resource of the export whole (narrative ``text``,
``meta``, codings nobody maps...), which made memory grow with the raw JSON.
The compiled mappings name every element they read: a path's steps, its code
filters, the links to related resources, and the fixed elements the extract
itself looks at (``status``, ``verificationStatus``, ``subject``, ...). Keeping
only those top-level keys (and, for a name, the choice elements ``name[X]``
that :func:`aanlevering.extract.fhirpath._children` may pick) leaves every
evaluation unchanged: a path can only reach what it names. Patients are kept
whole, since identity reads many of their elements (decision 0135).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from aanlevering.extract.fhirpath import ROOT_LINKS, FhirPath

Resource = dict[str, Any]

#: Elements the extract reads outside the mapping paths (ids, links, status, identity).
ALWAYS_KEPT = frozenset(
    {
        "resourceType",
        "id",
        "identifier",
        "status",
        "verificationStatus",
        "subject",
        "patient",
        "encounter",
        "context",
    }
)
#: Resource types kept whole.
KEPT_WHOLE = frozenset({"Patient"})


def read_names(paths: Iterable[FhirPath], links: Iterable[str]) -> frozenset[str]:
    """Every element name the paths and links may read at a resource's top level."""
    names = set(ALWAYS_KEPT) | set(links)
    for path in paths:
        for links_of_root in ROOT_LINKS.values():
            names.update(links_of_root)
        for step in path.steps:
            if step.kind in ("name", "where"):
                names.add(step.name)
            elif step.kind == "extension":
                names.add("extension")
    return frozenset(names)


def _kept(key: str, names: frozenset[str]) -> bool:
    if key in names:
        return True
    # A choice element (valueQuantity for ``value``): the name is a prefix followed by an
    # upper-case letter, as fhirpath._children matches it.
    return any(key[end].isupper() and key[:end] in names for end in range(1, len(key)))


def projector(names: frozenset[str]) -> Callable[[Resource], Resource]:
    """A function keeping only the readable top-level elements of a resource (order kept)."""

    verdicts: dict[str, bool] = {}  # element names repeat across millions of resources

    def kept(key: str) -> bool:
        verdict = verdicts.get(key)
        if verdict is None:
            verdict = verdicts[key] = _kept(key, names)
        return verdict

    def project(resource: Resource) -> Resource:
        if resource.get("resourceType") in KEPT_WHOLE:
            return resource
        return {key: value for key, value in resource.items() if kept(key)}

    return project
