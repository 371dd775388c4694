"""A common-word family name is searched as a phrase also for a patient without a partner name.

Found while making the phrase build faster: the rows needing phrases were
picked with a mask that was null (not False) where ``partner_name`` is null,
and a null mask row is dropped by the filter; so "Anna de Groot", a patient
without a partner name, had no phrases at all and her name in free text was
delivered (decision 0411 says it blocks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest

from aanlevering.output.content import DeliveryInput
from aanlevering.output.guard import IdentifierInDelivery, check_delivery, run_identifiers
from aanlevering.output.writer import write_delivery

#: Every test person is Anna (Maria) de Groot, without a partner name.
ANNA: dict[str, str | None] = {
    "own_prefix": "de",
    "own_name": "Groot",
    "partner_prefix": None,
    "partner_name": None,
    "given_names": "Anna Maria",
    "initials": "A.M.",
}


def _annas(content: DeliveryInput, dataset: str, text: str) -> DeliveryInput:
    extracted = content.datasets[dataset]
    identity = extracted.identity
    for name, value in ANNA.items():
        position = identity.column_names.index(name)
        column = pa.array([value] * identity.num_rows, pa.string())
        identity = identity.set_column(position, name, column)
    clinical = extracted.clinical
    position = clinical.column_names.index("trauma_id")
    values = clinical.column("trauma_id").to_pylist()
    values[3] = text
    clinical = clinical.set_column(
        position, clinical.field(position), pa.array(values, pa.string())
    )
    changed = replace(extracted, identity=identity, clinical=clinical)
    datasets = {**content.datasets, dataset: changed}
    return replace(content, datasets=datasets)


def test_the_phrases_of_a_patient_without_partner_name(
    delivery: Callable[..., DeliveryInput],
) -> None:
    content = _annas(delivery("ldtr"), "trauma", "geen")
    identifiers = run_identifiers(content.datasets, content.context.dictionary)
    phrases = identifiers.phrases.by_kind.get("a name", frozenset())
    assert {"anna de groot", "a de groot", "de groot anna", "anna groot"} <= phrases
    assert "de groot" in identifiers.phrases.titled


@pytest.mark.parametrize("text", ["mw. Anna de Groot belde", "A. de Groot", "Groot, Anna"])
def test_her_name_in_free_text_blocks(
    tmp_path: Path, delivery: Callable[..., DeliveryInput], text: str
) -> None:
    content = _annas(delivery("ldtr"), "trauma", text)
    output = write_delivery(tmp_path, content, "csv")
    with pytest.raises(IdentifierInDelivery, match="a name in 1 value"):
        check_delivery(tmp_path, output, content)
    assert not any((tmp_path / f.name).exists() for f in output.files)
