"""The conformance resources in schemas/fhir: valid R4B, exactly the pseudonym types, no drift."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.namingsystem import NamingSystem

from aanlevering.catalogue import Catalogue
from aanlevering.fhir.conventions import PSEUDONYM_TYPE_SYSTEM, pseudonym_system
from aanlevering.fhir.publish import file_name, published_resources, render_json
from aanlevering.fhir.validate import validate_resource
from aanlevering.pseudonym_types import PseudonymType

PUBLISHED = Path(__file__).resolve().parents[3] / "schemas" / "fhir"


def test_pseudonym_type_code_system_is_r4b_valid_with_exactly_the_enum_codes() -> None:
    raw = json.loads((PUBLISHED / "CodeSystem-pseudonym-type.json").read_text(encoding="utf-8"))
    code_system = CodeSystem.model_validate(raw)
    assert code_system.url == PSEUDONYM_TYPE_SYSTEM
    assert code_system.content == "complete"
    codes = [concept.code for concept in code_system.concept or []]
    assert sorted(codes) == sorted(type_.value for type_ in PseudonymType)
    assert len(codes) == len(set(codes)) == code_system.count == 10


def test_every_published_file_is_valid_r4b() -> None:
    files = sorted(PUBLISHED.glob("*.json"))
    assert len(files) >= 5
    for path in files:
        validate_resource(json.loads(path.read_text(encoding="utf-8")), path.name)


def test_naming_systems_document_the_system_of_each_registration_and_type(
    catalogue: Catalogue,
) -> None:
    for config in catalogue:
        for type_ in config.pseudonymisation.types:
            path = PUBLISHED / f"NamingSystem-pseudonym-{config.id}-{type_.value}.json"
            naming = NamingSystem.model_validate(json.loads(path.read_text(encoding="utf-8")))
            (unique,) = naming.uniqueId
            assert unique.value == pseudonym_system(config.id, type_)
            assert naming.kind == "identifier"


def test_published_files_match_the_code(catalogue: Catalogue) -> None:
    """Fails when conventions or dictionaries change without regenerating schemas/fhir."""
    for resource in published_resources(catalogue):
        path = PUBLISHED / file_name(resource)
        assert path.is_file(), f"run: python -m aanlevering.fhir.publish (missing {path.name})"
        assert path.read_text(encoding="utf-8") == render_json(resource), (
            f"{path.name} differs from the code; run: python -m aanlevering.fhir.publish"
        )


@pytest.mark.parametrize(
    "name", ["Questionnaire-dsaa-operatie.json", "Questionnaire-ltr-trauma.json"]
)
def test_questionnaires_have_an_item_per_dictionary_variable(
    catalogue: Catalogue, name: str
) -> None:
    raw = json.loads((PUBLISHED / name).read_text(encoding="utf-8"))
    dictionary_id, dataset_name = raw["id"].split("-", 1)
    dictionary = next(c.dictionary for c in catalogue if c.dictionary.id == dictionary_id)
    dataset = dictionary.dataset(dataset_name)
    assert [item["linkId"] for item in raw["item"]] == list(dataset.variable_names)
    assert raw["version"] == dictionary.version
