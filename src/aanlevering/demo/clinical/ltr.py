"""Trauma admissions (Landelijke Traumaregistratie).

Two populations as in the Dutch trauma registry: younger people (more men)
in traffic, sport and violence, and the elderly (more women) after low falls.
The Injury Severity Score is computed from three body-region AIS scores, so
only attainable ISS values occur and most are low; GCS, blood pressure, IC
admission, length of stay and discharge destination follow severity.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from aanlevering.catalogue import Dataset
from aanlevering.demo.clinical.base import (
    ClinicalModel,
    DatasetChunk,
    FillContext,
    FloatArray,
    care_dates,
    column,
    days,
    pick,
)

_MECHANISMS = [
    "VK-AUTO",
    "VK-FIETS",
    "VK-VOETG",
    "VAL-LAAG",
    "VAL-HOOG",
    "GEWELD",
    "SPORT",
    "OVERIG",
]


class LtrModel(ClinicalModel):
    """Realistic values for the ``ltr`` dictionary."""

    key_prefixes: ClassVar[Mapping[str, str]] = {"trauma": "TR"}

    def fhir_extras(self, dataset: str, role: str) -> Mapping[str, object]:
        """Trauma contacts are emergency encounters."""
        if dataset == "trauma" and role == "focus":
            return {
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "EMER",
                    "display": "emergency",
                }
            }
        return {}

    def demographics(
        self, rng: np.random.Generator, n: int
    ) -> tuple[npt.NDArray[np.int8], FloatArray]:
        """Young adults and children (60% men) and the elderly (60% women)."""
        elderly = rng.random(n) < 0.45
        age = np.where(
            elderly,
            np.clip(rng.normal(81, 8, n), 65, 103),
            np.clip(rng.gamma(3.0, 11.0, n), 1.5, 64),
        )
        male = rng.random(n) < np.where(elderly, 0.4, 0.62)
        sex = np.where(male, 0, 1)
        sex = np.where(rng.random(n) < 0.003, 2, sex).astype(np.int8)
        return sex, age

    def fill(
        self,
        rng: np.random.Generator,
        dataset: Dataset,
        chunk: DatasetChunk,
        context: FillContext,
    ) -> None:
        """Fill the trauma dataset."""
        if dataset.name != "trauma":
            return
        n = len(chunk)
        age = context.age_years[chunk.patient]
        elderly = age >= 65
        ongeval = care_dates(rng, n, summer_peak=True)
        mechanism = np.where(
            elderly,
            pick(rng, _MECHANISMS, [4, 6, 2, 75, 6, 1, 1, 5], n),
            pick(rng, _MECHANISMS, [15, 25, 5, 10, 12, 8, 15, 10], n),
        )
        # AIS of the three most injured body regions, sorted a >= b >= c
        worst = rng.choice(np.arange(1, 7), size=n, p=[0.30, 0.30, 0.24, 0.10, 0.045, 0.015])
        second = np.minimum(
            worst, rng.choice(np.arange(0, 6), size=n, p=[0.45, 0.25, 0.18, 0.08, 0.03, 0.01])
        )
        third = np.minimum(second, rng.choice(np.arange(0, 4), size=n, p=[0.65, 0.22, 0.1, 0.03]))
        iss = np.where(worst == 6, 75, worst**2 + second**2 + third**2)
        severe = iss >= 16
        gcs = np.where(
            severe,
            np.clip(15 - rng.poisson(4.0, n), 3, 15),
            np.clip(15 - rng.poisson(0.15, n), 3, 15),
        )
        sbp = np.clip(np.rint(rng.normal(np.where(severe, 118, 138), 22, n)), 50, 230)
        rr = np.clip(np.rint(rng.normal(np.where(severe, 21, 16), 3.5, n)), 6, 45)
        vervoer = np.where(
            severe,
            pick(rng, ["AMB", "MMT", "EIGEN"], [78, 20, 2], n),
            pick(rng, ["AMB", "MMT", "EIGEN"], [62, 1, 37], n),
        )
        # most arrive within hours; a few present the next day
        late = rng.random(n) < 0.04
        arrival_day = ongeval + days(late.astype(np.int64))
        hour = np.clip(rng.normal(16, 4.5, n), 0, 23.98)
        arrival = arrival_day.astype("datetime64[m]") + np.rint(hour * 60).astype("timedelta64[m]")
        ic = rng.random(n) < np.where(severe, 0.6, 0.04)
        died = rng.random(n) < np.where(
            iss == 75, 0.7, np.where(severe, 0.14, 0.006) * np.where(elderly, 2.0, 1.0)
        )
        los = np.where(
            died,
            rng.geometric(0.3, n) - 1,
            rng.geometric(1 / np.where(severe, 12, np.where(elderly, 7, 3)), n),
        )
        ontslag = arrival_day + days(los)
        destination = np.where(
            elderly,
            pick(rng, ["HUIS", "ZKH", "REVA", "VPH"], [45, 6, 14, 35], n),
            pick(rng, ["HUIS", "ZKH", "REVA", "VPH"], [86, 6, 7, 1], n),
        )
        destination = np.where(died, "OVL", destination).astype(object)
        chunk.columns.update(
            {
                "datum_ongeval": column("date", ongeval),
                "aankomst_seh": column("datetime", arrival),
                "mechanisme": column("str", mechanism),
                "vervoer": column("str", vervoer),
                "gcs": column("int", gcs),
                "systolische_bloeddruk": column("int", sbp),
                "ademfrequentie": column("int", rr),
                "iss": column("int", iss),
                "ic_opname": column("bool", ic),
                "datum_ontslag": column("date", ontslag),
                "ontslagbestemming": column("str", destination),
            }
        )
