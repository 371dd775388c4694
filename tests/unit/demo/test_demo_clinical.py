"""Clinical values: realistic per registration, and dictionary-true for the generic model."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from aanlevering.catalogue import Catalogue
from aanlevering.demo.clinical import ClinicalModel
from aanlevering.demo.clinical.base import DatasetChunk, condition_mask
from aanlevering.demo.people import IdParameters, make_people
from aanlevering.demo.records import RegistrationPlan, generate_records, plan_registration

N = 20_000


def records(plan: RegistrationPlan, n: int = N, seed: int = 1) -> dict[str, DatasetChunk]:
    rng = np.random.default_rng(seed)
    sex, age = plan.model.demographics(rng, n)
    people = make_people(rng, np.arange(n, dtype=np.int64), sex, age, IdParameters.from_seed(1))
    return generate_records(plan, rng, people, age, record_offsets={}, key_offset=0)


def values(chunk: DatasetChunk, name: str) -> np.ndarray:
    return chunk.columns[name].values


def test_aneurysm_repairs_look_like_the_audit(catalogue: Catalogue) -> None:
    plan = plan_registration(catalogue.get("dica-dsaa"))
    data = records(plan)
    op = data["operatie"]
    assert np.mean(values(op, "geslacht") == "M") > 0.8
    elective = values(op, "urgentie") == "1"
    diameter = values(op, "diameter_aneurysma")[elective]
    assert np.mean((diameter >= 50) & (diameter <= 90)) > 0.97
    assert 60 <= np.median(diameter) <= 66
    assert np.mean(values(op, "techniek")[elective] == "EVAR") > 0.5
    died = values(op, "overleden_30d").astype(bool)
    assert np.array_equal(died, ~op.columns["datum_overlijden"].missing)
    assert 0.02 < died.mean() < 0.12
    opname, operatie, ontslag = (
        values(op, v) for v in ("datum_opname", "datum_operatie", "datum_ontslag")
    )
    assert np.all(opname <= operatie) and np.all(operatie <= ontslag)
    death = values(op, "datum_overlijden")[died]
    assert np.all((death >= operatie[died]) & (death <= operatie[died] + np.timedelta64(30, "D")))
    comp = data["complicatie"]
    assert comp.parent is not None
    parent_day = operatie[comp.parent]
    day = values(comp, "datum_complicatie")
    assert np.all((day >= parent_day) & (day <= parent_day + np.timedelta64(30, "D")))
    graded_five = values(comp, "clavien_dindo") == "5"
    assert np.all(died[comp.parent][graded_five])
    assert np.array_equal(values(comp, "operatie_id"), values(op, "operatie_id")[comp.parent])


def test_trauma_severity_is_skewed_low_and_attainable(catalogue: Catalogue) -> None:
    plan = plan_registration(catalogue.get("ldtr"))
    trauma = records(plan)["trauma"]
    iss = values(trauma, "iss")
    attainable = {a * a + b * b + c * c for a, b, c in itertools.product(range(6), repeat=3)}
    attainable = (attainable - {0}) | {75}
    assert set(iss.tolist()) <= attainable
    assert np.mean(iss <= 8) > 0.5
    assert np.mean(iss >= 16) > 0.05
    gcs = values(trauma, "gcs")
    assert gcs.min() >= 3 and gcs.max() <= 15 and np.median(gcs) == 15
    accident = values(trauma, "datum_ongeval")
    arrival = values(trauma, "aankomst_seh").astype("datetime64[D]")
    assert np.all(arrival >= accident)
    assert np.all(values(trauma, "datum_ontslag") >= accident)
    assert 0.01 < np.mean(values(trauma, "ontslagbestemming") == "OVL") < 0.15


def test_breast_tumours_are_staged_consistently(catalogue: Catalogue) -> None:
    plan = plan_registration(catalogue.get("nkr-borst"))
    tumour = records(plan)["tumor"]
    assert np.mean(values(tumour, "geslacht") == "V") > 0.97
    size = values(tumour, "tumorgrootte_mm")
    ct = values(tumour, "ct")
    known = ~tumour.columns["tumorgrootte_mm"].missing & (ct != "T4") & (ct != "TX")
    expected = np.where(size <= 20, "T1", np.where(size <= 50, "T2", "T3"))
    assert np.array_equal(ct[known], expected[known])
    assert 14 <= np.median(size[known]) <= 20
    operated = np.isin(values(tumour, "type_operatie"), ["BSO", "MAST"])
    assert np.array_equal(operated, ~tumour.columns["datum_operatie"].missing)
    assert np.all(
        values(tumour, "datum_operatie")[operated] >= values(tumour, "incidentiedatum")[operated]
    )
    patient = tumour.patient
    pairs = np.flatnonzero(patient[1:] == patient[:-1])
    assert 0.01 * N < len(pairs) < 0.04 * N
    side = values(tumour, "lateraliteit")
    day = values(tumour, "incidentiedatum")
    assert np.all(side[pairs] != side[pairs + 1])
    assert np.all(day[pairs] == day[pairs + 1])


@pytest.mark.parametrize("registration", ["dica-dsaa", "ldtr", "nkr-borst"])
def test_generic_model_respects_the_dictionary_alone(
    catalogue: Catalogue, registration: str
) -> None:
    """A registration without a hand-written model still gets dictionary-true values."""
    config = catalogue.get(registration)
    plan = dataclasses.replace(plan_registration(config), model=ClinicalModel())
    data = records(plan, n=2_000)
    for dplan in plan.datasets:
        dataset = dplan.dataset
        chunk = data[dataset.name]
        for name in dplan.variables:
            variable = dataset.variable(name)
            column = chunk.columns[name]
            present = column.values[~column.missing]
            if variable.option_set:
                codes = config.dictionary.option_sets[variable.option_set].codes
                assert set(present.tolist()) <= set(codes), name
            if column.kind in ("int", "float"):
                assert variable.min is None or present.min() >= variable.min
                assert variable.max is None or present.max() <= variable.max
        for rule in dataset.validations:
            params = rule.params
            if rule.kind == "date_order":
                earlier = chunk.columns[str(params["earlier"])]
                later = chunk.columns[str(params["later"])]
                both = ~earlier.missing & ~later.missing
                a = earlier.values.astype("datetime64[D]")[both]
                b = later.values.astype("datetime64[D]")[both]
                assert np.all(a <= b), rule.id
            if rule.kind in ("required_if", "empty_unless"):
                hit = condition_mask(
                    chunk.columns[str(params["when_variable"])],
                    list(params["when_in"]),  # type: ignore[call-overload]
                )
                missing = chunk.columns[str(params["variable"])].missing
                if rule.kind == "required_if":
                    assert not np.any(missing & hit), rule.id
                else:
                    assert np.all(missing[~hit]), rule.id
