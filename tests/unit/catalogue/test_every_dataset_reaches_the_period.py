"""Every dataset of a registration is placed in a period through its relations (decision 0392).

A dataset with no relation path to the period dataset has no period date: it
was kept whole, with a log warning, so every run delivered all of its records
again (the same complication in Q1 and in Q2). The catalogue refuses such a
registration, naming the dataset; the extract refuses it too, should one
reach it another way.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from aanlevering.catalogue import RegistrationConfig, load_catalogue
from aanlevering.catalogue.semantics import check_registration
from aanlevering.errors import ConfigError
from aanlevering.extract import extract
from aanlevering.periods import Period

REPO = Path(__file__).resolve().parents[3]
NL = REPO / "tests" / "fixtures" / "extract" / "fhir-nl"


@pytest.fixture(scope="module")
def dsaa() -> RegistrationConfig:
    return load_catalogue(REPO / "schemas" / "catalogue").get("dica-dsaa")


def _unrelated(config: RegistrationConfig) -> RegistrationConfig:
    """DSAA with complicatie's relation to operatie left out."""
    dictionary = config.dictionary
    datasets = tuple(
        dataclasses.replace(d, relations=()) if d.name == "complicatie" else d
        for d in dictionary.datasets
    )
    return dataclasses.replace(
        config, dictionary=dataclasses.replace(dictionary, datasets=datasets)
    )


def test_the_catalogue_names_a_dataset_that_no_relation_places_in_a_period(
    dsaa: RegistrationConfig,
) -> None:
    assert not check_registration(dsaa)  # complicatie -> operatie: placed through its parent
    problems = check_registration(_unrelated(dsaa))
    assert len(problems) == 1
    where, message = problems[0]
    assert where.endswith("datasets[1].relations")
    assert "complicatie" in message and "operatie" in message and "every" in message


def test_the_extract_refuses_such_a_dataset_instead_of_delivering_it_whole_every_period(
    dsaa: RegistrationConfig,
) -> None:
    for label in ("2026-Q1", "2026-Q2"):
        with pytest.raises(ConfigError, match=r"complicatie .*no relation.*operatie"):
            extract(_unrelated(dsaa), NL, Period.parse(label))
