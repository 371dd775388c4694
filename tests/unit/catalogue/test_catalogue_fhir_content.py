"""``delivery.fhir_content`` (decision 0230): default, examples, and where it cannot apply."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from aanlevering.catalogue import load_catalogue
from aanlevering.catalogue.loader import CatalogueInvalid

CATALOGUE = Path(__file__).resolve().parents[3] / "schemas" / "catalogue"


def _copy_with(tmp_path: Path, registration: str, **delivery: object) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, target)
    file = target / "registrations" / f"{registration}.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    data["delivery"].update(delivery)
    file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def test_examples_and_the_default() -> None:
    catalogue = load_catalogue(CATALOGUE)
    assert catalogue.get("ldtr").delivery.fhir_content == "both"
    assert catalogue.get("nkr-borst").delivery.fhir_content == "resources"
    assert catalogue.get("dica-dsaa").delivery.fhir_content == "questionnaire"  # not set


@pytest.mark.parametrize(
    ("registration", "delivery", "message"),
    [
        ("dica-dsaa", {"fhir_content": "resources"}, "applies to FHIR formats only"),
        ("ldtr", {"fhir_content": "everything"}, "fhir_content"),
    ],
)
def test_a_content_that_cannot_apply_is_refused_with_its_path(
    tmp_path: Path, registration: str, delivery: dict[str, object], message: str
) -> None:
    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(_copy_with(tmp_path, registration, **delivery))
    text = str(caught.value)
    assert f"{registration}.yaml" in text and "delivery.fhir_content" in text
    assert message in text
