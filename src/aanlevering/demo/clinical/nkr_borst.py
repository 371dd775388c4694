"""Newly diagnosed breast cancers (NKR, mammacarcinoom).

Shaped after published Dutch figures: almost all women, median age around
62, mostly ductal carcinomas in the upper outer quadrant, tumour sizes
skewed small (median ~17 mm) with the T category derived from the size,
hormone receptors mostly positive, breast-conserving surgery more common
than mastectomy, and neoadjuvant therapy (with a later operation) for large,
node-positive or HER2-positive/triple-negative tumours. A few patients have
a tumour in both breasts (two records, opposite sides, same day).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from aanlevering.catalogue import Dataset
from aanlevering.demo.clinical.base import (
    CONFIRMED_ACTIVE,
    ClinicalModel,
    DatasetChunk,
    FillContext,
    FloatArray,
    IntArray,
    care_dates,
    column,
    days,
    pick,
)

_TOPOGRAPHY = ["C50.0", "C50.1", "C50.2", "C50.3", "C50.4", "C50.5", "C50.8", "C50.9"]


class NkrBorstModel(ClinicalModel):
    """Realistic values for the ``nkr-borst`` dictionary."""

    key_prefixes: ClassVar[Mapping[str, str]] = {"tumor": "TU"}
    expected_per_patient: ClassVar[Mapping[str, float]] = {"tumor": 1.02}

    def fhir_extras(self, dataset: str, role: str) -> Mapping[str, object]:
        """A confirmed, active breast cancer diagnosis."""
        if dataset == "tumor" and role == "focus":
            return {**CONFIRMED_ACTIVE, "code": {"text": "Mammacarcinoom"}}
        return {}

    def demographics(
        self, rng: np.random.Generator, n: int
    ) -> tuple[npt.NDArray[np.int8], FloatArray]:
        """About 1% men; age around 62."""
        sex = np.where(rng.random(n) < 0.01, 0, 1).astype(np.int8)
        age = np.clip(rng.normal(62, 12.5, n), 24, 96)
        return sex, age

    def record_counts(
        self,
        rng: np.random.Generator,
        dataset: Dataset,
        parent: DatasetChunk | None,
        n_patients: int,
    ) -> IntArray:
        """About 2% bilateral: two tumour records."""
        return np.where(rng.random(n_patients) < 0.02, 2, 1).astype(np.int64)

    def fill(
        self,
        rng: np.random.Generator,
        dataset: Dataset,
        chunk: DatasetChunk,
        context: FillContext,
    ) -> None:
        """Fill the tumour dataset."""
        if dataset.name != "tumor":
            return
        n = len(chunk)
        patient = chunk.patient
        second = np.r_[False, patient[1:] == patient[:-1]] if n else np.zeros(0, bool)
        incidence = care_dates(rng, n, weekdays_only=True)
        # the second tumour of a bilateral patient is diagnosed the same day
        first_index = np.where(second, np.arange(n) - 1, np.arange(n))
        incidence = incidence[first_index]
        side = pick(rng, ["L", "R"], [52, 48], n)
        side = np.where(second, np.where(side[first_index] == "L", "R", "L"), side).astype(object)
        topography = pick(rng, _TOPOGRAPHY, [1, 5, 15, 6, 45, 8, 12, 8], n)
        morphology = pick(rng, ["8500/3", "8520/3", "8522/3", "8480/3"], [78, 13, 5, 4], n)
        grade = pick(rng, ["1", "2", "3", "9"], [25, 45, 27, 3], n)
        size = np.clip(np.rint(rng.lognormal(np.log(17), 0.65, n)), 2, 160)
        ct = np.where(size <= 20, "T1", np.where(size <= 50, "T2", "T3")).astype(object)
        t4 = rng.random(n) < 0.04
        ct = np.where(t4, "T4", ct)
        tx = rng.random(n) < 0.01
        ct = np.where(tx, "TX", ct)
        size_missing = tx.copy()
        cn = pick(rng, ["N0", "N1", "N2", "N3", "NX"], [70, 22, 5, 2, 1], n)
        cm = pick(rng, ["M0", "M1"], [95, 5], n)
        er = pick(rng, ["POS", "NEG", "ONB"], [80, 18, 2], n)
        pr = np.where(
            er == "POS",
            pick(rng, ["POS", "NEG", "ONB"], [78, 20, 2], n),
            pick(rng, ["POS", "NEG", "ONB"], [5, 93, 2], n),
        ).astype(object)
        her2 = pick(rng, ["POS", "NEG", "ONB"], [14, 84, 2], n)
        triple_negative = (er == "NEG") & (pr == "NEG") & (her2 == "NEG")
        neo_candidate = (ct == "T3") | (ct == "T4") | (cn != "N0")
        neo_candidate |= ((her2 == "POS") | triple_negative) & (ct != "T1")
        neoadjuvant = neo_candidate & (cm == "M0") & (rng.random(n) < 0.75)
        operation = np.where(
            cm == "M1",
            pick(rng, ["GEEN", "BSO", "MAST"], [85, 5, 10], n),
            pick(rng, ["BSO", "MAST", "GEEN"], [64, 31, 5], n),
        ).astype(object)
        operated = operation != "GEEN"
        wait = np.where(neoadjuvant, rng.integers(130, 200, n), rng.integers(14, 50, n))
        operation_date = incidence + days(wait)
        chunk.columns.update(
            {
                "incidentiedatum": column("date", incidence),
                "topografie": column("str", topography),
                "lateraliteit": column("str", side),
                "morfologie": column("str", morphology),
                "gradering": column("str", grade),
                "ct": column("str", ct),
                "cn": column("str", cn),
                "cm": column("str", cm),
                "er_status": column("str", er),
                "pr_status": column("str", pr),
                "her2_status": column("str", her2),
                "tumorgrootte_mm": column("int", size, missing=size_missing),
                "type_operatie": column("str", operation),
                "datum_operatie": column("date", operation_date, missing=~operated),
                "neoadjuvant": column("bool", neoadjuvant),
            }
        )
