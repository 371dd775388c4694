"""Registration catalogue: the hospital's delivery configs and the dictionaries they use.

Load with :func:`load_catalogue`; everything downstream works on the frozen
objects of :mod:`aanlevering.catalogue.model`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aanlevering.catalogue.model import (
    Catalogue,
    CsvDatasetSource,
    CsvSource,
    DataDictionary,
    Dataset,
    FhirDatasetSource,
    FhirSource,
    FhirVariableSource,
    OptionSet,
    RegistrationConfig,
    Validation,
    Variable,
)

if TYPE_CHECKING:
    from aanlevering.catalogue.loader import CatalogueProblem, load_catalogue

__all__ = [
    "Catalogue",
    "CatalogueProblem",
    "CsvDatasetSource",
    "CsvSource",
    "DataDictionary",
    "Dataset",
    "FhirDatasetSource",
    "FhirSource",
    "FhirVariableSource",
    "OptionSet",
    "RegistrationConfig",
    "Validation",
    "Variable",
    "load_catalogue",
]


def __getattr__(name: str) -> Any:
    """The loader's names, imported when first asked for (decision 0865).

    Why: the loader brings YAML and JSON Schema (a quarter of a FHIR worker
    process's start), which the processes that only use the frozen model (the
    extract's and the output's worker processes) never need.
    """
    if name in {"CatalogueProblem", "load_catalogue"}:
        from aanlevering.catalogue import loader

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
