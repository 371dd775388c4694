"""Every rule of the example dictionaries becomes a check with a stable id, severity and meaning."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from aanlevering.catalogue import load_catalogue
from aanlevering.catalogue.model import DataDictionary, Validation
from aanlevering.errors import ConfigError
from aanlevering.validate.checks import PROVIDER_TYPES, Check, RowCondition, dataset_checks

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = load_catalogue(REPO / "schemas" / "catalogue")
DSAA = CATALOGUE.get("dica-dsaa").dictionary
LTR = CATALOGUE.get("ldtr").dictionary
NKR = CATALOGUE.get("nkr-borst").dictionary


def _by_id(dictionary: DataDictionary, dataset: str, provider_type: str) -> dict[str, Check]:
    checks = dataset_checks(dictionary, dictionary.dataset(dataset), provider_type)
    return {check.rule_id: check for check in checks}


@pytest.mark.parametrize("registration", ["dica-dsaa", "ldtr", "nkr-borst"])
@pytest.mark.parametrize("provider_type", PROVIDER_TYPES)
def test_rule_ids_are_unique_and_every_variable_has_a_type_check(
    registration: str, provider_type: str
) -> None:
    dictionary = CATALOGUE.get(registration).dictionary
    for dataset in dictionary.datasets:
        checks = dataset_checks(dictionary, dataset, provider_type)
        ids = [check.rule_id for check in checks]
        assert len(ids) == len(set(ids))
        assert checks[0].kind == "columns"
        assert checks[0].kwargs["column_list"] == list(dataset.variable_names)
        typed = {c.variable for c in checks if c.kind == "type"}
        assert typed == set(dataset.variable_names)
        assert all(c.engine == "extract" for c in checks if c.kind in ("type", "relation"))
        assert all(c.engine == "gx" for c in checks if c.kind not in ("type", "relation"))


def test_required_ness_follows_the_provider_type() -> None:
    required = {
        provider: {
            c.variable for c in _by_id(DSAA, "operatie", provider).values() if c.kind == "required"
        }
        for provider in PROVIDER_TYPES
    }
    assert "creatinine_preop" in required["umc"]
    assert "creatinine_preop" not in required["hospital"] | required["zbc"]
    assert "asa_klasse" in required["hospital"] & required["umc"]
    assert "asa_klasse" not in required["zbc"]
    assert "bmi" not in required["umc"]  # optional for everyone
    assert "geslacht" in required["zbc"]


def test_option_sets_ranges_lengths_and_patterns_become_expectations() -> None:
    checks = _by_id(DSAA, "operatie", "hospital")
    in_set = checks["operatie.urgentie.in_set"]
    assert in_set.expectation_type == "expect_column_values_to_be_in_set"
    assert in_set.kwargs["value_set"] == ["1", "2", "3"]
    between = checks["operatie.diameter_aneurysma.between"]
    assert between.kwargs == {"column": "diameter_aneurysma", "min_value": 20, "max_value": 150}
    assert "mm" in between.description
    bmi = checks["operatie.bmi.between"]
    assert bmi.severity == "warning"  # the variable's severity carries over
    assert checks["operatie.operatie_id.max_length"].kwargs["max_value"] == 64
    pattern = _by_id(LTR, "trauma", "hospital")["trauma.pc4_woonplaats.pattern"]
    assert pattern.expectation_type == "expect_column_values_to_match_regex"
    assert pattern.kwargs["regex"] == "^[1-9][0-9]{3}$"


def test_dataset_keys_must_be_unique() -> None:
    key = _by_id(DSAA, "complicatie", "umc")["complicatie.key_unique"]
    assert key.expectation_type == "expect_column_values_to_be_unique"
    assert key.kwargs == {"column": "complicatie_id"}
    compound_dataset = replace(DSAA.dataset("complicatie"), key=("complicatie_id", "operatie_id"))
    compound = {c.rule_id: c for c in dataset_checks(DSAA, compound_dataset, "umc")}
    assert compound["complicatie.key_unique"].expectation_type == (
        "expect_compound_columns_to_be_unique"
    )
    assert compound["complicatie.key_unique"].kwargs == {
        "column_list": ["complicatie_id", "operatie_id"]
    }


def test_relations_are_checked_from_the_extracts_orphans() -> None:
    relation = _by_id(DSAA, "complicatie", "zbc")["complicatie.operatie_id.relation"]
    assert relation.engine == "extract"
    assert relation.kwargs["parent_dataset"] == "operatie"


def test_date_order_compares_later_with_earlier_ignoring_missing_dates() -> None:
    rule = _by_id(DSAA, "operatie", "hospital")["operatie.operatie_voor_ontslag"]
    assert rule.expectation_type == "expect_column_pair_values_a_to_be_greater_than_b"
    assert rule.kwargs == {
        "column_A": "datum_ontslag",
        "column_B": "datum_operatie",
        "or_equal": True,
        "ignore_row_if": "either_value_is_missing",
    }
    assert rule.severity == "error"
    assert rule.description == "The operation precedes or equals the discharge date."
    assert rule.variables == ("datum_operatie", "datum_ontslag")


def test_conditional_rules_use_typed_row_conditions() -> None:
    dsaa = _by_id(DSAA, "operatie", "hospital")
    required_if = dsaa["operatie.overlijdensdatum_bij_overlijden"]
    assert required_if.expectation_type == "expect_column_values_to_not_be_null"
    assert required_if.condition == RowCondition("overleden_30d", (True,))
    empty_unless = dsaa["operatie.geen_overlijdensdatum_zonder_overlijden"]
    assert empty_unless.expectation_type == "expect_column_values_to_be_null"
    assert empty_unless.condition == RowCondition("overleden_30d", (True,), negate=True)
    assert empty_unless.severity == "warning"
    nkr = _by_id(NKR, "tumor", "zbc")["tumor.operatiedatum_bij_operatie"]
    assert nkr.condition == RowCondition("type_operatie", ("BSO", "MAST"))


def test_compare_rules_and_unsupported_kinds() -> None:
    dataset = DSAA.dataset("operatie")
    compare = Validation(
        id="bmi_onder_creatinine",
        severity="warning",
        kind="compare",
        params={"smaller": "bmi", "larger": "creatinine_preop", "or_equal": False},
    )
    checks = {
        c.rule_id: c for c in dataset_checks(DSAA, replace(dataset, validations=(compare,)), "umc")
    }
    rule = checks["operatie.bmi_onder_creatinine"]
    assert rule.kwargs["column_A"] == "creatinine_preop"
    assert rule.kwargs["column_B"] == "bmi"
    assert rule.kwargs["or_equal"] is False
    assert rule.description == "bmi is less than creatinine_preop."
    odd = Validation(id="x", severity="error", kind="sum_equals", params={})
    with pytest.raises(ConfigError, match="unsupported kind 'sum_equals'"):
        dataset_checks(DSAA, replace(dataset, validations=(odd,)), "umc")


def test_unknown_provider_type_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="AANLEVERING_PROVIDER_TYPE"):
        dataset_checks(DSAA, DSAA.dataset("operatie"), "apotheek")
