"""A knowing holder takes from a resources/both registration the types its mappings read (0986)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aanlevering.counterparts.registry_holder.terms import RegistrationTerms, load_terms

CATALOGUE = Path(__file__).resolve().parents[3] / "schemas" / "catalogue"


@pytest.fixture(scope="module")
def terms() -> dict[str, RegistrationTerms]:
    return load_terms(CATALOGUE)


def test_the_types_are_the_focus_and_linked_ones_with_patients_and_responses(
    terms: dict[str, RegistrationTerms],
) -> None:
    # ldtr (both): Encounters, their Observations; nkr-borst (resources): Conditions, Observations.
    assert terms["ldtr"].delivered_types() == {
        "Encounter",
        "Observation",
        "Patient",
        "QuestionnaireResponse",
    }
    # A record read from CSV travels as a QuestionnaireResponse, whatever fhir_content says.
    assert terms["nkr-borst"].delivered_types() == {
        "Condition",
        "Observation",
        "Patient",
        "QuestionnaireResponse",
    }


@pytest.mark.parametrize("resource_type", ["Procedure", "Practitioner", "Organization"])
def test_another_type_is_refused_without_naming_it(
    terms: dict[str, RegistrationTerms], resource_type: str
) -> None:
    problem = terms["nkr-borst"].resource_type_problem(resource_type, "nkr-borst")
    assert problem == (
        "a resource of a type registration 'nkr-borst' does not deliver (its mappings produce "
        "Condition, Observation, Patient and QuestionnaireResponse only)"
    )


def test_a_person_a_mapping_reads_is_never_delivered() -> None:
    """The extract keeps no Practitioner a variable reads: nor does the holder take one."""
    terms = RegistrationTerms(
        pseudonym_types=frozenset({"NGG"}),
        dictionary_id="x",
        dictionary_version="1",
        datasets={},
        fhir_content="resources",
        source_types=frozenset({"Procedure", "Practitioner"}),
    )
    assert terms.resource_type_problem("Procedure", "x") is None
    assert terms.resource_type_problem("Practitioner", "x") is not None


def test_terms_without_mapping_types_check_no_type() -> None:
    terms = RegistrationTerms(
        pseudonym_types=frozenset({"NGG"}),
        dictionary_id="x",
        dictionary_version="1",
        datasets={},
        fhir_content="both",
    )
    assert terms.resource_type_problem("Procedure", "x") is None
