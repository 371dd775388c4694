"""Clinical value models per data dictionary; the generic model covers the rest."""

from __future__ import annotations

from collections.abc import Mapping

from aanlevering.demo.clinical.base import ClinicalModel
from aanlevering.demo.clinical.dsaa import DsaaModel
from aanlevering.demo.clinical.ltr import LtrModel
from aanlevering.demo.clinical.nkr_borst import NkrBorstModel

#: Hand-written models by dictionary id.
MODELS: Mapping[str, type[ClinicalModel]] = {
    "dsaa": DsaaModel,
    "ltr": LtrModel,
    "nkr-borst": NkrBorstModel,
}


def model_for(dictionary_id: str) -> ClinicalModel:
    """The hand-written model of a dictionary, or the generic one when there is none."""
    return MODELS.get(dictionary_id, ClinicalModel)()


__all__ = ["MODELS", "ClinicalModel", "model_for"]
