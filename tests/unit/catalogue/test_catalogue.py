"""The catalogue loads the example registrations and reports every problem with file and path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from aanlevering.catalogue import load_catalogue
from aanlevering.catalogue.loader import CatalogueInvalid
from aanlevering.errors import ConfigError
from aanlevering.pseudonym_types import PseudonymType

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "schemas" / "catalogue"


@pytest.fixture
def catalogue_copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, target)
    return target


def _edit(file: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    change(data)
    file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_example_registrations_load_and_differ_in_frequency_channel_format_and_types() -> None:
    catalogue = load_catalogue(CATALOGUE)
    assert len(catalogue) >= 3
    configs = list(catalogue)
    assert len({c.frequency for c in configs}) == 3
    assert len({c.delivery.channel for c in configs}) >= 3
    assert len({c.delivery.format for c in configs}) == 3
    assert len({c.pseudonymisation.types for c in configs}) == len(configs)
    assert all(PseudonymType.B not in c.pseudonymisation.types for c in configs)


def test_every_dictionary_variable_has_a_source_in_every_example() -> None:
    for config in load_catalogue(CATALOGUE):
        for source in (config.csv_source, config.fhir_source):
            assert source is not None
            for dataset in config.dictionary.datasets:
                mapped = set(
                    source.datasets[dataset.name].columns.values()  # type: ignore[union-attr]
                    if source is config.csv_source
                    else source.datasets[dataset.name].variables  # type: ignore[union-attr]
                )
                missing = {
                    v.name
                    for v in dataset.variables
                    if v.name not in mapped and not v.generalised_from
                }
                assert not missing, f"{config.id}.{dataset.name}: {missing}"


def test_unknown_registration_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="known: dica-dsaa, ldtr, nkr-borst"):
        load_catalogue(CATALOGUE).get("nope")


def test_every_problem_is_reported_with_file_and_json_path(catalogue_copy: Path) -> None:
    dsaa = catalogue_copy / "registrations" / "dica-dsaa.yaml"
    ltr = catalogue_copy / "registrations" / "ldtr.yaml"

    def break_dsaa(data: dict) -> None:  # type: ignore[type-arg]
        data["frequency"] = "weekly"
        data["delivery"]["channel"] = "fax"

    _edit(dsaa, break_dsaa)
    _edit(ltr, lambda data: data["pseudonymisation"].update(types=["B", "NGG"]))

    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(catalogue_copy)
    problems = {(Path(p.file).name, p.path) for p in caught.value.problems}
    assert ("dica-dsaa.yaml", "$.frequency") in problems
    assert ("dica-dsaa.yaml", "$.delivery.channel") in problems
    # B without a legal justification is refused.
    assert ("ldtr.yaml", "$.pseudonymisation") in problems
    assert caught.value.exit_code == 2


def test_b_is_allowed_only_with_a_stated_legal_basis(catalogue_copy: Path) -> None:
    # ... and only when the dictionary states the approval for B (decision 1083).
    dictionary = catalogue_copy / "dictionaries" / "ltr" / "2026.1.yaml"
    _edit(dictionary, lambda data: data.update(pseudonym_types=["B", "NGG", "C", "MRN"]))
    ltr = catalogue_copy / "registrations" / "ldtr.yaml"
    _edit(
        ltr,
        lambda data: data["pseudonymisation"].update(
            types=["B", "NGG"],
            bsn_justification="Wettelijke grondslag: art. 8 Wet X staat het BSN toe.",
        ),
    )
    config = load_catalogue(catalogue_copy).get("ldtr")
    assert PseudonymType.B in config.pseudonymisation.types


def test_semantic_problems_name_the_variable(catalogue_copy: Path) -> None:
    nkr = catalogue_copy / "registrations" / "nkr-borst.yaml"

    def unmap(data: dict) -> None:  # type: ignore[type-arg]
        columns = data["source"]["csv"]["datasets"]["tumor"]["columns"]
        del columns["MORFOLOGIE"]
        columns["EXTRA"] = "bestaat_niet"
        data["period_variable"] = "tumor.lateraliteit"

    _edit(nkr, unmap)
    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(catalogue_copy)
    text = str(caught.value)
    assert "'morfologie' has no source" in text
    assert "'bestaat_niet', which is not a variable" in text
    assert "lateraliteit is of type code, not a date" in text


def test_missing_dictionary_version_is_reported(catalogue_copy: Path) -> None:
    dsaa = catalogue_copy / "registrations" / "dica-dsaa.yaml"
    _edit(dsaa, lambda data: data["dictionary"].update(version="2027.1"))
    with pytest.raises(CatalogueInvalid, match=r"dictionary dsaa version 2027.1 not found"):
        load_catalogue(catalogue_copy)


def test_invalid_yaml_names_line_and_column(catalogue_copy: Path) -> None:
    (catalogue_copy / "registrations" / "kapot.yaml").write_text(
        "id: [unclosed\n", encoding="utf-8"
    )
    with pytest.raises(
        CatalogueInvalid, match=r"kapot.yaml: \$: invalid YAML: line \d+, column \d+"
    ):
        load_catalogue(catalogue_copy)


def test_dictionary_problems_are_reported_with_path(catalogue_copy: Path) -> None:
    dictionary = catalogue_copy / "dictionaries" / "ltr" / "2026.1.yaml"

    def break_dictionary(data: dict) -> None:  # type: ignore[type-arg]
        data["datasets"][0]["variables"][2]["type"] = "colour"

    _edit(dictionary, break_dictionary)
    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(catalogue_copy)
    paths = {p.path for p in caught.value.problems if p.file.endswith("2026.1.yaml")}
    assert "$.datasets[0].variables[2].type" in paths
