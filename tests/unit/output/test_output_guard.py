"""The output guard blocks delivery files that hold this run's own identifiers.

A clean delivery of every format passes; planting a BSN, an MRN, a name or a
postcode of the run's patients in a delivered value blocks it, naming the
file and column but never the value, and removes the written files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest

from aanlevering.errors import ExtractError
from aanlevering.output.content import DeliveryInput
from aanlevering.output.guard import (
    IdentifierInDelivery,
    check_delivery,
    run_identifiers,
    scan_file,
)
from aanlevering.output.writer import write_delivery

#: A BSN and an MRN of the output tests' people (tests/unit/output/conftest.py).
BSN_OF_THIRD = "999990019"
MRN_OF_FIRST = "MRN0012345"


def _planted(
    content: DeliveryInput, dataset: str, variable: str, row: int, text: str
) -> DeliveryInput:
    extracted = content.datasets[dataset]
    table = extracted.clinical
    position = table.column_names.index(variable)
    values = table.column(variable).to_pylist()
    values[row] = text
    table = table.set_column(position, table.field(position), pa.array(values, pa.string()))
    datasets = dict(content.datasets)
    datasets[dataset] = replace(extracted, clinical=table)
    return replace(content, datasets=datasets)


@pytest.mark.parametrize("registration", ["dica-dsaa", "ldtr", "nkr-borst"])
@pytest.mark.parametrize("format_", ["csv", "fhir-ndjson", "fhir-bundle"])
def test_clean_deliveries_pass(
    tmp_path: Path, delivery: Callable[..., DeliveryInput], registration: str, format_: str
) -> None:
    content = delivery(registration, fhir_source=format_ != "csv")
    output = write_delivery(tmp_path, content, format_)  # type: ignore[arg-type]
    check_delivery(tmp_path, output, content)
    assert all((tmp_path / f.name).exists() for f in output.files)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"controle bsn {BSN_OF_THIRD}", "a BSN"),
        ("bsn 9999.90.019 gezien", "a BSN"),
        (f"zie dossier {MRN_OF_FIRST}", "a patient number"),
        ("mw. Oosterhuis belde", "a name"),
        ("woont op 9711 LM", "a postcode"),
        ("woont op 9711lm", "a postcode"),
    ],
)
@pytest.mark.parametrize("format_", ["csv", "fhir-ndjson", "fhir-bundle"])
def test_a_planted_identifier_blocks_the_delivery_and_names_file_and_column(
    tmp_path: Path,
    delivery: Callable[..., DeliveryInput],
    text: str,
    kind: str,
    format_: str,
) -> None:
    content = _planted(delivery("ldtr"), "trauma", "trauma_id", 5, text)
    output = write_delivery(tmp_path, content, format_)  # type: ignore[arg-type]
    with pytest.raises(IdentifierInDelivery) as caught:
        check_delivery(tmp_path, output, content)
    message = str(caught.value)
    assert isinstance(caught.value, ExtractError) and caught.value.exit_code == 2
    column = "trauma_id" if format_ == "csv" else "item trauma_id"
    assert f"column {column}: {kind}" in message
    assert "registration ldtr: delivery blocked" in message
    for token in text.split():
        if any(ch.isdigit() for ch in token) or token[0].isupper():
            assert token not in message, token
    assert not any((tmp_path / f.name).exists() for f in output.files)


def test_pseudonym_columns_and_vocabulary_are_not_identifiers(
    delivery: Callable[..., DeliveryInput],
) -> None:
    content = delivery("dica-dsaa")
    identifiers = run_identifiers(content.datasets, content.context.dictionary)
    assert "123456782" in identifiers.by_kind["a BSN"]
    assert "1012nx" in identifiers.by_kind["a postcode"]
    assert "vries" in identifiers.by_kind["a name"]
    assert "mrn0012345" in identifiers.by_kind["a patient number"]
    assert "berg" in identifiers.by_kind["a name"]
    assert "1012" not in identifiers.tokens  # PC4 is delivered on purpose
    assert "vries" not in repr(identifiers)


def test_pseudonym_values_are_skipped(tmp_path: Path) -> None:
    file = tmp_path / "trauma.csv"
    file.write_text("pseudoniem_NGG;opmerking\nNGG:v1:Vries+abc;geen\n", encoding="utf-8")
    from aanlevering.output.guard import RunIdentifiers

    identifiers = RunIdentifiers({"a name": frozenset({"vries"})})
    assert scan_file(file, identifiers, ("pseudoniem_",)) == []
    file.write_text("pseudoniem_NGG;opmerking\nNGG:v1:abc;mw. de Vries\n", encoding="utf-8")
    (hit,) = scan_file(file, identifiers, ("pseudoniem_",))
    assert (hit.file, hit.column, hit.kind) == ("trauma.csv", "opmerking", "a name")


def test_a_value_over_several_lines_is_still_found(tmp_path: Path) -> None:
    from aanlevering.output.guard import RunIdentifiers

    file = tmp_path / "trauma.csv"
    file.write_text('id;opmerking\n1;"eerste regel\nbsn 123456782"\n', encoding="utf-8")
    identifiers = RunIdentifiers({"a BSN": frozenset({"123456782"})})
    (hit,) = scan_file(file, identifiers)
    assert hit.column == "(a value written over several lines)"


def test_only_bsns_passing_the_elfproef_count(delivery: Callable[..., DeliveryInput]) -> None:
    content = delivery("ldtr")
    trauma = content.datasets["trauma"]
    bsns = ["123456789", "12345672", *[None] * (trauma.num_rows - 2)]  # fails; lost zero
    identity = trauma.identity.set_column(
        trauma.identity.column_names.index("bsn"), "bsn", pa.array(bsns, pa.string())
    )
    datasets = {"trauma": replace(trauma, identity=identity)}
    identifiers = run_identifiers(datasets, content.context.dictionary)
    assert identifiers.by_kind["a BSN"] == frozenset({"012345672", "12345672"})
