"""Registration catalogue: the hospital's delivery configs and the dictionaries they use.

Load with :func:`load_catalogue`; everything downstream works on the frozen
objects of :mod:`aanlevering.catalogue.model`.
"""

from __future__ import annotations

from aanlevering.catalogue.loader import CatalogueProblem, load_catalogue
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
