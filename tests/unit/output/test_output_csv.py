"""CSV delivery: pseudonym columns replace the identifying columns, then the dictionary."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from aanlevering.catalogue.model import IDENTITY_FIELDS
from aanlevering.errors import OutputError, PseudonymisationError
from aanlevering.output.content import DeliveryInput
from aanlevering.output.csv import CsvOptions, pseudonym_columns, write_csv
from aanlevering.pseudonym.model import PatientPseudonyms, Pseudonym
from aanlevering.pseudonym_types import PseudonymType


def _rows(path: Path, delimiter: str = ";") -> list[dict[str, str]]:
    text = path.read_bytes().decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))


def test_one_file_per_dataset_with_pseudonym_columns_then_dictionary_variables(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    content = delivery("dica-dsaa")
    result = write_csv(tmp_path, content)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["complicatie.csv", "operatie.csv"]
    assert result.record_counts == {"operatie": 8, "complicatie": 8}
    operatie = content.context.dictionary.dataset("operatie")
    header = (tmp_path / "operatie.csv").read_bytes().split(b"\r\n")[0].decode().split(";")
    assert header == [
        "pseudoniem_NGGV", "pseudoniem_NGGV_sleutelversie", "pseudoniem_NGGV_status",
        "pseudoniem_RGG", "pseudoniem_RGG_sleutelversie", "pseudoniem_RGG_status",
        "pseudoniem_MRN", "pseudoniem_MRN_sleutelversie", "pseudoniem_MRN_status",
        *operatie.variable_names,
    ]  # fmt: skip
    lowered = {column.lower() for column in header}
    for field in (*IDENTITY_FIELDS, "bsn", "naam", "geboortedatum", "postcode", "patientnummer"):
        assert field not in lowered


def test_pseudonym_values_key_versions_and_status(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    write_csv(tmp_path, delivery("dica-dsaa"))
    rows = _rows(tmp_path / "operatie.csv")
    assert len(rows) == 8
    johanna, hendrik = rows[0], rows[2]
    assert johanna["pseudoniem_NGGV"] == "psNGGVZ0000k9Q"
    assert johanna["pseudoniem_NGGV_sleutelversie"] == "3"
    assert johanna["pseudoniem_NGGV_status"] == "tijdelijk"
    assert johanna["pseudoniem_MRN_status"] == "definitief"
    # no birth name for Hendrik: his NGGV columns are empty, the others filled
    assert (hendrik["pseudoniem_NGGV"], hendrik["pseudoniem_NGGV_sleutelversie"]) == ("", "")
    assert hendrik["pseudoniem_RGG"] == "psRGGZ0001k9Q"
    complicaties = _rows(tmp_path / "complicatie.csv")
    assert complicaties[0]["pseudoniem_MRN"] == johanna["pseudoniem_MRN"]


def test_values_are_iso_dates_point_decimals_and_plain_booleans(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    write_csv(tmp_path, delivery("dica-dsaa"))
    first = _rows(tmp_path / "operatie.csv")[0]
    assert first["geboortejaar"] == "1950"
    assert first["geslacht"] == "V"
    assert first["datum_operatie"] == "2026-02-01"
    assert first["bmi"] == "20.25"
    assert first["overleden_30d"] == "true"
    assert first["operatie_id"] == "OPERATIE-2026-0000"


def test_decimal_comma_when_configured(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    write_csv(tmp_path, delivery("dica-dsaa"), CsvOptions(decimal=","))
    assert _rows(tmp_path / "operatie.csv")[1]["bmi"] == "21,25"
    with pytest.raises(OutputError, match="decimal mark"):
        CsvOptions(decimal=";")
    with pytest.raises(OutputError, match="delimiter"):
        CsvOptions(delimiter=",", decimal=",")


def test_fields_are_quoted_only_when_needed(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    content = delivery("dica-dsaa")
    operatie = content.datasets["operatie"]
    ids = operatie.clinical.column("operatie_id").to_pylist()
    ids[0] = 'OK;1 "a"'
    changed = dataclasses.replace(
        operatie,
        clinical=operatie.clinical.set_column(0, "operatie_id", pa.array(ids, pa.string())),
    )
    write_csv(
        tmp_path, dataclasses.replace(content, datasets={**content.datasets, "operatie": changed})
    )
    raw = (tmp_path / "operatie.csv").read_bytes().decode()
    assert '"OK;1 ""a"""' in raw
    assert '"OPERATIE-2026-0001"' not in raw
    assert _rows(tmp_path / "operatie.csv")[0]["operatie_id"] == 'OK;1 "a"'


def test_checksums_and_media_type(tmp_path: Path, delivery: Callable[..., DeliveryInput]) -> None:
    result = write_csv(tmp_path, delivery("dica-dsaa"))
    for item in result.files:
        data = (tmp_path / item.name).read_bytes()
        assert item.sha256 == hashlib.sha256(data).hexdigest()
        assert item.bytes == len(data)
        assert item.records == data.count(b"\r\n") - 1
        assert item.media_type.startswith("text/csv")


def test_an_unapproved_pseudonym_type_stops_the_csv(
    tmp_path: Path, delivery: Callable[..., DeliveryInput]
) -> None:
    content = delivery("dica-dsaa")
    with_bsn = dict(content.pseudonyms)
    with_bsn["MRN0012345"] = PatientPseudonyms(
        "MRN0012345", (Pseudonym(PseudonymType.B, "psBx1", 1, True, "nl-2026.1"),)
    )
    with pytest.raises(PseudonymisationError, match="type B is not approved"):
        write_csv(tmp_path, dataclasses.replace(content, pseudonyms=with_bsn))
    assert list(tmp_path.iterdir()) == []


def test_pseudonym_columns_follow_the_registration(
    delivery: Callable[..., DeliveryInput],
) -> None:
    assert pseudonym_columns(delivery("ldtr").context)[::3] == (
        "pseudoniem_NGG",
        "pseudoniem_C",
        "pseudoniem_MRN",
    )
