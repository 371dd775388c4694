"""Aneurysm repairs and their complications (DICA DSAA).

Shapes after the Dutch audit's published figures: mostly elderly men,
elective EVAR for infrarenal aneurysms of 55-70 mm, a minority of ruptures
with open repair, high ASA classes, 30-day mortality of a few percent
elective and about a third after rupture. Codes are the dictionary's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from aanlevering.catalogue import Dataset
from aanlevering.demo.clinical.base import (
    CONFIRMED_ACTIVE,
    SCT,
    ClinicalModel,
    DatasetChunk,
    FillContext,
    FloatArray,
    IntArray,
    care_dates,
    column,
    concept,
    days,
    pick,
)

_CATEGORY = "https://aanlevering.example/fhir/CodeSystem/conditie-categorie"


class DsaaModel(ClinicalModel):
    """Realistic values for the ``dsaa`` dictionary."""

    key_prefixes: ClassVar[Mapping[str, str]] = {"operatie": "OK", "complicatie": "CP"}
    iso_date_datasets: ClassVar[frozenset[str]] = frozenset({"complicatie"})
    expected_per_patient: ClassVar[Mapping[str, float]] = {"operatie": 1.0, "complicatie": 0.35}

    def fhir_extras(self, dataset: str, role: str) -> Mapping[str, object]:
        """SNOMED-coded aneurysm diagnosis as the operation's reason; procedure text."""
        if dataset == "operatie" and role == "focus":
            return {"code": {"text": "Correctie aneurysma aorta abdominalis"}}
        if dataset == "operatie" and role == "resolve:reasonReference":
            return {
                **CONFIRMED_ACTIVE,
                "category": [concept(_CATEGORY, "diagnose")],
                "code": concept(SCT, "233985008", "Abdominal aortic aneurysm"),
            }
        if dataset == "complicatie" and role == "focus":
            return {"verificationStatus": CONFIRMED_ACTIVE["verificationStatus"]}
        return {}

    def demographics(
        self, rng: np.random.Generator, n: int
    ) -> tuple[npt.NDArray[np.int8], FloatArray]:
        """About 85% men; age around 73."""
        sex = np.where(rng.random(n) < 0.85, 0, 1).astype(np.int8)
        age = np.clip(rng.normal(73, 8, n), 50, 95)
        return sex, age

    def record_counts(
        self,
        rng: np.random.Generator,
        dataset: Dataset,
        parent: DatasetChunk | None,
        n_patients: int,
    ) -> IntArray:
        """One repair per patient; complications more often after open or acute repair."""
        if parent is None:
            return np.ones(n_patients, dtype=np.int64)
        techniek = parent.columns["techniek"].values
        urgentie = parent.columns["urgentie"].values
        rate = np.where(techniek == "OPEN", 0.45, 0.18)
        rate = np.where(urgentie == "3", 0.9, rate)
        return rng.poisson(rate).clip(0, 4).astype(np.int64)

    def fill(
        self,
        rng: np.random.Generator,
        dataset: Dataset,
        chunk: DatasetChunk,
        context: FillContext,
    ) -> None:
        """Fill one dataset's realistic columns."""
        if dataset.name == "operatie":
            self._operatie(rng, chunk, context)
        elif dataset.name == "complicatie":
            self._complicatie(rng, chunk, context)

    def _operatie(
        self, rng: np.random.Generator, chunk: DatasetChunk, context: FillContext
    ) -> None:
        n = len(chunk)
        sex = context.sex[chunk.patient]
        urgentie = pick(rng, ["1", "2", "3"], [75, 10, 15], n)
        acute = urgentie == "3"
        elective = urgentie == "1"
        operatie = care_dates(rng, n, weekdays_only=True)
        # ruptures come in any day of the week
        operatie = np.where(acute, care_dates(rng, n), operatie)
        type_aneurysma = pick(rng, ["1", "2", "3", "4"], [80, 12, 5, 3], n)
        techniek = pick(rng, ["EVAR", "OPEN", "FEVAR", "BEVAR"], [70, 24, 4, 2], n)
        techniek = np.where(acute, pick(rng, ["EVAR", "OPEN"], [45, 55], n), techniek)
        complex_neck = (type_aneurysma == "2") | (type_aneurysma == "3")
        techniek = np.where(
            complex_neck & ~acute, pick(rng, ["FEVAR", "OPEN", "EVAR"], [50, 40, 10], n), techniek
        )
        techniek = np.where(
            (type_aneurysma == "4") & ~acute, pick(rng, ["BEVAR", "OPEN"], [60, 40], n), techniek
        )
        threshold = np.where(sex == 0, 55, 50)
        diameter = np.where(
            acute,
            rng.normal(78, 12, n),
            threshold + np.abs(rng.normal(0, 9, n)) + rng.integers(0, 4, n),
        )
        diameter = np.clip(np.rint(diameter), 40, 130)
        asa = np.where(
            acute,
            pick(rng, ["3", "4", "5"], [20, 60, 20], n),
            pick(rng, ["1", "2", "3", "4"], [1, 16, 62, 21], n),
        )
        bmi = np.round(np.clip(rng.normal(27, 4, n), 16, 48), 1)
        creatinine = np.rint(np.clip(rng.lognormal(np.log(95), 0.3, n), 40, 900))
        creatinine = np.where(acute, np.rint(creatinine * 1.3), creatinine)

        opname = operatie - days(np.where(elective, rng.choice([0, 1], n, p=[0.3, 0.7]), 0))
        opname = np.where(urgentie == "2", operatie - days(rng.integers(0, 3, n)), opname)
        endovascular = techniek != "OPEN"
        los = np.where(
            endovascular, 1 + rng.poisson(1.5, n), 6 + rng.poisson(np.where(acute, 8, 3), n)
        )
        ontslag = operatie + days(los)
        mortality = np.where(endovascular, 0.012, 0.04)
        mortality = np.where(acute, 0.35, mortality)
        died = rng.random(n) < mortality
        death = operatie + days(rng.integers(0, 31, n))
        in_hospital = died & (death <= ontslag)
        ontslag = np.where(in_hospital, death, ontslag)

        chunk.columns.update(
            {
                "datum_operatie": column("date", operatie),
                "datum_opname": column("date", opname),
                "datum_ontslag": column("date", ontslag),
                "type_aneurysma": column("str", type_aneurysma),
                "diameter_aneurysma": column("int", diameter),
                "urgentie": column("str", urgentie),
                "techniek": column("str", techniek),
                "asa_klasse": column("str", asa),
                "bmi": column("float", bmi, missing=rng.random(n) < 0.04),
                "creatinine_preop": column("float", creatinine, decimals=0),
                "overleden_30d": column("bool", died),
                "datum_overlijden": column("date", death, missing=~died),
            }
        )

    def _complicatie(
        self, rng: np.random.Generator, chunk: DatasetChunk, context: FillContext
    ) -> None:
        n = len(chunk)
        parent = context.parents["operatie"]
        assert chunk.parent is not None
        idx = chunk.parent
        open_repair = parent.columns["techniek"].values[idx] == "OPEN"
        operatie = parent.columns["datum_operatie"].values[idx].astype("datetime64[D]")
        died = parent.columns["overleden_30d"].values[idx].astype(np.bool_)
        death = parent.columns["datum_overlijden"].values[idx].astype("datetime64[D]")
        soort = np.where(
            open_repair,
            pick(rng, ["NABL", "DARM", "NIER", "WOND", "MI", "PNEU"], [20, 12, 20, 15, 10, 23], n),
            pick(rng, ["NABL", "DARM", "NIER", "WOND", "MI", "PNEU"], [25, 3, 15, 30, 10, 17], n),
        )
        offset = np.minimum(rng.geometric(0.25, n) - 1, 30)
        datum = operatie + days(offset)
        datum = np.where(died & (datum > death), death, datum)
        clavien = pick(rng, ["1", "2", "3a", "3b", "4a", "4b"], [20, 36, 14, 16, 10, 4], n)
        # a death within 30 days is graded V on the complication that caused it
        last_of_operation = np.r_[idx[1:] != idx[:-1], True] if n else np.zeros(0, bool)
        clavien = np.where(died & last_of_operation, "5", clavien)
        reintervention = (clavien == "3b") | (clavien == "4a") | (clavien == "4b")
        reintervention |= (clavien == "3a") & (rng.random(n) < 0.5)
        chunk.columns.update(
            {
                "datum_complicatie": column("date", datum),
                "soort_complicatie": column("str", soort),
                "clavien_dindo": column("str", clavien.astype(object)),
                "reinterventie": column("bool", reintervention),
            }
        )
